// The CLI over invite pages (docs/protocol.md §4.3.23), the real CLI as a subprocess against a real
// broker on port 0: `claudemesh invite list` shows the open invites, and with --all every invite,
// reading page after page however long the mesh's history; `invite revoke` and `kick` find what
// they need without reading that history; against a broker from before pages, which refuses the
// fields, the CLI asks the plain request and selects the open ones itself.
import { expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { MeshError } from "../../src/protocol/errors.ts";
import { INVITE_PAGE_SCAN, MAX_PAGE } from "../../src/protocol/limits.ts";
import type { SqliteStore } from "../../src/store/sqlite/store.ts";
import { inviteRows } from "../helpers/invite-rows.ts";
import type { TestBroker } from "../helpers/broker.ts";
import { cli, cliTeam, ok, type CliMember } from "../helpers/cli.ts";

/** `n` invites of `who` made an hour ago, one a millisecond (test/helpers/invite-rows.ts): every
 *  `openEvery`-th stays open, the others are revoked. Their ids, in order, and the open ones'. */
function history(b: TestBroker, meshId: string, who: CliMember, n: number, openEvery: number): { ids: string[]; open: string[] } {
  const t = Date.now() - 3_600_000;
  const rows = Array.from({ length: n }, (_, i) => ({ id: `inv_old_${String(i).padStart(6, "0")}`, createdAt: t + i, revokedAt: i % openEvery === openEvery - 1 ? null : t + i }));
  inviteRows(b, { meshId, memberId: who.memberId, pubkey: who.pubkey }, rows);
  return { ids: rows.map((r) => r.id), open: rows.filter((r) => r.revokedAt === null).map((r) => r.id) };
}

const idsOf = (r: { json(): any }) => r.json().invites.map((i: { inviteId: string }) => i.inviteId);

test("invite list shows the open invites, --all every one, past what one answer or one open page holds; revoke and kick find theirs", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { b, dirs: [alice] } = team;
  const { meshId, members } = team.mesh;
  const bobsInvite = (b.ctx.store as SqliteStore).db.query<{ id: string }, [string]>("SELECT id FROM invites WHERE mesh_id = ?").get(meshId)!.id; // used up by bob's join
  // An hour of history before bob's invite: more than one open page looks at, and many times what
  // a plain request may list.
  const old = history(b, meshId, members.alice!, INVITE_PAGE_SCAN + 1_500, 2_000);
  const made = ok(await cli(alice, ["invite", "--json"])).json().inviteId;
  expect(old.open.length).toBe(3);

  const open = await cli(alice, ["invite", "list", "--json"]);
  expect({ code: open.code, ids: idsOf(open), all: open.json().all, stderr: open.stderr }).toEqual({ code: 0, ids: [...old.open, made], all: false, stderr: "" });
  const everything = await cli(alice, ["invite", "list", "--all", "--json"]);
  expect({ code: everything.code, ids: idsOf(everything), all: everything.json().all }).toEqual({ code: 0, ids: [...old.ids, bobsInvite, made], all: true });
  expect(idsOf(everything).length).toBeGreaterThan(10 * MAX_PAGE);
  const human = ok(await cli(alice, ["invite", "list"]));
  expect(human.stdout.trimEnd().split("\n")).toEqual([...old.open, made].map((id) => expect.stringMatching(new RegExp(`^${id}  member  1 use\\(s\\) left  +expires \\d{4}-`))));

  // Revoking reads the one invite, not the list: one already revoked is said to be.
  const again = await cli(alice, ["invite", "revoke", old.ids[0]!]);
  expect({ code: again.code, stdout: again.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(new RegExp(`^Invite ${old.ids[0]} was already revoked \\(\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\); nothing changed\\.\n$`)) });
  const revoked = await cli(alice, ["invite", "revoke", old.open[0]!, "--json"]);
  expect({ code: revoked.code, json: revoked.json() }).toEqual({ code: 0, json: { inviteId: old.open[0], revoked: true, alreadyRevoked: false } });
  const none = await cli(alice, ["invite", "revoke", "inv_nobody_has_it"]);
  expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 4, stderr: "claudemesh: No invite inv_nobody_has_it in this mesh. `claudemesh invite list` lists the open ones.\n" });

  // A removal says how many invites are still open, counted over every page.
  const kick = await cli(alice, ["kick", "bob", "--json"]);
  expect({ code: kick.code, open: kick.json().openInvites }).toEqual({ code: 0, open: 3 });
}, 120_000);

test("no open invite: said, with how to see the closed ones", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const listed = await cli(team.dirs[0], ["invite", "list"]);
  expect({ code: listed.code, stdout: listed.stdout }).toEqual({ code: 0, stdout: "No open invites: claudemesh invite list --all lists the closed ones too.\n" });
  expect(idsOf(ok(await cli(team.dirs[0], ["invite", "list", "--all", "--json"])))).toHaveLength(1); // bob's, used up
}, 60_000);

test("against a broker from before pages: the CLI asks the plain request, selects the open invites itself, and revokes", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const { dirs: [alice] } = team;
  const real = HANDLERS.invite_list;
  const asked = { refused: 0, plain: 0 };
  // Such a broker's schema has none of the fields, and its answer no `next`.
  HANDLERS.invite_list = async (ctx, conn, f) => {
    const field = ["afterInviteId", "limit", "open", "inviteId"].find((k) => k in f);
    if (field) {
      asked.refused++;
      throw new MeshError("invalid_frame", `Invalid invite_list frame at /${field}: Unexpected property.`);
    }
    asked.plain++;
    const { invites } = await real(ctx, conn, f);
    return { invites } as Awaited<ReturnType<typeof real>>;
  };
  try {
    const [one, two] = [ok(await cli(alice, ["invite", "--json"])).json().inviteId, ok(await cli(alice, ["invite", "--json"])).json().inviteId];
    const revoke = await cli(alice, ["invite", "revoke", one]);
    expect({ code: revoke.code, stdout: revoke.stdout, stderr: revoke.stderr }).toEqual({ code: 0, stdout: `Revoked invite ${one}; nobody can join with it any more.\n`, stderr: "" });
    const listed = await cli(alice, ["invite", "list", "--json"]);
    expect({ code: listed.code, ids: idsOf(listed), stderr: listed.stderr }).toEqual({ code: 0, ids: [two], stderr: "" });
    expect(idsOf(ok(await cli(alice, ["invite", "list", "--all", "--json"])))).toHaveLength(3);
    // Once per command: the refused request, then the plain one.
    expect(asked).toEqual({ refused: 3, plain: 3 });
  } finally {
    HANDLERS.invite_list = real;
  }
}, 60_000);
