// Every joined mesh of this Claude Code session: one MeshLink each. Picks the mesh for a target
// (`<slug or mesh id>:target`, or the only mesh), names each mesh apart from the others (two may
// share a slug, on two brokers), stops counting a mesh the member is out of for good (it left, or
// was kicked or banned), remembers which mesh and sender each shown or pushed message came from
// (for mesh_reply), and fans new messages out to listeners (channel push, waiting hooks).
import { MeshError } from "../protocol/errors.ts";
import { splitMeshPrefix } from "../client/resolve.ts";
import type { MeshEntry } from "../client/local/config-file.ts";
import { meshChoice, meshLabel } from "../client/mesh-label.ts";
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
  /** The meshes the member is out of that a tool has said so of (goneNote): said once. */
  private readonly goneTold = new Set<MeshLink>();

  constructor(entries: readonly MeshEntry[], opts: Omit<LinkOptions, "onMessage" | "meshLabel">) {
    this.links = entries.map((e) => {
      const link: MeshLink = new MeshLink(e, { ...opts, onMessage: (m) => this.listeners.forEach((l) => l(m)), heldByHook: (id) => this.heldByHook(id), meshLabel: () => this.labelOf(link) });
      return link;
    });
  }

  /** The meshes the tools act on, list and choose among: those the member is still in. When it is
   *  out of every one (or the session has none), all of them, so that each tool says why. */
  listed(): MeshLink[] {
    const live = this.links.filter((l) => !l.gone);
    return live.length ? live : this.links;
  }

  /** The meshes `link` is named apart from: those listed, and itself. */
  private among(link: MeshLink): MeshEntry[] {
    const listed = this.listed();
    return (listed.includes(link) ? listed : [...listed, link]).map((l) => l.entry);
  }

  /** How the tools name `link`: its slug, or with the broker's host when another listed mesh has
   *  the slug ("ops on 127.0.0.1:7900"), as the CLI names it (client/mesh-label.ts). */
  labelOf(link: MeshLink): string {
    return meshLabel(this.among(link), link.entry);
  }

  /** What names `link` as a target prefix or mesh_peers' `mesh`: its slug, or its id when another
   *  listed mesh shares the slug. */
  choiceOf(link: MeshLink): string {
    return meshChoice(this.among(link), link.entry);
  }

  /** `link`'s label, and when its slug is shared the id that chooses it ("ops on 127.0.0.1:7900
   *  (mesh id …)"): what a listing calls it. */
  named(link: MeshLink): string {
    const choice = this.choiceOf(link);
    return choice === link.slug ? this.labelOf(link) : `${this.labelOf(link)} (mesh id ${choice})`;
  }

  /** The meshes the member is out of for good that no tool has said so of yet, while it is still in
   *  others (listed() leaves them out then), each with its id and why; "" if none. Said once: the
   *  caller puts it in its answer. */
  goneNote(): string {
    const gone = this.links.filter((l) => l.gone && !this.goneTold.has(l) && !this.listed().includes(l));
    for (const l of gone) this.goneTold.add(l);
    return gone.map((l) => `No longer in mesh ${this.labelOf(l)} (mesh id ${l.meshId}); it is left out from now on. ${l.closedFor?.message ?? ""}`.trim()).join("\n");
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

  /** The link a slug or mesh id names (`selector`), or the only listed one. A slug two listed
   *  meshes share names neither: the refusal gives each one's id, which names it. A mesh the member
   *  is out of is still found by its id, or by its slug when no listed mesh has it: the tool then
   *  says why it cannot be used. */
  link(selector?: string | null): MeshLink {
    if (this.links.length === 0) throw new MeshError("not_found", "This machine has not joined any mesh. Run `claudemesh join -` (then paste the link) or `claudemesh new` in a terminal, then restart this session.");
    const listed = this.listed();
    const live = listed.filter((l) => !l.gone);
    if (selector) {
      const byId = this.links.find((x) => x.meshId === selector);
      if (byId) return byId;
      const named = listed.filter((x) => x.slug === selector);
      if (named.length > 1) throw new MeshError("invalid_argument", `This session is in several meshes called "${selector}" (on different brokers); a slug names neither. Use the mesh id instead: ${named.map((x) => `"${x.meshId}:" for ${this.labelOf(x)}`).join(", ")} (as a target prefix, or as mesh_peers' mesh).`);
      const l = named[0] ?? this.links.find((x) => x.slug === selector);
      if (!l) throw new MeshError("not_found", `No joined mesh "${selector}". This session is in: ${listed.map((x) => this.named(x)).join(", ")}.`);
      return l;
    }
    if (listed.length === 1) return listed[0]!;
    if (live.length === 0) throw new MeshError("not_found", `This session is no longer in any of its meshes: ${listed.map((x) => `${this.labelOf(x)} (mesh id ${x.meshId}): ${x.closedFor?.message ?? "closed"}`).join(" ")}`);
    const shared = listed.filter((x) => this.choiceOf(x) !== x.slug);
    const byId = shared.length ? `; for a mesh that shares its slug with another, its id: ${shared.map((x) => `"${x.meshId}:bob" for ${this.labelOf(x)}`).join(", ")}` : "";
    const plain = listed.find((x) => this.choiceOf(x) === x.slug);
    throw new MeshError("invalid_argument", `This session is in several meshes (${listed.map((x) => this.labelOf(x)).join(", ")}); prefix the target with one${plain ? `, like "${plain.slug}:bob"` : ""}${byId}.`);
  }

  /** Splits `<slug or mesh id>:target`; without a prefix uses the only listed mesh. */
  route(target: string): { link: MeshLink; rest: string } {
    const { slug, rest } = splitMeshPrefix(target, this.prefixes());
    return { link: this.link(slug), rest };
  }

  /** What may name a mesh before ":" in a target: every mesh's slug and id. */
  prefixes(): string[] {
    return this.links.flatMap((l) => [l.slug, l.meshId]);
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
    return this.links.flatMap((l, link) => (l.refused > 0 ? [{ mesh: this.labelOf(l), count: l.refused, link, through: l.refusedTotal }] : []));
  }

  /** The model was told of these refusals (by mesh_inbox, or a hook that printed them): each mesh's
   *  up to the running total it was read at; those counted since stay to be told. */
  refusalsSaid(said: readonly Refusal[]): void {
    for (const r of said) {
      const l = this.links[r.link];
      if (l && this.labelOf(l) === r.mesh) l.refusalsSaid(r.through);
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

  /** Refuses mesh_send's `reply_to` of a message this session was shown in another mesh than the
   *  one its `to` names: the answer would go where the asker is not (its mesh_ask waits in its own
   *  mesh), under an id that mesh never had. Not silently sent into the reply's mesh instead: `to`
   *  named a mesh, and the same name there may be someone else. An id this session was not shown
   *  passes, as before (it may be one the user read in a terminal). */
  replyFitsMesh(messageId: string, link: MeshLink, to: string): void {
    const shown = this.shownAs(messageId)?.link;
    if (!shown || shown === link) return;
    throw new MeshError("invalid_argument", `Nothing was sent: reply_to ${messageId} is a message from mesh ${this.labelOf(shown)}, but "${to}" is in mesh ${this.labelOf(link)}, and a reply goes in the mesh of the message it answers. To answer it, use mesh_reply with message_id "${messageId}" (it goes to its sender), or name the peer in that mesh ("${this.choiceOf(shown)}:<peer>"); to write to "${to}" anyway, leave out reply_to.`);
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
