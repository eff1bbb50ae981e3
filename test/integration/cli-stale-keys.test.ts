// A mesh key message from one of the owner's sessions, read after that session's attestation
// expired (it waited in the mailbox meanwhile), is not applied: a session key that leaked after
// its expiry could have sent it. It is set aside as stale and said as such, not counted as a
// message that failed verification, and a member behind the mesh's epoch asks the owner for the
// keys again at once, instead of at its next post.
import { describe, expect, test } from "bun:test";
import { makeAttestation } from "../../src/client/credentials.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { keysBody, makeMeshKey } from "../../src/client/mesh-session.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { cli, cliTeam } from "../helpers/cli.ts";
import { connect } from "../helpers/mesh.ts";

const HOUR = 3_600_000;

describe("cli: keys from an expired owner session", () => {
  test("are set aside as stale, not as failed verification, and the member asks the owner again", async () => {
    await using team = await cliTeam(["alice", "bob"]);
    const { b, dirs: [alice, bob], mesh } = team;
    const e = loadConfig(alice).meshes[0]!;
    const memberKeys = { publicKey: e.publicKey, secretKey: e.secretKey };
    const ownerMember = { meshId: e.meshId, memberId: e.memberId, keys: memberKeys, displayName: e.displayName, role: e.role };
    const owner = await connect(b.url, ownerMember);
    // The mesh moves to epoch 1 and bob does not have its key yet.
    await owner.client.request("key_rotate", { epoch: 1 });

    // One of the owner's sessions sent bob the key an hour ago, under the attestation it had then.
    const sessionKeys = generateSigningKeypair();
    const session = await connect(b.url, ownerMember, {}, { credentials: { kind: "session", meshId: e.meshId, memberId: e.memberId, memberKeys, sessionKeys } });
    const att = makeAttestation(memberKeys, sessionKeys.publicKey, Date.now() - HOUR);
    const id = randomId();
    const to = mesh.members.bob!.pubkey;
    const sealed = sealEnvelope({ mesh: e.meshId, from: sessionKeys.publicKey, to, id, ts: att.expiresAt - 60_000, kind: "keys", body: keysBody([makeMeshKey(0), makeMeshKey(1)]), att }, { mySecret: sessionKeys.secretKey });
    await session.client.request("send", { to, clientMessageId: id, nonce: sealed.nonce, ciphertext: sealed.ciphertext });

    const read = await cli(bob, ["inbox"]);
    expect({ code: read.code, stdout: read.stdout }).toEqual({
      code: 0,
      stdout: "No new messages.\n(1 mesh key message(s) came from an owner session whose attestation had expired by the time you read them; they were set aside, since a session key that leaked after its expiry could have sent them)\n",
    });
    expect(read.stderr).toContain("Asked the mesh owner for the mesh keys again.");
    expect(read.stderr).not.toContain("failed verification");
    expect(loadConfig(bob).meshes[0]!.meshKeys.map((k) => k.epoch)).toEqual([0]);

    // The owner got bob's request, and the stale message was acked (read again: nothing).
    const [request] = await owner.waitMessages(1);
    expect({ kind: request!.kind, from: request!.from.pubkey }).toEqual({ kind: "direct", from: to });
    const again = await cli(bob, ["inbox", "--json"]);
    expect(again.json()).toEqual({ messages: [], dropped: 0, waitingForKeys: 0 });
    await Promise.all([owner.close(), session.close()]);
  });
});
