// Moving a mesh to its broker's new URL (`claudemesh set-broker`): the check that the URL answers
// as this mesh's broker, and the one change of the config that records the move. A member hello
// there, signed with this member's key, must be accepted as this member of this mesh, with the
// owner key this machine already trusts (the root of mesh-key trust, protocol §11.5); anything
// else is another broker, or one whose database does not hold this mesh. It catches a wrong
// address, not an impostor: a broker holds no key, so a server that lies can make up this answer
// (the mesh and member ids are in the hello, the owner key is no secret; docs/security.md 15).
import { MeshError } from "../protocol/errors.ts";
import type { HelloAckFrame } from "../protocol/server-frames.ts";
import { bothChanges, changeMesh, type ConfigChange, type MeshEntry } from "./local/config-file.ts";
import { epochIsNew, recordEpoch } from "./rollback-note.ts";
import { otherPublicUrl, recordPublicUrl } from "./public-url-note.ts";

/** The refusal of a URL that does not serve `mesh` (`why`: what it answered instead): exit 4, as
 *  the mesh is not found there; nothing was saved, and the mesh keeps `stays`. */
export const notThisMesh = (mesh: MeshEntry, base: string, why: string, stays: string, cause?: unknown): MeshError =>
  new MeshError("not_found", `The broker at ${base} is not the broker of mesh ${mesh.slug}: ${why}. Nothing was saved: ${mesh.slug} still uses ${stays}.`, cause === undefined ? undefined : { cause });

/** The refusal of `mesh`'s key as removed (`refusal`, a `revoked` hello) by what answers at
 *  `base`, which set-broker has not accepted: that URL's word, not the mesh's verdict (a wrong
 *  address can say it too), so nothing is recorded and no `leave` is offered. Exit 3, as any
 *  `revoked`; `fix`: what the CLI adds. */
export function removedThere(mesh: MeshEntry, base: string, refusal: MeshError): { err: MeshError; fix: string } {
  const said = refusal.cause instanceof MeshError ? ` ("${refusal.cause.message}")` : "";
  return {
    err: new MeshError("revoked", `The broker at ${base} refuses your key in mesh ${mesh.slug} as removed from it${said}. Nothing was saved: ${mesh.slug} still uses ${mesh.brokerUrl}.`, { cause: refusal }),
    fix: "if that address is the mesh's broker, only an owner or admin can let you back in, with a new invite; if not, check the URL with the broker's operator",
  };
}

/** Why the broker's `ack` does not answer for `mesh` as this machine knows it, or null when it
 *  does: the same mesh id, owner key and member id. */
export function otherMesh(mesh: MeshEntry, ack: HelloAckFrame): string | null {
  if (ack.mesh.id !== mesh.meshId) return `it answered for mesh id ${ack.mesh.id}, not ${mesh.meshId}`;
  if (ack.mesh.ownerPubkey !== mesh.ownerPubkey) return `its mesh ${mesh.meshId} has the owner key ${ack.mesh.ownerPubkey.slice(0, 12)}…, not the ${mesh.ownerPubkey.slice(0, 12)}… this machine trusts`;
  if (ack.memberId !== mesh.memberId) return `it took your key as member ${ack.memberId}, not ${mesh.memberId}`;
  return null;
}

/** The change that moves mesh `mesh` to `base`, whose broker answered `ack`: its URL, that
 *  broker's database epoch (`replaced` is called when this machine had recorded another one: a
 *  broker started from a backup, rollback-note.ts), and the public URL it states when that is not
 *  `base` (said by the caller). Null when nothing changes. */
export function moveToBroker(mesh: MeshEntry, base: string, ack: HelloAckFrame, replaced: () => void): ConfigChange {
  const url = changeMesh(mesh.meshId, (e) => (e.brokerUrl === base ? null : { ...e, brokerUrl: base }));
  const epoch = epochIsNew(mesh, ack.epoch) ? recordEpoch(mesh.meshId, ack.epoch, replaced) : () => null;
  const other = otherPublicUrl(ack.publicUrl, base);
  return bothChanges(bothChanges(url, epoch), other === null ? () => null : recordPublicUrl(mesh.meshId, other));
}
