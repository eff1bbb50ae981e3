// The version baked into the binary (from package.json at build time; release builds may
// override it with --define CLAUDEMESH_VERSION), and the commit a release was built from.
import pkg from "../package.json" with { type: "json" };

declare const CLAUDEMESH_VERSION: string | undefined;
declare const CLAUDEMESH_COMMIT: string | undefined;

export const VERSION: string = typeof CLAUDEMESH_VERSION === "string" ? CLAUDEMESH_VERSION : pkg.version;

/** The git commit of a release build (scripts/release.ts defines it); null when run from source. */
export const COMMIT: string | null = typeof CLAUDEMESH_COMMIT === "string" && CLAUDEMESH_COMMIT ? CLAUDEMESH_COMMIT : null;
