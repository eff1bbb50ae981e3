// Where worker threads' entrypoints are. Resolved from this file, which sits in src/: run from
// source, that is the source tree; in the compiled executable every module's import.meta.url is
// the executable's own path in its embedded file system, whose root holds the entrypoints laid
// out relative to their common directory, src/ (scripts/release.ts ENTRYPOINTS lists them).
// Either way `store/sqlite/checkpoint-worker.ts` names the same file.

/** The URL to start a worker from, for an entrypoint path relative to src/. */
export const workerUrl = (pathFromSrc: string): string => new URL(pathFromSrc, import.meta.url).href;
