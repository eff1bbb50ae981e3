// Topics: named channels with members, a lead, and a numbered history (topic_offset 1, 2, 3, ...).
import type { Database } from "bun:sqlite";
import { MeshError } from "../../protocol/errors.ts";
import { MAX_TOPICS_PER_MEMBER } from "../../protocol/limits.ts";
import type { StoredMessage, Topic, TopicMember } from "../types.ts";
import type { AuditRepo } from "./audit-repo.ts";
import type { TopicTrims } from "./topic-trims.ts";
import { MESSAGE_SELECT, messageFromRow, topicFromRow, type MessageRow, type TopicRow } from "./rows.ts";
import { writeTx } from "./transaction.ts";

export type TopicHistory = { messages: StoredMessage[]; earliestOffset: number; lastOffset: number };

export class TopicRepo {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditRepo,
    private readonly trims: TopicTrims,
  ) {}

  /** Creates the topic with `creator` (a member id) as its lead, and `topic_created`.
   *  A taken name → MeshError conflict; a creator with MAX_TOPICS_PER_MEMBER topics of the mesh
   *  already → MeshError invalid_argument, nothing written. */
  create(meshId: string, name: string, description: string, creator: string): Topic {
    return writeTx(this.db, () => {
      if (this.db.query("SELECT 1 FROM topics WHERE mesh_id = ? AND name = ?").get(meshId, name)) throw new MeshError("conflict", `topic #${name} already exists`);
      const made = this.db.query<{ n: number }, [string, string]>("SELECT count(*) AS n FROM topics WHERE mesh_id = ? AND created_by = ?").get(meshId, creator)!.n;
      if (made >= MAX_TOPICS_PER_MEMBER) {
        throw new MeshError("invalid_argument", `You created ${MAX_TOPICS_PER_MEMBER} topics of this mesh, the most a member may create (topics are never deleted): post in one of them instead.`);
      }
      const now = Date.now();
      const row = this.db
        .query<TopicRow, [string, string, string, string, number]>(
          "INSERT INTO topics (mesh_id, name, description, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *",
        )
        .get(meshId, name, description, creator, now)!;
      this.db.query("INSERT INTO topic_members (topic_id, member_id, role, joined_at) VALUES (?, ?, 'lead', ?)").run(row.id, creator, now);
      this.audit.appendIn({ meshId, eventType: "topic_created", actor: creator, payload: { name } });
      return topicFromRow(row);
    });
  }

  get(meshId: string, name: string): Topic | null {
    const row = this.db.query<TopicRow, [string, string]>("SELECT * FROM topics WHERE mesh_id = ? AND name = ?").get(meshId, name);
    return row ? topicFromRow(row) : null;
  }

  /** All topics of the mesh by name, each with its member count. */
  list(meshId: string): (Topic & { members: number })[] {
    return this.db
      .query<TopicRow & { members: number }, [string]>(
        "SELECT t.*, (SELECT COUNT(*) FROM topic_members tm JOIN members m ON m.id = tm.member_id WHERE tm.topic_id = t.id AND m.revoked_at IS NULL) AS members FROM topics t WHERE t.mesh_id = ? ORDER BY t.name",
      )
      .all(meshId)
      .map((r) => ({ ...topicFromRow(r), members: r.members }));
  }

  /** Adds a plain member; false if it was a member already. */
  join(topicId: number, memberId: string): boolean {
    const sql = "INSERT OR IGNORE INTO topic_members (topic_id, member_id, role, joined_at) VALUES (?, ?, 'member', ?)";
    return this.db.query(sql).run(topicId, memberId, Date.now()).changes === 1;
  }

  /** False if it was not a member. */
  leave(topicId: number, memberId: string): boolean {
    return this.db.query("DELETE FROM topic_members WHERE topic_id = ? AND member_id = ?").run(topicId, memberId).changes === 1;
  }

  /** Members of the topic (active ones: revocation removes them), leads first; only `memberId`
   *  when given (a membership check reads one row, not the topic's thousands). */
  members(topicId: number, memberId?: string): TopicMember[] {
    const select = `SELECT m.id AS memberId, m.display_name AS displayName, m.pubkey AS pubkey, tm.role AS role
         FROM topic_members tm JOIN members m ON m.id = tm.member_id WHERE tm.topic_id = ? AND m.revoked_at IS NULL`;
    if (memberId !== undefined) return this.db.query<TopicMember, [number, string]>(`${select} AND tm.member_id = ?`).all(topicId, memberId);
    return this.db.query<TopicMember, [number]>(`${select} ORDER BY tm.role = 'member', tm.joined_at, m.id`).all(topicId);
  }

  /** Ids of the topics of the mesh the member belongs to, ascending. Read through the index by
   *  member (schema 9), in its order: the member's own rows, not its mesh's topics (before it, every
   *  topic of the mesh; before session 37, every row of every mesh, 57 ms a topic_list with
   *  1,000,000 rows elsewhere). */
  ofMember(meshId: string, memberId: string): number[] {
    return this.db
      .query<{ topic_id: number }, [string, string]>("SELECT tm.topic_id FROM topic_members tm JOIN topics t ON t.id = tm.topic_id WHERE tm.member_id = ? AND t.mesh_id = ? ORDER BY tm.topic_id")
      .all(memberId, meshId)
      .map((r) => r.topic_id);
  }

  /** Up to `limit` messages with offset > afterOffset, oldest first, never across a gap; with
   *  `maxBytes`, only up to the message whose ciphertext brings the page's ciphertexts to it (at
   *  least one), the rest not read.
   *  `earliestOffset` starts the unbroken run of retained offsets that ends at `lastOffset`
   *  (lastOffset + 1 when nothing is retained); a reader that needs an older offset has lost
   *  history. A message kept beyond the retention only because some mailbox still queues it is
   *  returned when it belongs to that run, and otherwise not (it lies before a gap): its
   *  recipients get it from their queue. Unknown topic → MeshError not_found. */
  history(topicId: number, afterOffset: number, limit: number, maxBytes = Number.POSITIVE_INFINITY): TopicHistory {
    const topic = this.db.query<{ last_offset: number }, [number]>("SELECT last_offset FROM topics WHERE id = ?").get(topicId);
    if (!topic) throw new MeshError("not_found", "no such topic");
    // Trimming is the only source of gaps, oldest first: the newest run starts after the highest
    // offset trimmed (topic-trims.ts).
    const earliestOffset = this.trims.earliestOffset(topicId);
    const rows = this.db
      .query<MessageRow, [number, number, number]>(`${MESSAGE_SELECT} WHERE m.topic_id = ? AND m.topic_offset > ? ORDER BY m.topic_offset LIMIT ?`)
      .iterate(topicId, Math.max(afterOffset, earliestOffset - 1), limit);
    const messages: StoredMessage[] = [];
    let bytes = 0;
    for (const row of rows) {
      const m = messageFromRow(row);
      messages.push(m);
      bytes += m.ciphertext.length;
      if (bytes >= maxBytes) break;
    }
    return { messages, earliestOffset, lastOffset: topic.last_offset };
  }
}
