// Tool calls that race a broker's crash (docs/claude-code.md: while a mesh reconnects the tools
// answer at once). The broker is stopped (SIGSTOP) so that the calls' reads go out on a connection
// that still counts as open and get no answer, then killed (SIGKILL): the client library keeps such
// a read and asks it again on the next connection, but the tool must not wait for that (up to the
// 15 s request timeout); it answers within a couple of seconds of the kill, saying why.
import { describe, expect, test } from "bun:test";
import { tempDir } from "../helpers/broker.ts";
import { cliMesh, identities } from "../helpers/cli.ts";
import { spawnBroker } from "../helpers/process.ts";
import { startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";

/** Settles with the call's answer and how long after `since()` it came. */
const timed = (p: Promise<{ text: string; isError: boolean }>, since: () => number) => p.then((r) => ({ ...r, afterKillMs: performance.now() - since() }));

describe("claudemesh mcp: a tool call in flight when the broker dies", () => {
  test("mesh_peers and mesh_send's lookup answer promptly, not after the request timeout", async () => {
    await using ids = identities(2);
    const [alice, bob] = ids.dirs as [string, string];
    await using broker = await spawnBroker(tempDir("cm-mcp-race-"));
    await cliMesh(broker.url, [[alice, "alice"], [bob, "bob"]]);
    await using a = await startMcp(alice, "sess-alice-race");
    await using b = await startMcp(bob, "sess-bob-race");
    await b.call("mesh_peers");
    await waitPeer(a, "bob/app");

    broker.proc.kill("SIGSTOP");
    let killedAt = Number.POSITIVE_INFINITY;
    const peers = timed(b.call("mesh_peers"), () => killedAt);
    const send = timed(a.call("mesh_send", { to: "bob/app", message: "lookup in flight" }), () => killedAt);
    // Nothing observable says that the servers wrote their reads to the stopped broker's socket;
    // a second is plenty for a tool call to get there on a loaded machine.
    await Bun.sleep(1000);
    broker.proc.kill("SIGKILL");
    killedAt = performance.now();
    await broker.proc.exited;

    const [p, s] = await Promise.all([peers, send]);
    expect({ ...p, fast: p.afterKillMs < 3000, afterKillMs: 0 }).toEqual({ isError: true, text: expect.stringContaining("Not connected to mesh team-x right now (reconnecting)"), fast: true, afterKillMs: 0 });
    expect({ ...s, fast: s.afterKillMs < 3000, afterKillMs: 0 }).toEqual({ isError: true, text: expect.stringContaining("Nothing was sent: looking up \"bob/app\" on mesh team-x failed"), fast: true, afterKillMs: 0 });
  }, 60_000);

  test("a send refused for an unknown #topic answers with the refusal, not after its hint lookup's timeout", async () => {
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    await using broker = await spawnBroker(tempDir("cm-mcp-race-"));
    // The broker is stopped the moment it has refused the send, so the name lookup that follows
    // (topic_list, for "did you mean") goes out on a connection that still counts as open.
    const refused = Promise.withResolvers<void>();
    let armed = false;
    using proxy = linkProxy(Number(new URL(broker.url).port), (d) => {
      if (!armed || !new TextDecoder().decode(d).includes("unknown_recipient")) return;
      armed = false;
      broker.proc.kill("SIGSTOP");
      refused.resolve();
    });
    await cliMesh(proxy.url, [[alice, "alice"]]);
    await using a = await startMcp(alice, "sess-alice-hintcut");
    await waitConnected(a);

    armed = true;
    let killedAt = Number.POSITIVE_INFINITY;
    const send = timed(a.call("mesh_send", { to: "#deploys", message: "hint in flight" }), () => killedAt);
    await refused.promise;
    // As above: time for the lookup to reach the stopped broker's socket.
    await Bun.sleep(1000);
    broker.proc.kill("SIGKILL");
    killedAt = performance.now();
    await broker.proc.exited;

    const s = await send;
    expect({ ...s, fast: s.afterKillMs < 3000, afterKillMs: 0 }).toEqual({ isError: true, text: expect.stringMatching(/No topic #deploys in mesh [\w-]+\. Create it first: claudemesh topic create deploys --mesh /), fast: true, afterKillMs: 0 });
  }, 60_000);
});
