// Fetching a release for `claudemesh upgrade`: its SHA256SUMS, and an asset streamed to a file
// while it is hashed. Every failure is a CommandError that says what was asked of which address
// and that nothing was changed (nothing is, before a download is verified).
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { createHash } from "node:crypto";
import { Exit } from "../../protocol/errors.ts";
import { CommandError } from "../output.ts";
import { fileError, LocalFileError } from "../../local-file/error.ts";
import { parseSums, SUMS_FILE } from "./release-layout.ts";

/** GitHub answers an asset with two redirects (to the release, then to its storage); ten is
 *  plenty and stops a loop. */
const MAX_REDIRECTS = 10;
/** SHA256SUMS is a few hundred bytes: an answer that takes longer is a server that is not there. */
const SUMS_TIMEOUT_MS = 30_000;
/** A download that brings no byte for this long has stalled (its total time is not bounded: a
 *  ~100 MB binary over a slow link takes what it takes). */
const STALL_MS = 60_000;

const NOTHING_CHANGED = "nothing was changed";

/** `url`'s answer, following redirects by hand so that each address passed through is known
 *  (GitHub's latest/ redirects to download/v<version>/, the only place the latest version shows)
 *  and so that a redirect from https to plain http is refused. Throws CommandError (exit 6) when
 *  no answer comes; any HTTP status is returned for the caller to judge. */
async function get(url: string, signal: AbortSignal): Promise<{ res: Response; hops: string[] }> {
  const hops = [url];
  for (let i = 0; i <= MAX_REDIRECTS; i++) {
    const at = hops.at(-1)!;
    let res: Response;
    try {
      res = await fetch(at, { redirect: "manual", signal });
    } catch (err) {
      throw new CommandError("unreachable", `Cannot download ${at} (${reason(err)}); ${NOTHING_CHANGED}`, Exit.unavailable, "check the network (or CLAUDEMESH_DOWNLOAD_URL) and run it again", { cause: err });
    }
    const location = res.headers.get("location");
    if (res.status < 300 || res.status >= 400 || !location) return { res, hops };
    const next = new URL(location, at).href;
    if (at.startsWith("https:") && !next.startsWith("https:")) {
      throw new CommandError("insecure_redirect", `${at} redirects to ${next}, which is not https; refusing to download over plain HTTP, ${NOTHING_CHANGED}`, Exit.refused);
    }
    hops.push(next);
  }
  throw new CommandError("unreachable", `${url} redirects more than ${MAX_REDIRECTS} times; ${NOTHING_CHANGED}`, Exit.unavailable);
}

function reason(err: unknown): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === "TimeoutError") return "no answer in time";
  return e?.code ?? e?.message ?? String(err);
}

/** An HTTP status other than 200 as a CommandError: 404 is "not found" (exit 4, `missing` says
 *  what), anything else a server that cannot serve it now (exit 6). */
function statusError(url: string, status: number, missing: string): CommandError {
  if (status === 404) return new CommandError("not_found", `${missing} (HTTP 404 for ${url}); ${NOTHING_CHANGED}`, Exit.notFound, "claudemesh upgrade --check names the latest release; or see https://github.com/claudemesh/claudemesh/releases");
  return new CommandError("unreachable", `${url} answered HTTP ${status}; ${NOTHING_CHANGED}`, Exit.unavailable, "run it again later");
}

export type Sums = { sums: Map<string, string>; /** The release's version when an address passed through names it (`…/v1.2.3/SHA256SUMS`), else null. */ version: string | null };

/** The SHA256SUMS of the release in `dir` (release-layout.ts releaseDir). `missing` words its 404
 *  ("no release 1.2.3"). Throws CommandError: unreachable or 5xx (6), 404 (4), a file that is no
 *  SHA256SUMS (5). */
export async function fetchSums(dir: string, missing: string): Promise<Sums> {
  const url = `${dir}/${SUMS_FILE}`;
  const { res, hops } = await get(url, AbortSignal.timeout(SUMS_TIMEOUT_MS));
  if (res.status !== 200) throw statusError(url, res.status, missing);
  const text = await res.text().catch((err: unknown) => {
    throw new CommandError("unreachable", `The download of ${url} failed (${reason(err)}); ${NOTHING_CHANGED}`, Exit.unavailable, "run it again", { cause: err });
  });
  let sums: Map<string, string>;
  try {
    sums = parseSums(text);
  } catch (err) {
    throw new CommandError("bad_checksums", `${url} is not a SHA256SUMS file (${(err as Error).message.slice(0, 120)}); refusing to install anything unverified, ${NOTHING_CHANGED}`, Exit.refused, null, { cause: err });
  }
  const named = hops.map((h) => /\/v(\d[0-9A-Za-z.-]*)\/SHA256SUMS$/.exec(new URL(h).pathname)?.[1]).find(Boolean);
  return { sums, version: named ?? null };
}

/** Streams `url` into the new file `file` (created 0600, fsynced), hashing as it goes; returns
 *  its SHA-256. Throws CommandError: unreachable, stalled or cut short (6: `Content-Length` not
 *  reached, or the connection dropped), 404 (4, worded by `missing`). The caller removes `file`. */
export async function download(url: string, file: string, missing: string): Promise<string> {
  const abort = new AbortController();
  let stall = setTimeout(() => abort.abort(new DOMException("stalled", "TimeoutError")), STALL_MS);
  try {
    const { res } = await get(url, abort.signal);
    if (res.status !== 200 || !res.body) throw statusError(url, res.status, missing);
    const expected = Number(res.headers.get("content-length") ?? NaN);
    const hash = createHash("sha256");
    const fd = openSync(file, "wx", 0o600);
    let bytes = 0;
    try {
      for await (const chunk of res.body) {
        clearTimeout(stall);
        stall = setTimeout(() => abort.abort(new DOMException("stalled", "TimeoutError")), STALL_MS);
        hash.update(chunk);
        write(fd, chunk, file);
        bytes += chunk.length;
      }
      write(fd, null, file);
    } catch (err) {
      // A full disk is this machine's problem, worded as a local file (exit 5); anything else
      // thrown while reading is the connection.
      if (err instanceof LocalFileError) throw err;
      const of = Number.isFinite(expected) ? ` of ${expected}` : "";
      throw new CommandError("download_cut_short", `The download of ${url} was cut short after ${bytes}${of} bytes (${reason(err)}); ${NOTHING_CHANGED}`, Exit.unavailable, "run it again", { cause: err });
    } finally {
      closeSync(fd);
    }
    if (Number.isFinite(expected) && bytes !== expected) {
      throw new CommandError("download_cut_short", `The download of ${url} was cut short: ${bytes} of ${expected} bytes; ${NOTHING_CHANGED}`, Exit.unavailable, "run it again");
    }
    return hash.digest("hex");
  } finally {
    clearTimeout(stall);
  }
}

/** Writes `chunk` (null: fsyncs) to `fd`; a file system error becomes a LocalFileError about `file`. */
function write(fd: number, chunk: Uint8Array | null, file: string): void {
  try {
    if (chunk === null) fsyncSync(fd);
    else for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
  } catch (err) {
    throw fileError(err, file, "write", { what: "the download" });
  }
}
