// The CLI's first-run path over https, the way a new team walks it: `new` (alice), `invite`, `join`
// (bob, from another HOME), `send`, `inbox`, then bob's MCP server getting a push. Shared by the
// tests of TLS at a reverse proxy (reverse-proxy-real.test.ts) and at the broker itself
// (native-tls.test.ts), which differ only in what serves the certificate.
import { expect } from "bun:test";
import { cli, ok } from "./cli.ts";
import { startMcp, waitConnected } from "./mcp.ts";

/** Walks it against `url` with `env` added to every client's environment (NODE_EXTRA_CA_CERTS);
 *  `dirs`: alice's and bob's config directories. Returns what `new --json` printed and the link. */
export async function firstRunWalk(url: string, env: Record<string, string>, [alice, bob]: readonly [string, string], text = "over https"): Promise<{ created: any; link: string }> {
  const created = ok(await cli(alice, ["new", "walked", "--broker", url, "--display-name", "alice", "--json"], { env }), "new").json();
  const { link } = ok(await cli(alice, ["invite", "--json"], { env }), "invite").json();
  ok(await cli(bob, ["join", link, "--display-name", "bob", "--json"], { env }), "join");
  ok(await cli(alice, ["send", "bob", text, "--json"], { env }), "send");
  const inbox = ok(await cli(bob, ["inbox", "--json"], { env }), "inbox").json();
  expect(inbox.messages.map((m: { from: { name: string }; body: string }) => [m.from.name, m.body])).toEqual([["alice", text]]);
  await using mcp = await startMcp(bob, "walked-session", "/work/projects/app", undefined, env);
  await waitConnected(mcp);
  ok(await cli(alice, ["send", "bob", "to the session", "--json"], { env }), "send to the session");
  expect((await mcp.waitNotification((n) => n.content.includes("to the session"))).content).toContain("to the session");
  return { created, link };
}
