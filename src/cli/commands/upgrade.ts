// claudemesh upgrade [--version X] [--check] [--rollback] [--json]: replaces an install.sh-installed
// binary with a release's, verified against that release's SHA256SUMS before anything is
// replaced; hands a Homebrew install to brew and refuses a run from source. Only on request: no
// command checks for updates by itself. The steps are in ../upgrade/.
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { VERSION } from "../../version.ts";
import { processEnv } from "../../config/client.ts";
import { Exit } from "../../protocol/errors.ts";
import { command, type Ctx } from "../context.ts";
import { onInterrupt } from "../../local-file/interrupt.ts";
import { CommandError, UsageError } from "../output.ts";
import { releaseDir, releaseTarget, thisPlatform } from "../upgrade/release-layout.ts";
import { download, fetchSums } from "../upgrade/release-fetch.ts";
import { checkWritable, existingPrev, installed, prevPath, refuseUnlessScript, replace, rollBack, stagePath, tryStaged, versionOf, type Installed } from "../upgrade/swap.ts";
import { runningNote, serviceNote } from "../upgrade/notes.ts";

/** `upgrade --check`'s exit code when a newer release exists: not an error (those are 1–7), and
 *  apart from them, so that a script can tell "update available" from "the check failed". */
export const UPDATE_AVAILABLE_EXIT = 10;

type Args = { version?: string; check?: boolean; rollback?: boolean; json?: boolean; commandPath?: string };

export async function run(args: Args): Promise<void> {
  await command(args, async (ctx) => {
    const wanted = checkArgs(args);
    const bin = installed();
    const root = processEnv().CLAUDEMESH_DOWNLOAD_URL?.trim() || null;
    if (args.rollback) return rollbackCmd(ctx, bin);
    if (!args.check) {
      refuseUnlessScript(bin);
      checkWritable(bin, ["upgrade", ...(wanted ? ["--version", wanted] : [])], root);
    }
    if (root && !root.startsWith("https://")) ctx.out.warn(`downloading over plain HTTP from ${root}; SHA256SUMS comes from the same place, so its check only catches a corrupted download`);
    await (args.check ? check(ctx, bin, root) : upgrade(ctx, bin, root, wanted));
  });
}

function checkArgs(args: Args): string | null {
  if (args.rollback && (args.check || args.version !== undefined)) throw new UsageError("--rollback takes neither --check nor --version: it puts back the binary the last upgrade replaced.");
  if (args.version === undefined) return null;
  const v = args.version.trim().replace(/^v/, "");
  if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(v)) throw new UsageError(`--version "${args.version}" is not a version like 1.2.3 or 1.2.3-rc.1.`);
  return v;
}

const asset = (): string => {
  const t = releaseTarget(thisPlatform());
  if ("problem" in t) throw new CommandError("no_build", `${t.problem}, so there is no release asset to upgrade to; nothing was changed`, Exit.notFound, "build from source: bun run build");
  return `claudemesh-${t.target}`;
};

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Whether release `latest` (null: not named by the server) is newer than this binary; without a
 *  version, whether its build (`latestSha`) differs from this one (`currentSha`). */
const isNewer = (latest: string | null, latestSha: string, currentSha: string) => (latest !== null ? Bun.semver.order(latest, VERSION) > 0 : latestSha !== currentSha);

/** The release's checksum for `name`, or a refusal (exit 5): installing an unlisted file would be
 *  installing an unverified one. */
function listed(sums: Map<string, string>, name: string, dir: string): string {
  const want = sums.get(name);
  if (want) return want;
  throw new CommandError("no_checksum", `${dir}/SHA256SUMS has no entry for ${name}; refusing to install an unverified file, nothing was changed`, Exit.refused, "the release may not have a build for this platform: see https://github.com/claudemesh/claudemesh/releases");
}

async function check(ctx: Ctx, bin: Installed, root: string | null): Promise<void> {
  const name = asset();
  const dir = releaseDir(root, null);
  const latest = await ctx.out.wait("asking for the latest release", fetchSums(dir, "no latest release"));
  const newer = isNewer(latest.version, listed(latest.sums, name, dir), sha256(bin.path));
  const how = bin.how === "homebrew" ? "brew upgrade claudemesh" : bin.how === "source" ? "git pull && bun install" : "claudemesh upgrade";
  const named = latest.version ?? "a newer build (the server does not name its version)";
  await ctx.out.result({ installed: VERSION, latest: latest.version, updateAvailable: newer, installedBy: bin.how, path: bin.path, ...(newer ? { fix: how } : {}) }, () =>
    newer ? `claudemesh ${VERSION} is installed; the latest release is ${named}. To upgrade: ${how}` : `claudemesh ${VERSION} is up to date (the latest release is ${latest.version ?? VERSION}).`,
  );
  if (newer) process.exitCode = UPDATE_AVAILABLE_EXIT;
}

