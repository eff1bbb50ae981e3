// A Claude Code session started after a key rotation has no copy of the owner's `keys` message:
// the owner sent it to the member key, which queued it in the member's own mailbox and in the
// mailboxes of the sessions live at that moment. This reads it from the member mailbox: a short
// member connection in pull mode fetches what is queued there and applies the `keys` messages.
// Nothing is acked, so every message stays for the member's `claudemesh inbox` (the fetch's
// claims end with the connection).
import { BrokerClient } from "../client/client.ts";
import type { Whereabouts } from "../client/credentials.ts";
import { MeshSession } from "../client/mesh-session.ts";
import type { MeshEntry, MeshKey } from "../client/local/config-file.ts";
import { MAX_PAGE } from "../protocol/limits.ts";
import type { Log } from "../log/log.ts";

/** How many pages of the member mailbox are looked through at most. */
const MAX_PAGES = 8;

/** The mesh keys (all of them, merged with the entry's) that the owner sent to this member key and
 *  that are still queued in its mailbox, when they bring a key this entry lacks; else null.
 *  Throws MeshError when the broker cannot be reached or refuses. */
export async function keysFromMemberMailbox(entry: MeshEntry, url: string, where: Whereabouts): Promise<MeshKey[] | null> {
  const member = { meshId: entry.meshId, publicKey: entry.publicKey, secretKey: entry.secretKey, memberPubkey: entry.publicKey, memberSecretKey: entry.secretKey, ownerPubkey: entry.ownerPubkey };
  let found: MeshKey[] | null = null;
  const session = new MeshSession(member, entry.meshKeys, { onKeys: (keys) => void (found = keys) });
  const client = new BrokerClient({
    url,
    credentials: { kind: "member", meshId: entry.meshId, memberId: entry.memberId, keys: { publicKey: entry.publicKey, secretKey: entry.secretKey } },
    where: { ...where, receive: "pull" },
    reconnect: false,
    firstConnect: "fail",
  });
  try {
    await client.connect();
    for (let page = 0; page < MAX_PAGES; page++) {
      const { messages } = await client.request("fetch", { limit: MAX_PAGE });
      // Not recorded as seen: this reader is not the member's inbox, which reads them all later.
      for (const m of messages) session.open(m, { record: false });
      if (messages.length === 0) break; // a page may be short (the broker caps it by bytes) with more behind it
    }
  } finally {
    client.close();
  }
  return found;
}

/** What KeyCatchUp needs of its mesh link. */
export type CatchUpHost = {
  /** This mesh's entry as the config file holds it now. */
  entry(): MeshEntry;
  /** This session's newest key epoch, and the mesh's (from the broker). */
  epochs(): { mine: number; mesh: number };
  /** Takes in `keys` and those the config holds now, and opens what waited for them. */
  applied(keys: readonly MeshKey[]): void;
  /** Saves keys found to the config; resolves to whether it did, never rejects. */
  save(keys: MeshKey[]): Promise<boolean>;
  where: Whereabouts;
  log: Log;
};

/** After each connect: a session behind the mesh's key epoch takes the keys from the config (the
 *  CLI may hold them), else from the member mailbox, once per epoch the broker announces. */
export class KeyCatchUp {
  private triedFor = -1;

  constructor(private readonly host: CatchUpHost) {}

  async run(): Promise<void> {
    const { mine, mesh } = this.host.epochs();
    if (mine >= mesh || this.triedFor >= mesh) return;
    this.host.applied([]); // the config may have them already
    if (this.host.epochs().mine >= mesh) return;
    this.triedFor = mesh;
    const entry = this.host.entry();
    try {
      const found = await keysFromMemberMailbox(entry, entry.brokerUrl, this.host.where);
      // Taken in before the save, and whether or not it succeeds: the session can use them now.
      // Nothing is lost if the save gives up behind the lock: the keys message stays in the
      // member mailbox (nothing was acked), for `claudemesh inbox` or the next session to save.
      if (found) this.host.applied(found);
      const saved = found !== null && (await this.host.save(found));
      this.host.log.info("mesh keys looked for in the member mailbox", { mesh: entry.slug, found: found !== null, saved, epoch: this.host.epochs().mine, meshEpoch: mesh });
    } catch (err) {
      this.host.log.warn("mesh keys could not be read from the member mailbox", { mesh: entry.slug, err });
    }
  }
}
