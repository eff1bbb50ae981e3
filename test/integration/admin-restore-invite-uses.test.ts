// A use of an invite is recorded to refuse its reuse, and a restore takes it back (docs/operations.md
// "Backups and restore"): a single-use invite claimed after the backup works again on the restored
// database, for anyone holding its link. The count cannot be carried into the restored database
// (`serve` checks it against the audit chain, which lacks the claim), so `admin restore` lists the
// invite among what it undid, with the revocation that closes it again.
import { expect, test } from "bun:test";
import { admin } from "../helpers/admin.ts";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { createInvite, createTestMesh, joinWithInvite } from "../helpers/mesh.ts";

test("an invite used up after the backup is listed as working again, with its revocation", async () => {
  const dataDir = tempDir("cm-restore-invite-uses-");
  let file: string;
  let ids: { meshId: string; single: string; multi: string; late: string; carol: string };
  let single: Awaited<ReturnType<typeof createInvite>>;
  {
    await using b = await startBroker({}, { dataDir });
    const { owner } = await createTestMesh(b.url);
    single = await createInvite(b.url, owner);
    const multi = await createInvite(b.url, owner, { maxUses: 3 });
    const backup = await admin(["backup", "--data-dir", dataDir, "--json"]);
    expect(backup.code).toBe(0);
    file = backup.json().file;
    // After the backup: the single-use invite is used up, the 3-use one used once, and an invite
    // made after the backup used up (the restored mesh does not hold it).
    const carol = await joinWithInvite(b.url, single, "carol");
    await joinWithInvite(b.url, multi, "dave");
    const late = await createInvite(b.url, owner);
    await joinWithInvite(b.url, late, "erin");
    ids = { meshId: owner.meshId, single: single.inviteId, multi: multi.inviteId, late: late.inviteId, carol: carol.keys.publicKey };
  }
  const r = await admin(["restore", file, "--data-dir", dataDir, "--force"]);
  expect(r.code).toBe(0);
  const undone = r.stdout.slice(r.stdout.indexOf("UNDONE by this restore"));
  // Before: only "and 7 other entries …"; the invite's use came back unsaid.
  expect(undone).toContain(
    `invite_claimed: invite ${ids.single} was used up after the backup (last by "carol" (${ids.carol.slice(0, 12)}…)): the restore gives back the uses made since, so its link works again\n` +
      `      the owner or an admin: claudemesh invite revoke --mesh=${ids.meshId} -- ${ids.single}\n`,
  );
  // An invite with uses left, and one the restored mesh does not hold, are only counted.
  expect(undone).not.toContain(`invite ${ids.multi}`);
  expect(undone).not.toContain(`invite ${ids.late}`);
  expect(undone).toContain("and 6 other entries");
  // What the listing is about: the used-up link lets another key in.
  await using b = await startBroker({}, { dataDir });
  expect((await joinWithInvite(b.url, single, "mallory")).role).toBe("member");
}, 60_000);
