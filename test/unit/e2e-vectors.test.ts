// docs/protocol.md §11.8: every e2e-vector block is opened with the real code and must give exactly
// the documented plaintext, sealing its plaintext with its nonce gives exactly its ciphertext, and
// the deterministic derivations must match. Every envelope in a frame example of §4 or §6.7 is one
// of these vectors and opens in that example's context (mesh, sender, target, ids).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openEnvelope, sealEnvelope, type Inner } from "../../src/crypto/envelope.ts";
import { sodium } from "../../src/crypto/sodium.ts";
import { purposeKey } from "../../src/crypto/mesh-keys.ts";
import { inviteBlobKey, inviteSigningKeypair, openKeysBlob } from "../../src/crypto/invite-secret.ts";
import { decryptBackup } from "../../src/crypto/backup.ts";
import { encodeInvite, parseInvite } from "../../src/client/invite-link.ts";
import { signingKeypairFromSeed } from "../../src/crypto/sign.ts";
import { fromBase64, fromBase64Url, fromHex, toHex } from "../../src/crypto/encoding.ts";
import { fencedBlocks } from "../helpers/markdown.ts";

const DOC = readFileSync(join(import.meta.dir, "../../docs/protocol.md"), "utf8");
const vectors = new Map(
  fencedBlocks(DOC).flatMap((b) => {
    const m = /^json e2e-vector (\S+)$/.exec(b.info);
    return m ? [[m[1]!, JSON.parse(b.body)] as const] : [];
  }),
);
const v = (name: string) => vectors.get(name) ?? (() => { throw new Error(`no vector ${name}`); })();
const MESSAGE_VECTORS = ["e2e-direct", "e2e-fanout", "e2e-direct-session", "e2e-fanout-session"];
const meshKeysOf = (x: { epoch?: number; meshKeyB64?: string }) => new Map(x.meshKeyB64 === undefined ? [] : [[x.epoch!, fromBase64(x.meshKeyB64)]]);
const recipientSecret = (x: { recipientSeedHex: string }) => signingKeypairFromSeed(fromHex(x.recipientSeedHex)).secretKey;

/** sealEnvelope with libsodium's random bytes replaced by `nonce`: the only random input. */
function sealWithNonce(inner: Inner, senderSeedHex: string, nonceB64: string, meshKey?: { epoch: number; key: Uint8Array }) {
  const random = sodium.randombytes_buf;
  sodium.randombytes_buf = ((n: number) => {
    const bytes = fromBase64(nonceB64);
    if (bytes.length !== n) throw new Error(`asked for ${n} random bytes`);
    return bytes;
  }) as typeof random;
  try {
    const { v: _, ...fields } = inner;
    return sealEnvelope(fields, { mySecret: signingKeypairFromSeed(fromHex(senderSeedHex)).secretKey, ...(meshKey ? { meshKey } : {}) });
  } finally {
    sodium.randombytes_buf = random;
  }
}

/** Every object under `value` that has a non-empty `ciphertext`. */
function envelopesIn(value: unknown): Record<string, any>[] {
  if (typeof value !== "object" || value === null) return [];
  const own = typeof (value as any).ciphertext === "string" && (value as any).ciphertext !== "" ? [value as Record<string, any>] : [];
  return [...own, ...Object.values(value).flatMap(envelopesIn)];
}

