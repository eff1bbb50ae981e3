// A broker restored from a backup (or started on a new database) answers with a new
// `hello_ack.epoch` (protocol §10): what was sent, acknowledged or changed after that backup may be
// gone, and nothing else tells the user. The CLI remembers the epoch each mesh's broker last had on
// this machine and says so once when it changes; the MCP server logs it.
import { changeMesh, type ConfigChange, type MeshEntry } from "./local/config-file.ts";

/** The epochs worth remembering: a broker's are 22 base64url characters; anything else (a broker
 *  sending a long string) is not written to the config. */
const EPOCH_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether `epoch` is new for `entry`: well-formed and not the one saved. */
export const epochIsNew = (entry: MeshEntry | undefined, epoch: string | undefined): epoch is string => entry !== undefined && epoch !== undefined && EPOCH_RE.test(epoch) && entry.brokerEpoch !== epoch;

/** Saves `epoch` as the mesh's broker epoch. `replaced` gets the one it replaced, once, when there
 *  was one (a first connect only records). */
export const recordEpoch = (meshId: string, epoch: string, replaced: (before: string) => void): ConfigChange =>
  changeMesh(meshId, (e) => {
    if (e.brokerEpoch === epoch) return null;
    if (e.brokerEpoch !== undefined) replaced(e.brokerEpoch);
    return { ...e, brokerEpoch: epoch };
  });

/** What the user is told when the broker's epoch changed since this machine last connected. */
export const rollbackNote = (slug: string): string =>
  `The broker of ${slug} is running from a restored backup (its database changed since this machine last connected). Messages sent or read after that backup, and changes to members, invites and grants made since, may be gone: resend what matters, and check \`claudemesh peers\`.`;
