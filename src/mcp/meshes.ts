// Every joined mesh of this Claude Code session: one MeshLink each. Picks the mesh for a target
// (`slug:target`, or the only mesh), remembers which mesh and sender each shown or pushed message
// came from (for mesh_reply), and fans new messages out to listeners (channel push, waiting hooks).
import { MeshError } from "../protocol/errors.ts";
import { splitMeshPrefix } from "../client/resolve.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { MeshLink, type LinkOptions, type Pending } from "./mesh-link.ts";
import { answers, type ShownBy } from "./reply-waiters.ts";
import { MAX_OPEN_ASKS, type OpenAsk } from "./open-asks.ts";
import { refusalNote, type Refusal } from "./refusal-note.ts";

export class Meshes {
  readonly links: MeshLink[];
  private readonly listeners = new Set<(m: Pending) => void>();
  private readonly seenListeners = new Set<() => void>();
  /** Unread messages a hook already showed cut short: mesh_inbox still returns them (whole), but
   *  hooks do not show them again (the wake hook would otherwise fire for them in a loop). */
  private readonly previewed = new Set<string>();
  /** Unread messages handed to a hook that has not yet said it printed them: other hooks skip
   *  them, and mesh_ask and mesh_inbox do not show them, until it does (`seen`) or until the
   *  hand-out lapses (the hook died first: unread again). `released` settles then. */
  private readonly handedOut = new Map<string, { timer: ReturnType<typeof setTimeout>; released: PromiseWithResolvers<void> }>();

  constructor(entries: readonly MeshEntry[], opts: Omit<LinkOptions, "onMessage">) {
    this.links = entries.map((e) => new MeshLink(e, { ...opts, onMessage: (m) => this.listeners.forEach((l) => l(m)), heldByHook: (id) => this.heldByHook(id) }));
  }

  /** Connects every mesh (MeshLink.start); calling it again changes nothing. */
  start(): Promise<void> {
    return Promise.all(this.links.map((l) => l.start())).then(() => {});
  }

