// applyStatus undoes a change the store refused, unless another change came after it: one to the
// same values included (it was stored; undoing the refused one would undo it too); an attestation
// renewal the store refused leaves the old one shown. A stub store whose writes settle when the
// test says so (pure unit tests of the ordering).
import { expect, test } from "bun:test";
import { applyStatus, handleAttest } from "../../src/broker/handlers/presence.ts";
import { makeAttestation } from "../../src/client/credentials.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import type { Conn } from "../../src/broker/conn.ts";
import type { BrokerContext } from "../../src/broker/context.ts";
import type { Presence } from "../../src/broker/hub.ts";

function setup() {
  const writes: PromiseWithResolvers<void>[] = [];
  const told: unknown[] = [];
  const ctx = {
    hub: { emit: (_mesh: string, _event: string, data: unknown) => told.push(data), changed: () => {} },
    store: { setPresence: () => (writes.push(Promise.withResolvers<void>()), writes.at(-1)!.promise) },
  } as unknown as BrokerContext;
  const p = { key: "k", identity: { meshId: "m", pubkey: "pk", displayName: "carol" }, status: "dnd", summary: "old" } as unknown as Presence;
  return { ctx, p, writes, told };
}

test("a refused change is undone, and peers are told what holds again", async () => {
  const { ctx, p, writes, told } = setup();
  const refused = applyStatus(ctx, p, "working", "manual", "new");
  writes[0]!.reject(new Error("disk full"));
  expect(await refused.catch((e: Error) => e.message)).toBe("disk full");
  expect({ status: p.status, summary: p.summary }).toEqual({ status: "dnd", summary: "old" });
  expect(told).toEqual([
    { pubkey: "pk", displayName: "carol", status: "working", summary: "new" },
    { pubkey: "pk", displayName: "carol", status: "dnd", summary: "old" },
  ]);
});

test("a refused change after which the same change was stored is not undone", async () => {
  const { ctx, p, writes } = setup();
  const refused = applyStatus(ctx, p, "working", "manual", "new");
  const stored = applyStatus(ctx, p, "working", "manual", "new");
  writes[1]!.resolve();
  await stored;
  writes[0]!.reject(new Error("disk full"));
  await refused.catch(() => {});
  expect({ status: p.status, summary: p.summary }).toEqual({ status: "working", summary: "new" });
});

test("an attestation the store refused is not the one the session shows live", async () => {
  const member = generateSigningKeypair();
  const session = generateSigningKeypair();
  const now = Date.now();
  const old = makeAttestation(member, session.publicKey, now + 3_600_000);
  const identity = { kind: "session", meshId: "m", pubkey: session.publicKey, memberPubkey: member.publicKey, attestation: old };
  const ctx = { now: () => now, store: { setSessionAttestation: () => Promise.reject(new Error("disk full")) } } as unknown as BrokerContext;
  const renewed = makeAttestation(member, session.publicKey, now + 7_200_000);
  const answer = await handleAttest(ctx, { identity } as unknown as Conn, { type: "attest", id: "1", attestation: renewed }).catch((e: Error) => e.message);
  expect({ answer, shown: identity.attestation }).toEqual({ answer: "disk full", shown: old });
});
