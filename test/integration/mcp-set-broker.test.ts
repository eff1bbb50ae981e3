// A Claude Code session running while its mesh's broker moves: its MCP server keeps retrying the
// old address, and its tools say that if the broker moved, `claudemesh set-broker` in a terminal
// is the fix; once that command has saved the new URL, the running server connects there at its
// next attempt (it reads the URL from the config before each, src/mcp/mesh-link.ts), without a
// restart: messages reach it, and its hooks' status goes to the new address. docs/claude-code.md.
import { describe, expect, test } from "bun:test";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok, until } from "../helpers/cli.ts";
import { runHook, startMcp, waitConnected, waitPeer } from "../helpers/mcp.ts";

describe("claudemesh mcp across a broker move", () => {
  test("the tools name set-broker while the old address is dead; the server follows the saved URL at its next attempt", async () => {
    const dataDir = tempDir("cm-mcp-moved-");
    await using ids = identities(2);
    const [alice, bob] = ids.dirs as [string, string];
    const first = await startBroker({}, { dataDir });
    const { slug } = await cliMesh(first.url, [[alice, "alice"], [bob, "bob"]]);
    await using b = await startMcp(bob, "sess-bob-moved");
    await waitConnected(b);
    await first.stop();
    await using moved = await startBroker({}, { dataDir });

    let down = "";
    await until(async () => (down = (await b.call("mesh_peers")).text).includes("set-broker"), "the tools to name set-broker", 30_000);
    expect(down).toContain(`Fix: if the broker moved to a new address: claudemesh set-broker <new URL> --mesh ${slug} (it checks that the address serves this mesh before saving it); it connects by itself at its next attempt, without a restart.`);

    ok(await cli(bob, ["set-broker", moved.url]));
    ok(await cli(alice, ["set-broker", moved.url]));
    await waitConnected(b, 40_000);
    expect(b.stderr()).toContain(`"msg":"the mesh's broker URL changed in the config: connecting there","mesh":"${slug}","from":"${first.url}","to":"${moved.url}"`);

    ok(await cli(alice, ["send", "bob/app", "to the session after the move"]));
    await b.waitNotification((n) => n.content.includes("to the session after the move"));
    // A hook's status goes through the server to the broker at its new address.
    const hook = await runHook(bob, "user-prompt-submit", JSON.stringify({ session_id: "sess-bob-moved", cwd: "/work/projects/app", hook_event_name: "UserPromptSubmit", prompt: "go" }));
    expect(hook.code).toBe(0);
    await until(async () => (ok(await cli(alice, ["peers", "--json"])).json().peers as { displayName: string; status: string }[]).some((p) => p.displayName === "bob/app" && p.status === "working"), "bob/app working at the new broker", 10_000);
    await waitPeer(b, "alice");
  }, 120_000);
});
