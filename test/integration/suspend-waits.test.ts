// Waits that a process is stopped through (SIGSTOP, a paused VM; a suspend too where the timers
// count it). Continued, a process runs its overdue timers before it reads its sockets, so a wait
// whose time ran out while it did not run ended with "no answer" although the answer lay unread in
// its socket (or came with the reconnect a moment later). Such a wait goes on for a short grace
// first (src/client/wake.ts, awakeTimeout): time the process did not run is not counted against it.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startBroker } from "../helpers/broker.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { cli, cliMesh, cliStream, identities, ok, until, useBroker } from "../helpers/cli.ts";
import { spawnBroker } from "../helpers/process.ts";
import { startMcp, waitPeer } from "../helpers/mcp.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { WAKE_GAP_MS } from "../../src/client/wake.ts";

/** How long past a wait's end the process stays stopped: more than WAKE_GAP_MS, so that its timer
 *  fires late enough to tell a stop from a busy event loop. */
const STOPPED_PAST_MS = WAKE_GAP_MS + 1_500;

test("a send whose answer came while the CLI was stopped through its timeout is reported sent, not lost", async () => {
  await using b = await startBroker();
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  await cliMesh(b.url, [[alice, "alice"], [bob, "bob"]]);
  let sender: number | null = null;
  // The CLI is stopped just before the proxy hands it the send's result, which then waits in its
  // socket while it does not run. (Stopped for sure first: a result written as the stop lands
  // may be read before it.)
  const stopFirst = (d: Uint8Array) => {
    if (sender === null || !/"type":"result".*"messageId"/.test(new TextDecoder().decode(d))) return;
    process.kill(sender, "SIGSTOP");
    while (processState(sender) !== "T") Bun.sleepSync(1);
  };
  using proxy = linkProxy(b.port, stopFirst);
  useBroker(alice, proxy.url);
  await using send = cliStream(alice, ["send", "*", "answered while stopped"], { env: { CLAUDEMESH_TIMEOUT: "2s" } });
  sender = send.proc.pid;
  await until(() => processState(sender!) === "T", "the CLI to be stopped as its answer arrives");
  await Bun.sleep(2_000 + STOPPED_PAST_MS); // stopped through its 2 s timeout and well past it
  send.proc.kill("SIGCONT");
  await send.finished();
  expect({ code: send.proc.exitCode, stdout: send.stdout(), stderr: send.stderr() }).toEqual({ code: 0, stdout: expect.stringContaining("Sent to everyone"), stderr: "" });
  // Once: the broker stored it once.
  const got = ok(await cli(bob, ["inbox", "--json"])).json().messages.map((m: { body: string }) => m.body);
  expect(got).toEqual(["answered while stopped"]);
}, 30_000);

test("mesh_ask stopped through its timeout returns the reply that came meanwhile", async () => {
  await using ids = identities(2);
  const [alice, bob] = ids.dirs as [string, string];
  // Reaped while stopped: the reply comes in the socket before the close, or after the reconnect.
  await using broker = await spawnBroker(tempDir("cm-ask-stop-"), ["--ping-interval", "500ms", "--presence-grace", "1500ms"]);
  await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
  await using mcp = await startMcp(alice, "sess-alice-ask-stop");
  await using follow = cliStream(bob, ["inbox", "--follow"]);
  await until(() => follow.stderr().includes("Following"), "bob's inbox --follow to connect");
  await waitPeer(mcp, "bob");
  const asked = mcp.call("mesh_ask", { to: "bob", question: "which port?", timeout_seconds: 5 });
  await until(() => follow.stdout().includes("which port?"), "bob to get the question");
  const askedAt = performance.now();
  process.kill(mcp.pid, "SIGSTOP");
  const questionId = /claudemesh reply (\S+)/.exec(follow.stdout())![1]!;
  ok(await cli(bob, ["reply", questionId, "8080"]));
  await Bun.sleep(Math.max(0, 5_000 + STOPPED_PAST_MS - (performance.now() - askedAt)));
  process.kill(mcp.pid, "SIGCONT");
  const answer = await asked;
  expect({ isError: answer.isError, reply: answer.text.includes("> 8080") }).toEqual({ isError: false, reply: true });
  // Shown once: not pending as well.
  await until(async () => !(await mcp.call("mesh_inbox")).isError, "the session to be connected again");
  expect((await mcp.call("mesh_inbox")).text).toBe("No new messages.");
}, 40_000);

/** A process's state letter from /proc (T: stopped). */
function processState(pid: number): string {
  try {
    return /^\d+ \(.*\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, "utf8"))?.[1] ?? "?";
  } catch {
    return "?";
  }
}
