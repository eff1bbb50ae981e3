// A request whose answer is lost (a dropped connection, a Ctrl-C while it is under way) may have
// taken effect all the same. `join` and `new` save the key they send before sending it and send it
// again on a retry, and the broker answers the same key with what it did the first time: the
// retry succeeds instead of meeting a used-up invite or a slug taken by an orphaned mesh.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { encodeInvite, parseInvite } from "../../src/client/invite-link.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { MESH_CREATE_BURST } from "../../src/broker/http/meshes.ts";
import { createMesh } from "../../src/client/http.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";

/** The same invite, with its broker reached at `url` (a proxy in front of the real one). */
function linkThrough(link: string, url: string): string {
  const { secret: _secret, ...payload } = parseInvite(link);
  return encodeInvite({ ...payload, broker: url });
}

/** Nothing left in the config dir's pending enrolments. */
const pendingIn = (dir: string) => (readdirSync(dir).includes("pending") ? readdirSync(join(dir, "pending")) : []);

test("a join whose answer was lost is run again with the same key: the broker gives back that enrolment, and the invite is used once", async () => {
  // It generated a new key each time: the first claim had used the single-use invite, so the
  // retry was refused with invite_exhausted and the first key, enrolled, was never saved.
  await using b = await startBroker();
  using proxy = linkProxy(b.port);
  await using ids = identities(3);
  const [alice, bob, carol] = ids.dirs as [string, string, string];
  await cliMesh(b.url, [[alice, "alice"]]);
  const link: string = ok(await cli(alice, ["invite", "--json"])).json().link;
  const viaProxy = linkThrough(link, proxy.url);
  proxy.freezeDown(); // the claim reaches the broker; its answer does not come back
  const lost = await cli(bob, ["join", "-", "--display-name", "bob"], { stdin: viaProxy + "\n", timeoutMs: 4000 }); // then Ctrl-C
  expect(lost.code).not.toBe(0);
  proxy.thaw();
  const again = ok(await cli(bob, ["join", "-", "--display-name", "bob", "--json"], { stdin: viaProxy + "\n" }));
  expect(again.json().member.displayName).toBe("bob");
  const peers = ok(await cli(alice, ["peers", "--json"])).json().peers.filter((p: { kind: string }) => p.kind === "member");
  expect(peers.map((p: { displayName: string }) => p.displayName).toSorted()).toEqual(["alice", "bob"]);
  expect(peers.find((p: { displayName: string }) => p.displayName === "bob").pubkey).toBe(ok(await cli(bob, ["whoami", "--json"])).json().identities[0].pubkey);
  // One use, one member_joined: the repeat wrote nothing.
  const audit = ok(await cli(alice, ["audit", "log", "--json"])).json().entries.map((e: { eventType: string }) => e.eventType);
  expect(audit.filter((t: string) => t === "member_joined").length).toBe(1);
  expect((await cli(carol, ["join", "-", "--display-name", "carol"], { stdin: link + "\n" })).stderr).toContain("used as many times as allowed");
  expect(pendingIn(carol)).toEqual([]); // a refusal leaves no key behind
  expect(pendingIn(bob)).toEqual([]);
}, 60_000);

test("a new mesh whose answer was lost is created again with the same key: that mesh comes back, no orphan takes its slug", async () => {
  await using b = await startBroker();
  using proxy = linkProxy(b.port);
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  proxy.freezeDown(); // the mesh is created; its answer does not come back
  const lost = await cli(alice, ["new", "Team", "--broker", proxy.url, "--display-name", "alice"], { timeoutMs: 4000 }); // then Ctrl-C
  expect(lost.code).not.toBe(0);
  proxy.thaw();
  // Others behind the same address (a shared NAT) use up its mesh-creation allowance meanwhile:
  // the retry of a creation that happened is answered all the same.
  const other = (i: number) => createMesh(b.url, generateSigningKeypair(), { meshId: `mesh-other-${i}`, slug: `other-${i}`, name: "O", ownerDisplayName: "o" });
  for (let i = 1; i < MESH_CREATE_BURST; i++) await other(i); // the lost creation took one
  await expect(other(0)).rejects.toMatchObject({ code: "rate_limited" });
  const again = ok(await cli(alice, ["new", "Team", "--broker", proxy.url, "--display-name", "alice", "--json"]));
  const db = (b.ctx.store as SqliteStore).db;
  expect(db.query("SELECT id FROM meshes WHERE slug = 'team'").all()).toEqual([{ id: again.json().mesh.id }]);
  expect(db.query("SELECT COUNT(*) AS n FROM audit_log WHERE event_type = 'mesh_created' AND mesh_id = ?").get(again.json().mesh.id)).toEqual({ n: 1 });
  expect(ok(await cli(alice, ["whoami", "--json"])).json().identities[0].pubkey).toBe(again.json().member.pubkey);
  expect(pendingIn(alice)).toEqual([]);
}, 60_000);
