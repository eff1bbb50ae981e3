// A mesh key message from one of the owner's sessions, read after that session's attestation
// expired (it waited in the mailbox meanwhile), is not applied: a session key that leaked after
// its expiry could have sent it. It is set aside as stale and said as such, not counted as a
// message that failed verification (by `inbox`, or by the MCP server to the model), and a member
// behind the mesh's epoch asks the owner for the keys again at once, instead of at its next post.
import { describe, expect, test } from "bun:test";
import { makeAttestation } from "../../src/client/credentials.ts";
import { loadConfig } from "../../src/client/local/config-file.ts";
import { keysBody, makeMeshKey } from "../../src/client/mesh-session.ts";
import { sealEnvelope } from "../../src/crypto/envelope.ts";
import { randomId } from "../../src/crypto/hash.ts";
import { generateSigningKeypair } from "../../src/crypto/sign.ts";
import { cli, cliTeam } from "../helpers/cli.ts";
import { connect } from "../helpers/mesh.ts";
import { startMcp, waitConnected } from "../helpers/mcp.ts";

const HOUR = 3_600_000;

/** A mesh of alice (owner) and bob at key epoch 1, bob holding epoch 0 only, and `staleKeys`,
 *  which sends bob the keys from one of alice's sessions sealed under an attestation that expired
 *  an hour ago. `owner` is alice's member connection: bob's key requests reach it. */
async function staleKeysTeam() {
  const team = await cliTeam(["alice", "bob"]);
  const { b, dirs: [alice], mesh } = team;
  const e = loadConfig(alice).meshes[0]!;
  const memberKeys = { publicKey: e.publicKey, secretKey: e.secretKey };
  const ownerMember = { meshId: e.meshId, memberId: e.memberId, keys: memberKeys, displayName: e.displayName, role: e.role };
  const owner = await connect(b.url, ownerMember);
  await owner.client.request("key_rotate", { epoch: 1 });
  const sessionKeys = generateSigningKeypair();
  const session = await connect(b.url, ownerMember, {}, { credentials: { kind: "session", meshId: e.meshId, memberId: e.memberId, memberKeys, sessionKeys } });
  const bob = mesh.members.bob!.pubkey;
  const staleKeys = async () => {
    const att = makeAttestation(memberKeys, sessionKeys.publicKey, Date.now() - HOUR);
    const id = randomId();
    const sealed = sealEnvelope({ mesh: e.meshId, from: sessionKeys.publicKey, to: bob, id, ts: att.expiresAt - 60_000, kind: "keys", body: keysBody([makeMeshKey(0), makeMeshKey(1)]), att }, { mySecret: sessionKeys.secretKey });
    await session.client.request("send", { to: bob, clientMessageId: id, nonce: sealed.nonce, ciphertext: sealed.ciphertext });
  };
  return {
    ...team,
    owner,
    bob,
    staleKeys,
    async [Symbol.asyncDispose]() {
      await Promise.all([owner.close(), session.close()]);
      await team[Symbol.asyncDispose]();
    },
  };
}

describe("keys from an expired owner session", () => {
  test("inbox sets them aside as stale, not as failed verification, and asks the owner again", async () => {
    await using t = await staleKeysTeam();
    const bobDir = t.dirs[1];
    await t.staleKeys();
    const read = await cli(bobDir, ["inbox"]);
    expect({ code: read.code, stdout: read.stdout }).toEqual({
      code: 0,
      stdout: "No new messages.\n(1 mesh key message(s) came from an owner session whose attestation had expired by the time you read them; they were set aside, since a session key that leaked after its expiry could have sent them)\n",
    });
    expect(read.stderr).toContain("Asked the mesh owner for the mesh keys again.");
    expect(read.stderr).not.toContain("failed verification");
    expect(loadConfig(bobDir).meshes[0]!.meshKeys.map((k) => k.epoch)).toEqual([0]);

    // The owner got bob's request, and the stale message was acked (read again: nothing).
    const [request] = await t.owner.waitMessages(1);
    expect({ kind: request!.kind, from: request!.from.pubkey }).toEqual({ kind: "direct", from: t.bob });
    const again = await cli(bobDir, ["inbox", "--json"]);
    expect(again.json()).toEqual({ messages: [], dropped: 0, waitingForKeys: 0 });
  });

  test("the MCP server does not report them to the model as refused, and asks the owner again", async () => {
    await using t = await staleKeysTeam();
    await using mcp = await startMcp(t.dirs[1], "claude-session-stale-keys");
    await waitConnected(mcp);
    await t.staleKeys();
    // The request comes from bob's session, on behalf of his member key.
    const [request] = await t.owner.waitMessages(1);
    expect({ kind: request!.kind, fromMember: request!.from.memberPubkey }).toEqual({ kind: "direct", fromMember: t.bob });
    const inbox = await mcp.call("mesh_inbox");
    expect(inbox.text).not.toContain("failed verification");
  });
});
