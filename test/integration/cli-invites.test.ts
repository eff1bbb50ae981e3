// `join` refuses a bad invite before anything changes: a link altered in transit or expired is
// refused locally (no broker call at all), a used-up or revoked invite is refused by the broker;
// none of them enrolls anybody or uses up the invite.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startBroker } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { encodeInvite, type InvitePayload } from "../../src/client/invite-link.ts";
import { inviteCanonical } from "../../src/protocol/canonical.ts";
import { signDetached } from "../../src/crypto/sign.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { encodeInviteSecret, newInviteSecret } from "../../src/crypto/invite-secret.ts";
import type { LocalConfig } from "../../src/client/local/config-file.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const payloadOf = (link: string): InvitePayload => JSON.parse(Buffer.from(link.slice("ic://join/".length), "base64url").toString());

/** The link with one base64 character changed inside the signature, chosen so that the payload
 *  still decodes and the signature is still 128 hex digits: only the signature check can notice. */
function flipOneChar(link: string): string {
  const token = link.slice("ic://join/".length);
  const json = Buffer.from(token, "base64url").toString();
  const at = Math.floor((json.indexOf('"sig":"') + 7 + 64) / 3) * 4;
  for (const c of B64URL) {
    const t = token.slice(0, at) + c + token.slice(at + 1);
    if (t === token) continue;
    try {
      const p = JSON.parse(Buffer.from(t, "base64url").toString()) as InvitePayload;
      if (/^[0-9a-f]{128}$/.test(p.sig)) return `ic://join/${t}`;
    } catch {}
  }
  throw new Error("no single-character flip keeps the payload decodable");
}

