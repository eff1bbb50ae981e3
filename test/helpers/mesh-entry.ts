// A mesh's entry in config.json as the unit tests of its fields start from: alice, owner of mesh
// "a" on a local broker, with no keys yet and none of the optional fields.
import type { MeshEntry } from "../../src/client/local/config-file.ts";

export const meshEntry: MeshEntry = {
  meshId: "mesh_a",
  slug: "a",
  name: "A",
  brokerUrl: "http://127.0.0.1:7900",
  memberId: "mbr_1",
  displayName: "alice",
  role: "owner",
  ownerPubkey: "a".repeat(64),
  publicKey: "a".repeat(64),
  secretKey: "b".repeat(128),
  meshKeys: [],
  joinedAt: 1,
};
