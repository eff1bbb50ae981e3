// Steps shared by the tests of what a member's next session is given (docs/protocol.md §5.1,
// "The next session"), against an in-process broker.
import { expect } from "bun:test";
import type { Database } from "bun:sqlite";
import { generateSigningKeypair, type SigningKeypair } from "../../src/crypto/sign.ts";
import type { Store } from "../../src/store/types.ts";
import { startBroker, type TestBroker } from "./broker.ts";
import { addMember, connect, createTestMesh, textOf, type TestMember, type TestPeer } from "./mesh.ts";

/** A session of `m` (a fresh key unless one is given), connected. */
export const connectSession = (url: string, m: TestMember, sessionKeys: SigningKeypair = generateSigningKeypair()): Promise<TestPeer> =>
  connect(url, m, {}, { credentials: { kind: "session", meshId: m.meshId, memberId: m.memberId, memberKeys: m.keys, sessionKeys } });

/** Waits until `peer` has exactly the texts `want` (and, after a moment for stragglers, no more). */
export async function received(peer: TestPeer, want: string[]): Promise<void> {
  await peer.waitMessages(want.length);
  await Bun.sleep(150); // long enough for a duplicate or a surplus push to arrive, if one were coming
  expect(peer.messages.map(textOf)).toEqual(want);
}

/** A new session of `m`, which must be given exactly `texts` from its member's mailbox (and be
 *  pushed nothing else). */
export async function newSessionGets(url: string, m: TestMember, texts: string[]): Promise<TestPeer> {
  const s = await connectSession(url, m);
  expect(s.ack.fromMemberMailbox).toBe(texts.length);
  await received(s, texts);
  return s;
}

/** How many of the member key's queue rows are marked for the next session. */
export const marked = (b: TestBroker, m: TestMember) =>
  (b.ctx.store as unknown as { db: Database }).db.query<{ n: number }, [string]>("SELECT COUNT(*) AS n FROM queue WHERE recipient = ? AND for_next_session = 1").get(m.keys.publicKey)!.n;

/** A broker whose presences end at once (no reconnect grace, unless `grace` says the default),
 *  a mesh, alice and bob. */
export async function setup(grace: "none" | "default" = "none") {
  const b = await startBroker(grace === "none" ? { presenceGrace: 0 } : {});
  const { owner } = await createTestMesh(b.url);
  const bob = await addMember(b.url, owner, "bob");
  const alice = await connect(b.url, owner);
  return { b, owner, bob, alice };
}

/** Runs `step` once, when a hello of the session `pubkey` reaches its presence write: after its
 *  hand-over, before its attach. The hello goes on once `step` resolved. */
export function atPresenceWrite(b: TestBroker, pubkey: string, step: () => unknown): void {
  const store = b.ctx.store as Store;
  const setPresence = store.setPresence.bind(store);
  let done = false;
  store.setPresence = async (meshId, key, p) => {
    if (key === pubkey && !done) {
      done = true;
      await step();
    }
    return setPresence(meshId, key, p);
  };
}