async function upgrade(ctx: Ctx, bin: Installed, root: string | null, wanted: string | null): Promise<void> {
  const name = asset();
  const sumsDir = releaseDir(root, wanted);
  const release = await ctx.out.wait("fetching SHA256SUMS", fetchSums(sumsDir, wanted ? `no release ${wanted}` : "no latest release"));
  const version = wanted ?? release.version;
  // The asset comes from the directory the checksums named, so the two are one release even if
  // latest/ moves on meanwhile (a mismatch would be refused anyway).
  const dir = wanted || !version ? sumsDir : releaseDir(root, version);
  const want = listed(release.sums, name, sumsDir);
  const current = sha256(bin.path);
  if (want === current || (!wanted && !isNewer(version, want, current))) {
    await ctx.out.result({ action: "none", from: VERSION, to: VERSION, path: bin.path, latest: version }, () => `claudemesh ${VERSION} at ${bin.path} is already ${wanted ? `release ${wanted}` : `up to date (the latest release is ${version ?? VERSION})`}; nothing to do.`);
    return;
  }
  const staged = stagePath(bin);
  rmSync(staged, { force: true });
  // Ctrl-C, SIGTERM or SIGHUP (the terminal closed) during the download or its trial run: the partial file, named by this PID
  // (no later run removes it), goes too. Off before the swap, which runs without a pause.
  const interrupted = onInterrupt((signal) => {
    rmSync(staged, { force: true });
    process.stderr.write(`claudemesh: upgrade interrupted (${signal}); the partial download ${staged} was removed, nothing was changed\n`);
  });
  try {
    ctx.out.note(`downloading ${dir}/${name}…`);
    const got = await ctx.out.wait(`downloading ${name}`, download(`${dir}/${name}`, staged, `release ${version ?? "latest"} has no ${name}`));
    if (got !== want) throw new CommandError("checksum_mismatch", `checksum mismatch for ${name} (SHA256SUMS says ${want}, the download is ${got}); refusing to install it, nothing was changed`, Exit.refused, "run it again; if it repeats, the release or the way to it is broken: report it at https://github.com/claudemesh/claudemesh/issues");
    const runs = tryStaged(staged);
    if (wanted && runs !== wanted) throw new CommandError("wrong_version", `asked for ${wanted}, but the verified download reports ${runs}; nothing was changed`, Exit.refused);
    interrupted.off();
    replace(bin, staged);
    const notes = [serviceNote(bin.path, runs), runningNote(runs)].filter((n): n is string => n !== null);
    await ctx.out.result({ action: "upgraded", from: VERSION, to: runs, path: bin.path, previous: prevPath(bin), asset: name, sha256: got, notes }, () =>
      [`claudemesh ${VERSION} → ${runs} at ${bin.path} (SHA-256 matches the release's SHA256SUMS). The old binary is kept as ${prevPath(bin)}: claudemesh upgrade --rollback puts it back.`, ...notes.map((n) => `note: ${n}`)].join("\n"),
    );
  } finally {
    interrupted.off();
    rmSync(staged, { force: true });
  }
}

async function rollbackCmd(ctx: Ctx, bin: Installed): Promise<void> {
  refuseUnlessScript(bin);
  checkWritable(bin, ["upgrade", "--rollback"], null);
  // A .prev that does not run here is refused before it replaces one that does.
  const back = existingPrev(bin);
  const to = versionOf(back);
  rollBack(bin);
  const notes = [serviceNote(bin.path, to), runningNote(to)].filter((n): n is string => n !== null);
  await ctx.out.result({ action: "rolled-back", from: VERSION, to, path: bin.path, previous: back, notes }, () =>
    [`claudemesh ${VERSION} → ${to} at ${bin.path} (rolled back; ${VERSION} is now ${back}, so --rollback again undoes this).`, ...notes.map((n) => `note: ${n}`)].join("\n"),
  );
}
