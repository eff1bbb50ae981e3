// A long-running Claude Code session across a broker crash: the broker is killed with SIGKILL
// mid-conversation (one send in flight, unanswered) and restarted on the same port and data
// directory a few seconds later. The tools answer at once meanwhile, saying the mesh reconnects;
// the session comes back by itself; what was read during the outage (its ack lost) is not shown
// again, what was queued for it is shown once, a send in flight is stored once, and a mesh_ask
// outstanding across the restart gets its reply.
import { describe, expect, test } from "bun:test";
import { tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, until } from "../helpers/cli.ts";
import { serveProcess, spawnBroker } from "../helpers/process.ts";
import { startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";

/** The quoted body lines ("> text") of a tool's answer. */
const bodies = (text: string) => [...text.matchAll(/^> (?!").*$/gm)].map((m) => m[0].slice(2));

describe("claudemesh mcp across a broker killed and restarted", () => {
  test("tools answer during the outage; nothing is lost or shown twice; an ask gets its reply", async () => {
    await using ids = identities(3);
    const [alice, bob, carol] = ids.dirs as [string, string, string];
    const dataDir = tempDir("cm-mcp-restart-");
    await using first = await spawnBroker(dataDir);
    const port = new URL(first.url).port;
    await cliMesh(first.url, [[alice, "alice"], [bob, "bob"], [carol, "carol"]]);
    await using a = await startMcp(alice, "sess-alice-crash");
    await using b = await startMcp(bob, "sess-bob-crash");
    await b.call("mesh_peers");
    await waitPeer(a, "bob/app");

    expect((await a.call("mesh_send", { to: "bob/app", message: "read during the outage" })).isError).toBe(false);
    await b.waitNotification((n) => n.content.includes("read during the outage"));
    const asked = a.call("mesh_ask", { to: "bob/app", question: "Which port?", timeout_seconds: 60 });
    const question = await b.waitNotification((n) => n.content.includes("Which port?"));
    // A send the broker takes but never answers: stopped, then killed. To everyone, so that no
    // peer lookup goes before it (a lookup in flight at the kill answers "Nothing was sent" at
    // once: mcp-crash-race.test.ts); the send itself is asked again after the restart.
    first.proc.kill("SIGSTOP");
    const inFlight = a.call("mesh_send", { to: "*", message: "in flight at the kill", client_message_id: "inflight-0001" });
    await Bun.sleep(300);
    first.proc.kill("SIGKILL");
    await first.proc.exited;

    // The drop reaches bob's server within milliseconds; a call racing it answers at once too
    // (mcp-crash-race.test.ts).
    await until(async () => (await b.call("mesh_peers")).text.includes("reconnecting"), "bob's server saw the broker go", 30_000);
    const started = performance.now();
    const down = await a.call("mesh_send", { to: "bob/app", message: "during" });
    expect({ ...down, fast: performance.now() - started < 1000 }).toEqual({ isError: true, text: expect.stringContaining("Not connected to mesh team-x right now (reconnecting)"), fast: true });
    // What the server already holds is readable, and the mesh it could not ask is named.
    const during = await b.call("mesh_inbox");
    expect({ bodies: bodies(during.text), notRead: during.text.includes("Not read from:\n- team-x: unavailable: Not connected") }).toEqual({ bodies: ["read during the outage", "Which port?"], notRead: true });

    await Bun.sleep(1000);
    await using again = serveProcess(["--port", port, "--data-dir", dataDir], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
    await again.waitFor(/"msg":"broker listening"/);
    // Queued at the broker while bob's server may still be waiting out its backoff.
    expect((await cli(carol, ["send", "bob/app", "queued while reconnecting"])).code).toBe(0);
    await waitConnected(b, 30_000);
    await waitConnected(a, 30_000);

    expect((await inFlight).text).toContain("Sent to");
    expect((await b.call("mesh_reply", { message_id: question.meta.message_id, message: "8080" })).isError).toBe(false);
    const answer = await asked;
    expect({ isError: answer.isError, reply: bodies(answer.text) }).toEqual({ isError: false, reply: ["8080"] });

    // Once this marker is here, everything sent before it to bob is here too (one mailbox, in order).
    expect((await a.call("mesh_send", { to: "bob/app", message: "marker" })).isError).toBe(false);
    await b.waitNotification((n) => n.content.includes("> marker"));
    const after = bodies((await b.call("mesh_inbox")).text);
    expect(after.sort()).toEqual(["in flight at the kill", "marker", "queued while reconnecting"]);
    expect((await b.call("mesh_inbox")).text).toBe("No new messages.");
  }, 90_000);
});
