// What the MCP server tells the model of messages that wait for a mesh key: mesh_inbox counts those
// a mesh holds, and a post refused for a key this member lacks says why. A member whose own grant
// drops the mesh owner's direct messages waits for keys that cannot come (client/owner-dm.ts): both
// then say so, with the commands the user runs, as the CLI's inbox and topic history do.
import { MeshError } from "../protocol/errors.ts";
import { PUBKEY_RE } from "../crypto/fields.ts";
import type { BrokerClient } from "../client/client.ts";
import type { MeshSession } from "../client/mesh-session.ts";
import { SendError } from "../client/send-error.ts";
import { ownerDmNote } from "../client/owner-dm.ts";

/** A mesh as this module needs it: its session and connection, what chooses it as `--mesh`, and
 *  how it reads (ended with the connection: open-reads.ts). */
export type KeyWaiter = { session: MeshSession; client: BrokerClient; choice: string; read: <T>(r: () => Promise<T>) => Promise<T> };

const isOwner = (s: MeshSession) => s.id.memberPubkey === s.id.ownerPubkey;

/** ownerDmNote for the model, or "" (also for the owner: its keys come in nobody's messages). */
function blockedNote(w: KeyWaiter): Promise<string> {
  return isOwner(w.session) ? Promise.resolve("") : ownerDmNote(w.client, w.session.id.ownerPubkey, ` --mesh ${w.choice}`, { reader: "model", read: w.read });
}

/** mesh_inbox's line for `waiting` pushes of mesh `label` sealed under a key not held here, or "". */
export async function keyWaitLine(w: KeyWaiter, label: string, waiting: number): Promise<string> {
  if (waiting === 0) return "";
  const until = isOwner(w.session) ? "this session has that key" : "the owner's keys come";
  const note = await blockedNote(w);
  return `${waiting} message(s) in mesh ${label} use a mesh key this session does not have yet; they are shown once ${until}.${note ? ` ${note}` : ""}`;
}

/** `err`, and when it is MeshSession.send's refusal of a post for a key this member lacks, the
 *  note that its own grant keeps those keys out, if it does: otherwise the refusal's "read your
 *  messages first, which brings the new key" would be followed in vain. */
export async function keyGapNoted(w: KeyWaiter, target: string, err: unknown): Promise<unknown> {
  const behind = (w.session.currentKey()?.epoch ?? 0) < (w.client.ack?.mesh.keyEpoch ?? 0);
  if (!(err instanceof MeshError) || err instanceof SendError || err.code !== "forbidden" || PUBKEY_RE.test(target) || !behind) return err;
  const note = await blockedNote(w);
  return note ? new MeshError(err.code, `${err.message} ${note}`, { cause: err }) : err;
}
