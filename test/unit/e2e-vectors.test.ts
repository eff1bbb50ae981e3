// docs/protocol.md §11.8: every e2e-vector block is opened with the real code and must give exactly
// the documented plaintext, and the deterministic derivations must match.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openEnvelope } from "../../src/crypto/envelope.ts";
import { purposeKey } from "../../src/crypto/mesh-keys.ts";
import { inviteBlobKey, inviteSigningKeypair, openKeysBlob } from "../../src/crypto/invite-secret.ts";
import { decryptBackup } from "../../src/crypto/backup.ts";
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

describe("end-to-end vectors", () => {
  test("all five are present", () => {
    expect([...vectors.keys()].sort()).toEqual(["e2e-backup", "e2e-direct", "e2e-fanout", "e2e-invite-secret", "e2e-purpose-keys"]);
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

  test("backup file opens with its passphrase only", async () => {
    const b = v("e2e-backup");
    expect(new TextDecoder().decode(await decryptBackup(fromBase64(b.fileB64), b.passphrase))).toBe(b.plaintext);
    await expect(decryptBackup(fromBase64(b.fileB64), b.passphrase + "!")).rejects.toMatchObject({ code: "wrong_passphrase_or_tampered" });
  });
});