describe("cli invites", () => {
  test("an altered link is refused (exit 5) and a truncated one is a usage error (exit 2), before any state change", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [alice, bob] = ids.dirs as [string, string];
    await cliMesh(b.url, [[alice, "alice"]]);
    const db = (b.ctx.store as SqliteStore).db;
    const members = () => (db.query("SELECT COUNT(*) AS n FROM members").get() as { n: number }).n;
    const inv = ok(await cli(alice, ["invite", "--json"])).json();

    const flipped = flipOneChar(inv.link);
    expect(flipped.length).toBe(inv.link.length);
    expect([...flipped].filter((c, i) => c !== inv.link[i]).length).toBe(1);
    const r1 = await cli(bob, ["join", flipped, "--name", "bob"]);
    expect({ code: r1.code, stdout: r1.stdout, stderr: r1.stderr }).toEqual({ code: 5, stdout: "", stderr: "claudemesh: The invite's signature does not verify: the link was altered. Ask for a new one.\n" });

    // A member invite turned into an admin one, re-encoded by hand.
    const escalated = encodeInvite({ ...payloadOf(inv.link), role: "admin" });
    const r2 = await cli(bob, ["join", escalated, "--name", "bob", "--json"]);
    expect({ code: r2.code, json: r2.json() }).toEqual({ code: 5, json: { error: { code: "bad_invite", message: expect.stringContaining("altered") } } });

    // A truncated link is no invite at all: a usage error (exit 2).
    const r3 = await cli(bob, ["join", inv.link.slice(0, -20), "--name", "bob"]);
    expect({ code: r3.code, stderr: r3.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(/damaged|could not be decoded/) });

    // Another secret in an otherwise genuine link: the broker refuses the claim it signs.
    const otherSecret = encodeInvite({ ...payloadOf(inv.link), s: encodeInviteSecret(newInviteSecret()) });
    const r4 = await cli(bob, ["join", otherSecret, "--name", "bob", "--json"]);
    expect({ code: r4.code, json: r4.json() }).toEqual({ code: 5, json: { error: { code: "bad_invite", message: expect.stringContaining("the link is wrong or altered. Copy it again whole, or ask for a new invite.") } } });

    expect(members()).toBe(1);
    expect(db.query("SELECT used_count FROM invites WHERE id = ?").get(inv.inviteId)).toEqual({ used_count: 0 });
    expect(ok(await cli(bob, ["list", "--json"])).json()).toEqual({ meshes: [] });
    // The genuine link still works: nothing was used up.
    const real = await cli(bob, ["join", inv.link, "--name", "bob", "--json"]);
    expect({ code: real.code, name: real.json().member.displayName }).toEqual({ code: 0, name: "bob" });
    expect(members()).toBe(2);
  }, 60_000);

  test("a broker that names another mesh owner at join is refused: the link carries the owner's key", async () => {
    // The owner's key decides whose `keys` messages a member believes. Taken from the broker's
    // claim answer, a lying broker could name an accomplice and hand out mesh keys of its choosing.
    await using b = await startBroker();
    await using ids = identities(3);
    const [alice, carol, mallory] = ids.dirs as [string, string, string];
    const { members } = await cliMesh(b.url, [
      [alice, "alice"],
      [mallory, "mallory"],
    ]);
    const { link } = ok(await cli(alice, ["invite", "--json"]), "invite").json();
    const store = b.ctx.store;
    const getMesh = store.getMesh.bind(store);
    store.getMesh = async (id: string) => {
      const m = await getMesh(id);
      return m && { ...m, ownerPubkey: members.mallory!.pubkey };
    };
    const r = await cli(carol, ["join", link, "--name", "carol", "--json"]);
    store.getMesh = getMesh;
    expect({ code: r.code, json: r.json() }).toEqual({ code: 5, json: { error: { code: "bad_invite", message: expect.stringContaining("different mesh owner") } } });
    expect(() => readFileSync(join(carol, "config.json"), "utf8")).toThrow(); // nothing saved
  }, 30_000);

  test("an expired link (validly signed by the owner) is refused without contacting the broker", async () => {
    await using b = await startBroker();
    await using ids = identities(2);
    const [alice, bob] = ids.dirs as [string, string];
    const { meshId } = await cliMesh(b.url, [[alice, "alice"]]);
    const owner = (JSON.parse(readFileSync(join(alice, "config.json"), "utf8")) as LocalConfig).meshes[0]!;
    // A stand-in broker that only counts requests: the link points at it.
    let requests = 0;
    await using sentinel = Bun.serve({ port: 0, fetch: () => (requests++, new Response("{}", { status: 500 })) });
    const inviteId = randomId();
    const exp = Math.floor(Date.now() / 1000) - 60;
    const sig = signDetached(inviteCanonical(meshId, inviteId, exp, "member", owner.publicKey), owner.secretKey);
    const link = encodeInvite({ v: 2, broker: sentinel.url.origin, mesh: meshId, slug: owner.slug, name: owner.name, invite: inviteId, exp, role: "member", issuer: owner.publicKey, sig, s: encodeInviteSecret(newInviteSecret()) });

    const human = await cli(bob, ["join", link, "--name", "bob"]);
    expect({ code: human.code, stdout: human.stdout, stderr: human.stderr }).toEqual({ code: 5, stdout: "", stderr: `claudemesh: This invite expired on ${new Date(exp * 1000).toISOString()}. Ask for a new one.\n` });
    const json = await cli(bob, ["join", link, "--name", "bob", "--json"]);
    expect({ code: json.code, json: json.json() }).toEqual({ code: 5, json: { error: { code: "invite_expired", message: expect.stringContaining("expired") } } });
    expect(requests).toBe(0);
    expect((b.ctx.store as SqliteStore).db.query("SELECT COUNT(*) AS n FROM members").get()).toEqual({ n: 1 });
  }, 60_000);

  test("a used-up invite and a revoked invite are refused by the broker and enroll nobody", async () => {
    await using b = await startBroker();
    await using ids = identities(3);
    const [alice, bob, dave] = ids.dirs as [string, string, string];
    await cliMesh(b.url, [[alice, "alice"]]);
    const db = (b.ctx.store as SqliteStore).db;
    const members = () => (db.query("SELECT COUNT(*) AS n FROM members").get() as { n: number }).n;

    const once = ok(await cli(alice, ["invite", "--max-uses", "1", "--json"])).json();
    expect(once.maxUses).toBe(1);
    ok(await cli(bob, ["join", once.link, "--name", "bob"]));
    expect(members()).toBe(2);
    const exhausted = await cli(dave, ["join", once.link, "--name", "dave"]);
    expect({ code: exhausted.code, stdout: exhausted.stdout, stderr: exhausted.stderr }).toEqual({ code: 5, stdout: "", stderr: "claudemesh: The invite has been used as many times as allowed. Ask for a new one.\n" });
    const exhaustedJson = await cli(dave, ["join", once.link, "--name", "dave", "--json"]);
    expect({ code: exhaustedJson.code, json: exhaustedJson.json() }).toEqual({ code: 5, json: { error: { code: "invite_exhausted", message: expect.any(String) } } });
    expect(members()).toBe(2);

    const revocable = ok(await cli(alice, ["invite", "--json"])).json();
    const revoke = await cli(alice, ["invite", "revoke", revocable.inviteId]);
    expect({ code: revoke.code, stdout: revoke.stdout }).toEqual({ code: 0, stdout: `Revoked invite ${revocable.inviteId}; nobody can join with it any more.\n` });
    // Again: the broker answers as it did the first time, and the CLI says nothing changed (it said "Revoked").
    const again = await cli(alice, ["invite", "revoke", revocable.inviteId]);
    expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^Invite ${revocable.inviteId} was already revoked \\(\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); nothing changed\\.\n$`)) });
    const revoked = await cli(dave, ["join", revocable.link, "--name", "dave", "--json"]);
    expect({ code: revoked.code, json: revoked.json() }).toEqual({ code: 5, json: { error: { code: "invite_revoked", message: "The invite was revoked. Ask for a new one." } } });
    expect(members()).toBe(2);
    expect(ok(await cli(dave, ["list", "--json"])).json()).toEqual({ meshes: [] });

    // The used-up and the revoked one are closed: --all lists them (the default, the open ones).
    const list = await cli(alice, ["invite", "list", "--all", "--json"]);
    expect({ code: list.code, states: list.json().invites.map((i: any) => [i.inviteId, i.usedCount, i.maxUses, i.revokedAt === null]) }).toEqual({
      code: 0,
      states: [
        [once.inviteId, 1, 1, true],
        [revocable.inviteId, 0, 1, false],
      ],
    });
  }, 60_000);
});