  onMessage(listener: (m: Pending) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` each time a message was shown whole: by mesh_inbox, a hook, or as mesh_ask's
   *  reply (remember). */
  onSeen(listener: () => void): () => void {
    this.seenListeners.add(listener);
    return () => this.seenListeners.delete(listener);
  }

  /** The link for an explicit slug, or the only one. */
  link(slug?: string | null): MeshLink {
    if (this.links.length === 0) throw new MeshError("not_found", "This machine has not joined any mesh. Run `claudemesh join -` (then paste the link) or `claudemesh new` in a terminal, then restart this session.");
    if (slug) {
      const named = this.links.filter((x) => x.slug === slug);
      if (named.length > 1) throw new MeshError("invalid_argument", `This session is in several meshes called "${slug}" (on different brokers); the prefix cannot tell them apart. The user can leave one of them with \`claudemesh leave <mesh id> --yes\` (\`claudemesh list --json\` shows the ids).`);
      const l = named[0];
      if (!l) throw new MeshError("not_found", `No joined mesh "${slug}". Joined: ${this.links.map((x) => x.slug).join(", ")}.`);
      return l;
    }
    if (this.links.length === 1) return this.links[0]!;
    throw new MeshError("invalid_argument", `This session is in several meshes (${this.links.map((x) => x.slug).join(", ")}); prefix the target with one, like "${this.links[0]!.slug}:bob".`);
  }

  /** Splits `slug:target`; without a prefix uses the only mesh. */
  route(target: string): { link: MeshLink; rest: string } {
    const { slug, rest } = splitMeshPrefix(target, this.links.map((l) => l.slug));
    return { link: this.link(slug), rest };
  }

  /** Claims up to `limit` more queued messages per mesh, gated ones included (MeshLink.pull);
   *  resolves to how many more the brokers hold. */
  async pull(limit: number): Promise<number> {
    const more = await Promise.all(this.links.map((l) => l.pull(limit)));
    return more.reduce((a, b) => a + b, 0);
  }

  /** The meshes where pushes failed verification that the model was not told of yet: what a
   *  broker re-targeted, moved or re-attributed is dropped, and mesh_inbox or a hook says so. */
  refusals(): Refusal[] {
    return this.links.flatMap((l, link) => (l.refused > 0 ? [{ mesh: l.slug, count: l.refused, link, through: l.refusedTotal }] : []));
  }

  /** The model was told of these refusals (by mesh_inbox, or a hook that printed them): each mesh's
   *  up to the running total it was read at; those counted since stay to be told. */
  refusalsSaid(said: readonly Refusal[]): void {
    for (const r of said) {
      const l = this.links[r.link];
      if (l?.slug === r.mesh) l.refusalsSaid(r.through);
    }
  }

  /** refusalNote of the refusals not told yet ("" if none), now counted as told (mesh_inbox). */
  takeRefused(): string {
    const r = this.refusals();
    this.refusalsSaid(r);
    return refusalNote(r);
  }

  /** Messages not yet seen across meshes, oldest first. */
  pending(): Pending[] {
    return this.links.flatMap((l) => l.peek()).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Unread messages no hook has shown yet or holds, oldest first (what hooks inject). */
  unannounced(): Pending[] {
    return this.pending().filter((m) => !this.previewed.has(m.messageId) && !this.handedOut.has(m.messageId));
  }

  /** Holds these messages back from other hooks and from mesh_ask for `ms` while one prints them. */
  handOut(ids: readonly string[], ms: number): void {
    for (const id of ids) {
      this.release(id);
      this.handedOut.set(id, { timer: setTimeout(() => this.release(id), ms).unref(), released: Promise.withResolvers<void>() });
    }
  }

  /** Null if no hook holds message `id`, else a promise settled once none does: the hook said it
   *  printed it (whole: then read; cut short: still unread), or its hand-out lapsed. */
  heldByHook(id: string): Promise<void> | null {
    return this.handedOut.get(id)?.released.promise ?? null;
  }

  /** Resolves once no message is held: each hook said it printed its batch, or its hand-out
   *  lapsed. A hand-out made meanwhile (a hook given a newer message while this waited) is waited
   *  for too, or a read right after would show what that hook is printing. Each lasts at most the
   *  hand-out's `ms`, and one is made only for messages that arrived since the last, when a hook
   *  asks. The caller reads right after this resolves, before any hook's request can run. */
  async handOutsSettled(): Promise<void> {
    while (this.handedOut.size) await Promise.all([...this.handedOut.values()].map((h) => h.released.promise));
  }

  private release(id: string): void {
    const h = this.handedOut.get(id);
    if (!h) return;
    clearTimeout(h.timer);
    this.handedOut.delete(id);
    h.released.resolve();
  }

  /** Records that a hook showed these unread messages cut short. */
  markPreviewed(ids: readonly string[]): void {
    const waiting = new Set(this.pending().map((m) => m.messageId));
    for (const id of ids) {
      this.release(id);
      if (waiting.has(id)) this.previewed.add(id);
    }
  }

  /** Marks these messages seen (acked to their brokers), shown `by` a hook or mesh_inbox, and
   *  remembers them for replies. */
  markSeen(messages: readonly Pending[], by: ShownBy): void {
    for (const m of messages) {
      const link = this.linkOf(m);
      if (!link) continue;
      link.markSeen([m.messageId]);
      this.remember(link, m, by);
    }
  }

  /** A message shown whole `by` mesh_inbox, a hook, or as mesh_ask's reply: answerable by id, no
   *  longer held back from the hooks (a reply mesh_ask took may have been previewed), for a reply,
   *  known as shown to a later ask of its question, and told to the `onSeen` listeners (the
   *  doorbell's notice is sent again). Every whole showing passes through here, so these rules
   *  cannot differ between the tools and the hooks. */
  remember(link: MeshLink, m: Pending, by: ShownBy): void {
    this.seenListeners.forEach((l) => l());
    this.previewed.delete(m.messageId);
    this.release(m.messageId);
    // Open until answered, for the Stop hook's reminder (LinkMemory.rememberAsk, saved on disk).
    if (m.ask) link.memory.rememberAsk(m);
    // Known as shown to a later ask of its question (LinkMemory.rememberReply, saved on disk).
    if (m.replyTo && answers(m, m.replyTo)) link.memory.rememberReply(m.replyTo, { messageId: m.messageId, fromName: m.from.name, by });
    link.memory.rememberSender(m);
  }

  /** A channel notification carried this message (its sender, id and text, cut if long), saying
   *  "reply with mesh_reply": mesh_reply may answer it, and an answer to a question defaults to
   *  `now`. Not marked seen (a push proves nothing: channels may be off); nor an open ask for the
   *  Stop hook, which injects the unread message itself. A notice that only says more messages
   *  wait names none, and makes none replyable. */
  pushed(m: Pending): void {
    const link = this.linkOf(m);
    if (link && m.kind !== "system") link.memory.rememberSender(m);
  }

  /** The link a message came through: by its mesh id, since two joined meshes may share a slug. */
  private linkOf(m: Pending): MeshLink | undefined {
    return this.links.find((l) => l.meshId === m.meshId);
  }

  /** The mesh and sender of a message this session was shown, as its mesh remembers it (also
   *  from before the MCP server restarted). */
  private shownAs(messageId: string): { link: MeshLink; from: Pending["from"]; ask: boolean } | undefined {
    for (const link of this.links) {
      const t = link.memory.replyTarget(messageId);
      if (t) return { link, ...t };
    }
    return undefined;
  }

  /** A peer's question answered (by mesh_reply, or mesh_send with reply_to): no longer open. */
  answered(messageId: string): void {
    for (const link of this.links) link.memory.askAnswered(messageId);
  }

  /** A Stop hook's reminder listed these open questions: not listed again. */
  reminded(ids: readonly string[]): void {
    for (const link of this.links) link.memory.asksReminded(ids);
  }

  /** The priority of an answer to `messageId` when none is given: `now` for a question this
   *  session saw, since its asker is blocked in mesh_ask, busy (`working`), and a `next` answer
   *  would be held until its turn ends; otherwise the broker's default. */
  replyPriority(messageId: string | undefined): "now" | undefined {
    return messageId !== undefined && this.shownAs(messageId)?.ask ? "now" : undefined;
  }

  /** The sender of a message this session saw. */
  replyTarget(messageId: string): { link: MeshLink; from: Pending["from"] } {
    const r = this.shownAs(messageId);
    if (!r) throw new MeshError("not_found", `No message ${messageId} was shown in this session (mesh_inbox lists them). Use mesh_send to write to the peer instead.`);
    return r;
  }

  /** Open questions across meshes, the newest MAX_OPEN_ASKS, oldest first; `unreminded`: only
   *  those no reminder listed yet. */
  openAsks(unreminded = false): OpenAsk[] {
    return this.links.flatMap((l) => l.memory.openAsks(unreminded)).sort((a, b) => a.createdAt - b.createdAt).slice(-MAX_OPEN_ASKS);
  }

  close(): void {
    for (const l of this.links) l.close();
  }
}
