// The mesh every upgrade fixture holds, built by one older checkout's own `serve` and CLI (see
// scripts/make-upgrade-fixtures.ts). Six members: the owner; alice, bob and eve joined with one
// five-use invite (two uses left); carol and dave with single-use invites; a third invite revoked.
// A topic with history; bob takes eve's dm capability, alice blocks eve. Then, while bob is
// offline, alice and the owner queue DMs, a broadcast and topic posts for him, around carol's kick
// (reason "left": a kick, not a leave) and dave's ban, each of which rotates the mesh keys. What
// the older version itself reported is returned as the manifest the test compares against.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cm, cmJson, member, type Member, type Serve } from "./run.ts";

/** One message queued for bob, in the order it was sent. */
export type Queued = { from: string; to: string; text: string };

export type Manifest = {
  meshId: string;
  slug: string;
  brokerUrl: string;
  members: Record<string, { memberId: string; pubkey: string }>;
  /** The five-use invite alice, bob and eve claimed: its id and link (two uses left). */
  partInvite: { inviteId: string; link: string; maxUses: number; used: number };
  revokedInvite: string;
  removed: { kicked: string; banned: string };
  queuedForBob: Queued[];
  /** Sends the older broker accepted and dropped by a grant (§5.9: silently): eve's DM to bob,
   *  who took her dm capability, and eve's DM to alice, who blocked her. */
  dropped: Queued[];
  /** What the older CLI itself printed, with --json, before the broker stopped. */
  old: { invites: unknown; topicHistory: unknown; aliceGrants: unknown; bobGrants: unknown; auditVerify: unknown };
};

export const MEMBER_NAMES = ["owner", "alice", "bob", "carol", "dave", "eve"] as const;
const YEAR = "365d";

export async function buildMesh(checkout: string, root: string, broker: Serve): Promise<Manifest> {
  const m = Object.fromEntries(MEMBER_NAMES.map((n) => [n, member(root, n)])) as Record<(typeof MEMBER_NAMES)[number], Member>;
  const run = (who: Member, args: string[], ok?: number[]) => cm(checkout, who, args, ok);
  const json = (who: Member, args: string[]) => cmJson(checkout, who, args);

  await json(m.owner, ["new", "Shop", "--broker", broker.url, "--slug", "shop", "--display-name", "owner"]);
  const part = await json(m.owner, ["invite", "--max-uses", "5", "--expires", YEAR]);
  // A kick revokes the invite the member joined with, so the two removed members each get their own.
  for (const n of ["alice", "bob", "eve"] as const) await json(m[n], ["join", part.link, "--name", n]);
  for (const n of ["carol", "dave"] as const) {
    const one = await json(m.owner, ["invite", "--expires", YEAR]);
    await json(m[n], ["join", one.link, "--name", n]);
  }
  const unused = await json(m.owner, ["invite", "--role", "admin", "--expires", YEAR]);
  await run(m.owner, ["invite", "revoke", unused.inviteId]);

  await run(m.owner, ["topic", "create", "deploys", "--description", "Deploy announcements"]);
  for (const n of ["alice", "bob", "carol", "eve"] as const) await run(m[n], ["topic", "join", "deploys"]);
  await run(m.bob, ["revoke", "eve", "dm"]);
  await run(m.alice, ["block", "eve"]);
  const bobGrants = await json(m.bob, ["grants"]);
  const aliceGrants = await json(m.alice, ["grants"]);

  const members: Manifest["members"] = {};
  for (const n of MEMBER_NAMES) {
    const entry = JSON.parse(readFileSync(join(m[n].configDir, "config.json"), "utf8")).meshes[0];
    members[n] = { memberId: entry.memberId, pubkey: entry.publicKey };
  }

  // From here on bob runs nothing: everything below waits in his queue.
  const queued: Queued[] = [];
  const send = async (from: Member, to: string, text: string) => {
    await run(from, to.startsWith("#") ? ["topic", "post", to.slice(1), text] : ["send", to, text]);
    queued.push({ from: from.name, to, text });
  };
  await send(m.alice, "#deploys", "history 1: alice says hello");
  await send(m.owner, "#deploys", "history 2: owner welcomes everyone");
  await send(m.alice, "bob", "queued 1: alice to bob, before the kick");
  await send(m.owner, "*", "queued 2: owner to everyone, before the kick");
  await send(m.alice, "#deploys", "queued 3: alice in deploys, before the kick");
  await run(m.owner, ["kick", "carol", "--reason", "left"]);
  await run(m.owner, ["ban", "dave", "--reason", "spam"]);
  await send(m.owner, "#deploys", "queued 4: owner in deploys, after the rekey");
  await send(m.alice, "bob", "queued 5: alice to bob, after the rekey");
  const dropped: Queued[] = [
    { from: "eve", to: "bob", text: "dropped: eve may not dm bob" },
    { from: "eve", to: "alice", text: "dropped: alice blocked eve" },
  ];
  for (const d of dropped) await run(m[d.from as "eve"], ["send", d.to, d.text]);
  await run(m.eve, ["inbox"]); // brings eve the rotated mesh key (her send would be refused without it)
  await send(m.eve, "*", "queued 6: eve to everyone (bob still takes her broadcasts)");

  return {
    meshId: JSON.parse(readFileSync(join(m.owner.configDir, "config.json"), "utf8")).meshes[0].meshId,
    slug: "shop",
    brokerUrl: broker.url,
    members,
    partInvite: { inviteId: part.inviteId, link: part.link, maxUses: 5, used: 3 },
    revokedInvite: unused.inviteId,
    removed: { kicked: "carol", banned: "dave" },
    queuedForBob: queued,
    dropped,
    old: {
      invites: await json(m.owner, ["invite", "list"]),
      topicHistory: await json(m.alice, ["topic", "history", "deploys"]),
      aliceGrants,
      bobGrants,
      auditVerify: await json(m.owner, ["audit", "verify"]),
    },
  };
}