describe("end-to-end vectors", () => {
  test("all eight are present", () => {
    expect([...vectors.keys()].sort()).toEqual(["e2e-backup", "e2e-direct", "e2e-direct-session", "e2e-fanout", "e2e-fanout-session", "e2e-invite-link", "e2e-invite-secret", "e2e-purpose-keys"]);
  });

  test("sealing each message vector's inner payload with its nonce gives exactly its ciphertext", () => {
    for (const name of MESSAGE_VECTORS) {
      const x = v(name);
      const meshKey = x.meshKeyB64 === undefined ? undefined : { epoch: x.epoch, key: fromBase64(x.meshKeyB64) };
      expect({ name, ciphertext: sealWithNonce(x.inner, x.senderSeedHex, x.push.nonce, meshKey).ciphertext }).toEqual({ name, ciphertext: x.push.ciphertext });
    }
  });

  test("session senders: the attestation opens with the push's member key, and not when the push calls the sender a member", () => {
    for (const name of ["e2e-direct-session", "e2e-fanout-session"]) {
      const x = v(name);
      const keys = { mySecret: recipientSecret(x), meshKeys: meshKeysOf(x) };
      expect({ name, r: openEnvelope(x.push, keys) }).toEqual({ name, r: { ok: true, inner: x.inner } });
      expect(x.inner.att).toMatchObject({ sessionPubkey: x.push.fromPubkey, parentMemberPubkey: x.push.fromMemberPubkey });
      expect({ name, r: openEnvelope({ ...x.push, fromMemberPubkey: x.push.fromPubkey }, keys) }).toEqual({ name, r: { ok: false, reason: "bad_attestation" } });
    }
    expect(v("e2e-direct-session").inner.replyTo).toBeDefined();
  });

  test("every envelope in a frame example or the dashboard post is a vector's, and opens in that example's context", () => {
    const examples = fencedBlocks(DOC).filter((b) => b.info.startsWith("json frame ") || b.info === "json http-body DashboardPostBody");
    const seen = examples.flatMap((b) => envelopesIn(JSON.parse(b.body)).map((e) => ({ line: b.line, e })));
    expect(seen.length).toBeGreaterThanOrEqual(6);
    for (const { line, e } of seen) {
      const name = MESSAGE_VECTORS.find((n) => v(n).push.nonce === e.nonce && v(n).push.ciphertext === e.ciphertext);
      expect({ line, vector: name !== undefined }).toEqual({ line, vector: true });
      const x = v(name!);
      const target = e.to ?? x.push.to; // a dashboard post names its topic in the path
      expect({ line, to: target, id: e.clientMessageId, replyTo: e.replyTo }).toEqual({ line, to: x.inner.to, id: x.inner.id, replyTo: x.inner.replyTo });
      if (e.type !== "message") continue;
      const push = { meshId: e.meshId, fromPubkey: e.from.pubkey, fromMemberPubkey: e.from.memberPubkey, to: e.to, nonce: e.nonce, ciphertext: e.ciphertext };
      expect({ line, r: openEnvelope(push, { mySecret: recipientSecret(x), meshKeys: meshKeysOf(x) }) }).toEqual({ line, r: { ok: true, inner: x.inner } });
      expect({ line, kind: e.kind, topic: e.topic }).toEqual({ line, kind: e.to.startsWith("#") ? "topic" : e.to === "*" ? "broadcast" : e.to.startsWith("@") ? "group" : "direct", topic: e.to.startsWith("#") ? e.to.slice(1) : undefined });
    }
  });

  test("direct message opens to the documented inner payload", () => {
    const d = v("e2e-direct");
    const r = openEnvelope(d.push, { mySecret: signingKeypairFromSeed(fromHex(d.recipientSeedHex)).secretKey, meshKeys: new Map() });
    expect(r).toEqual({ ok: true, inner: d.inner });
  });

  test("fan-out message opens with the epoch's mesh key, and not without it", () => {
    const f = v("e2e-fanout");
    const mySecret = signingKeypairFromSeed(fromHex(f.recipientSeedHex)).secretKey;
    expect(openEnvelope(f.push, { mySecret, meshKeys: new Map([[f.epoch, fromBase64(f.meshKeyB64)]]) })).toEqual({ ok: true, inner: f.inner });
    expect(openEnvelope(f.push, { mySecret, meshKeys: new Map([[f.epoch + 1, fromBase64(f.meshKeyB64)]]) })).toEqual({ ok: false, reason: "unknown_epoch" });
    expect(openEnvelope({ ...f.push, to: "#other" }, { mySecret, meshKeys: new Map([[f.epoch, fromBase64(f.meshKeyB64)]]) }).ok).toBe(false);
  });

  test("purpose keys and invite derivations", () => {
    const p = v("e2e-purpose-keys");
    const k = fromBase64(p.meshKeyB64);
    expect({ broadcast: toHex(purposeKey(k, "*")), topicGeneral: toHex(purposeKey(k, "#general")), groupBackend: toHex(purposeKey(k, "@backend")) }).toEqual({ broadcast: p.broadcast, topicGeneral: p.topicGeneral, groupBackend: p.groupBackend });
    const i = v("e2e-invite-secret");
    const s = fromBase64Url(i.secretB64url);
    expect({ invitePubkey: inviteSigningKeypair(s).publicKey, blobKeyHex: toHex(inviteBlobKey(s)), keys: openKeysBlob(i.keysBlob, s, i.inviteId) }).toEqual({ invitePubkey: i.invitePubkey, blobKeyHex: i.blobKeyHex, keys: i.keysJson });
  });

  test("the whole invite link: the reference client writes it, reads it in both forms, and derives the secret's invite key", () => {
    const x = v("e2e-invite-link");
    expect(encodeInvite(x.payload)).toBe(x.link);
    const https = `${x.payload.broker}/join#${x.link.slice("ic://join/".length)}`;
    for (const form of [x.link, https]) {
      const { secret, ...read } = parseInvite(form, x.nowMs);
      expect(read).toEqual(x.payload);
      expect(inviteSigningKeypair(secret).publicKey).toBe(x.invitePubkey);
    }
    expect(x.invitePubkey).toBe(v("e2e-invite-secret").invitePubkey);
    expect(() => parseInvite(x.link, x.payload.exp * 1000)).toThrow(expect.objectContaining({ code: "invite_expired" }));
  });

  test("backup file opens with its passphrase only", async () => {
    const b = v("e2e-backup");
    expect(new TextDecoder().decode(await decryptBackup(fromBase64(b.fileB64), b.passphrase))).toBe(b.plaintext);
    await expect(decryptBackup(fromBase64(b.fileB64), b.passphrase + "!")).rejects.toMatchObject({ code: "wrong_passphrase_or_tampered" });
  });
});
