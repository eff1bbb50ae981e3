// The real CLI in a shell pipeline (`claudemesh inbox --follow | head -1`, `> /dev/full`), with a
// sender that writes many messages without a process each: for the tests of what stdout took and
// of how a follower stops.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { MeshLink } from "../../src/mcp/mesh-link.ts";
import { silentLog } from "../../src/log/log.ts";
import { MAIN, cliEnv, cliTeam } from "./cli.ts";

/** alice and bob, with alice's MeshLink to send bob many messages without a process each. */
export async function linkedTeam() {
  const t = await cliTeam(["alice", "bob"]);
  const [alice, bob] = t.dirs;
  const link = new MeshLink(loadConfig(alice).meshes[0]!, { configDir: alice, claudeSessionId: "sess-alice", label: "app", cwd: "/w", hostname: "h", log: silentLog, onMessage: () => {} });
  await link.start();
  return {
    b: t.b,
    bob,
    bobKey: t.mesh.members.bob!.pubkey,
    root: t.root,
    send: (body: string) => link.send(t.mesh.members.bob!.pubkey, body),
    async [Symbol.asyncDispose]() {
      link.close();
      await t[Symbol.asyncDispose]();
    },
  };
}

let runs = 0;

/** `claudemesh <args> <tail>` in sh: stdout goes where `tail` sends it (`| head -1`,
 *  `> /dev/full`); stderr (the CLI's and tail's) is read as it comes. The CLI is killed at the end
 *  of the `await using` scope if it is still running (a follower that never ends). `pid()` is the
 *  CLI's own process, `ended()` whether it exited (the reader may still run). `nohup`: the CLI
 *  starts with SIGHUP ignored, as `nohup` starts it. */
export function shell(configDir: string, scratch: string, args: string[], tail: string, opts: { nohup?: boolean } = {}) {
  const file = join(scratch, `run-${++runs}`);
  const words = [process.execPath, "run", MAIN, ...args].map((w) => `'${w}'`).join(" ");
  // Not run with `&`, which would start it with SIGINT ignored (a shell without job control does
  // that to what it runs in the background): the inner shell writes its pid and becomes the CLI.
  const script = `{ sh -c '${opts.nohup ? 'trap "" HUP; ' : ""}echo $$ > "$0"; exec "$@"' '${file}.pid' ${words}; echo $? > '${file}.code'; } ${tail}`;
  const proc = Bun.spawn(["sh", "-c", script], { env: cliEnv(configDir), stdout: "ignore", stderr: "pipe" });
  let stderr = "";
  const decoder = new TextDecoder();
  const read = (async () => {
    for await (const chunk of proc.stderr) stderr += decoder.decode(chunk, { stream: true });
  })();
  const pid = () => Number(readFileSync(`${file}.pid`, "utf8"));
  return {
    stderr: () => stderr,
    exited: () => proc.exitCode !== null,
    pid,
    ended: () => existsSync(`${file}.code`) && readFileSync(`${file}.code`, "utf8").endsWith("\n"),
    async done() {
      await Promise.all([proc.exited, read]);
      return { code: Number(readFileSync(`${file}.code`, "utf8")), stderr };
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode !== null) return;
      try {
        process.kill(pid(), "SIGKILL");
      } catch {} // already gone
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}
