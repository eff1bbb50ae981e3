// A broker that lies in member_lookup when a reader traces the sender of a direct message
// (docs/protocol.md §4.3.29; "Whom direct messages come from", §11.5) gets the verdicts the same
// lie in member_list gets from a broker without the lookups, which is what readers read before:
// a DM it boxed with a key of its own under a member's name is shown marked, a member it hides is
// shown marked, an answer not of its shape is no answer. Real broker on port 0 whose handlers are
// wrapped to lie, pushes rewritten as a modified broker would (evil-broker.ts), the CLI's `inbox`
// as a subprocess.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { HANDLERS } from "../../src/broker/handlers/index.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { ListedMember } from "../../src/protocol/results.ts";
import { cli, cliTeam, ok } from "../helpers/cli.ts";
import { evilBroker, forgedDm, type EvilBroker } from "../helpers/evil-broker.ts";
import { madeUpRow } from "../helpers/made-up-row.ts";
import { brokerWithoutLookups, forgetRefusals } from "../helpers/older-broker.ts";

const real = { member_list: HANDLERS.member_list, member_lookup: HANDLERS.member_lookup };
let team: Awaited<ReturnType<typeof cliTeam<readonly ["alice", "bob", "carol"]>>>;
let evil: EvilBroker;
afterEach(() => void (Object.assign(HANDLERS, real), (evil.rewrite = null)));
beforeAll(async () => {
  team = await cliTeam(["alice", "bob", "carol"]);
  evil = evilBroker();
}, 60_000);
afterAll(async () => {
  evil[Symbol.dispose]();
  await team[Symbol.asyncDispose]();
});

/** A key of the broker's, and the chain of rows it makes up for it: a member "invited" by an admin
 *  "invited by the owner", both signed by the broker. */
const made = generateSigningKeypair();
const admin = generateSigningKeypair();
const chain = (): ListedMember[] => {
  const owner = team.mesh.members.alice!.pubkey;
  return [madeUpRow(team.mesh.meshId, made.publicKey, "member", admin, admin.publicKey), madeUpRow(team.mesh.meshId, admin.publicKey, "admin", admin, owner)];
};

/** A lie about the member rows: rows hidden (by key) and rows added. */
type Lie = { hide?: string[]; add?: () => ListedMember[] };
const told = (rows: ListedMember[], lie: Lie) => [...rows.filter((m) => !lie.hide?.includes(m.pubkey)), ...(lie.add?.() ?? [])];

/** member_lookup tells `lie` for carol's key and the broker's own (the senders bob traces); what
 *  it tells when carol's `send` vouches for bob is the truth. */
function inLookup(lie: Lie) {
  const senders = [team.mesh.members.carol!.pubkey, made.publicKey];
  HANDLERS.member_lookup = async (...a) => {
    const r = await real.member_lookup(...a);
    return senders.includes(a[2].pubkey) ? { ...r, members: told(r.members, lie) } : r;
  };
}

/** member_list tells `lie`, and the lookups are unknown (a broker from before them). */
function inList(lie: Lie): Disposable {
  const older = brokerWithoutLookups();
  HANDLERS.member_list = async (...a) => ({ members: told((await real.member_list(...a)).members, lie) });
  return older;
}

/** carol sends bob a DM; the broker hands bob one it boxed itself under carol's name before it;
 *  `install` lies, and bob reads. What bob's inbox says of each: [body, marked untraced]. */
async function bobReads(label: string, install: () => void): Promise<[string, boolean][]> {
  const bob = team.mesh.members.bob!.pubkey;
  ok(await cli(team.dirs[2], ["send", "bob", `from carol ${label}`]));
  install();
  // Handed to bob's `inbox` as it fetches them.
  evil.rewrite = (m) => (m.kind === "direct" && m.to === bob ? [forgedDm(m, made, bob, `forged ${label}`), m] : [m]);
  const r = ok(await cli(team.dirs[1], ["inbox", "--json"]), `bob's inbox ${label}`).json();
  Object.assign(HANDLERS, real);
  evil.rewrite = null;
  return r.messages.map((m: { body: string; untraced?: true }) => [m.body.replace(` ${label}`, ""), m.untraced ?? false]);
}

test("each lie in member_lookup gives the verdicts the same lie in member_list gives", async () => {
  const carol = team.mesh.members.carol!.pubkey;
  const lies: Record<string, Lie> = {
    "none": {},
    "hides carol": { hide: [carol] },
    "a chain of rows it made up for its own key": { add: chain },
    "both": { hide: [carol], add: chain },
  };
  const said: Record<string, [string, boolean][]> = {};
  const before: Record<string, [string, boolean][]> = {};
  for (const [name, lie] of Object.entries(lies)) {
    said[name] = await bobReads(`${name} (lookup)`, () => inLookup(lie));
    let older: Disposable | undefined;
    before[name] = await bobReads(`${name} (list)`, () => void (older = inList(lie)));
    older![Symbol.dispose]();
    forgetRefusals(team.dirs[1]); // bob's CLI would read the lists whole for an hour
  }
  expect(said).toEqual(before);
  expect(said).toEqual({
    "none": [["forged", true], ["from carol", false]],
    "hides carol": [["forged", true], ["from carol", true]],
    "a chain of rows it made up for its own key": [["forged", true], ["from carol", false]],
    "both": [["forged", true], ["from carol", true]],
  });
}, 120_000);

test("claims counted past the invite's signed limit mark the sender, as its rows past the limit would", async () => {
  const carol = team.mesh.members.carol!.pubkey;
  const raised = () => {
    HANDLERS.member_lookup = async (...a) => {
      const r = await real.member_lookup(...a);
      return a[2].pubkey === carol ? { ...r, claims: r.claims.map((c) => ({ ...c, claimed: 2 })) } : r;
    };
  };
  expect(await bobReads("raised", raised)).toEqual([["forged", true], ["from carol", true]]);
}, 60_000);

test("answers not of member_lookup's shape, and a broker without it, leave the member list to decide: nothing fails", async () => {
  const said: [string, boolean][][] = [];
  for (const lie of [{ claims: null }, { members: null }, { claims: [null] }, { members: "carol" }]) {
    said.push(await bobReads(JSON.stringify(lie), () => void (HANDLERS.member_lookup = async (...a) => ({ ...(await real.member_lookup(...a)), ...(lie as object) }))));
  }
  let older: Disposable | undefined;
  said.push(await bobReads("older", () => void (older = brokerWithoutLookups())));
  older![Symbol.dispose]();
  expect(said).toEqual(Array(5).fill([["forged", true], ["from carol", false]]));
}, 90_000);
