// claudemesh topic create|list|join|leave|history|post. history shows the latest posts (like
// tail) unless --after asks for the ones after an offset.
import type { BrokerClient } from "../../client/client.ts";
import { MAX_DESCRIPTION_LEN, MAX_PAGE } from "../../protocol/limits.ts";
import { command, type CommonArgs, type Ctx } from "../context.ts";
import type { MeshEntry } from "../../client/local/config-file.ts";
import { UsageError } from "../output.ts";
import { wholeNumber } from "../number-arg.ts";
import { MeshError } from "../../protocol/errors.ts";
import { checkText, FIELDS } from "../input-checks.ts";
import { sessionFor } from "../mesh-io.ts";
import { formatMessage } from "../message-lines.ts";
import { meshInLines, meshOption } from "../mesh-named.ts";
import { ownerDmNote } from "../../client/owner-dm.ts";
import { sendText } from "./send.ts";
import { topicRefusal } from "../target-hints.ts";
import { unreadableHint } from "../../client/key-gap.ts";
import { quoted } from "../../client/untrusted-text.ts";
import { readHistory } from "../../client/topics.ts";

/** The topic name without a leading `#`; UsageError (exit 2) for one the broker would refuse. */
const name = (n: string) => checkText(n.replace(/^#/, ""), "The topic name", FIELDS.topic);

/** `request` about `topic` in `mesh`, whose refusal of an unknown topic names the nearest one or
 *  another mesh of yours that has it, and of one you have not joined, the command that joins it,
 *  each command with the --mesh it needs (topicRefusal). */
const onTopic = <T>(ctx: Ctx, mesh: MeshEntry, client: BrokerClient, topic: string, request: Promise<T>): Promise<T> =>
  request.catch(async (err: unknown) => Promise.reject(await topicRefusal(ctx, mesh, client, err, topic, "flag", "run this again")));

/** The broker's "topic #x already exists" (conflict, exit 5 as before) said with the next step:
 *  joining it, or nothing when you are in it already. */
async function existing(client: BrokerClient, err: unknown, topic: string, option: string): Promise<unknown> {
  if (!(err instanceof MeshError) || err.code !== "conflict") return err;
  const joined = await client.request("topic_list", {}).then(
    (r) => r.topics.find((t) => t.name === topic)?.joined,
    () => undefined,
  );
  const next = joined ? "You are in it already." : `Join it with: claudemesh topic join ${topic}${option}`;
  return new MeshError("conflict", `Topic #${topic} already exists in this mesh. ${next}`, { cause: err });
}

export async function create(args: CommonArgs & { name: string; description?: string }): Promise<void> {
  await command(args, async (ctx) => {
    const topic = name(args.name);
    const description = checkText(args.description ?? "", "--description", FIELDS.description);
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const { topic: created } = await client.request("topic_create", { name: topic, ...(description ? { description } : {}) }).catch(async (err: unknown) => Promise.reject(await existing(client, err, topic, meshOption(ctx.config(), mesh))));
    ctx.out.result({ topic: created }, () => `Created #${created.name}; you are its lead. Others join with: claudemesh topic join ${created.name}`);
  });
}

/** A topic's lastOffset as `topic history` numbers posts. It counts every post ever made, trimmed
 *  ones included (the broker keeps the latest `topicHistory`, protocol §4.3.15), so it is not said
 *  as a number of messages: topic_list does not answer how many are kept. */
const lastPost = (lastOffset: number) => (lastOffset > 0 ? `last post #${lastOffset}` : "no posts yet");

export async function list(args: CommonArgs): Promise<void> {
  await command(args, async (ctx) => {
    const client = await ctx.connect(ctx.mesh());
    const { topics } = await client.request("topic_list", {});
    // A description is a member's text: one line, quoted, so that it cannot forge a line of its own.
    ctx.out.result({ topics }, () => topics.map((t) => `#${t.name.padEnd(20)} ${String(t.members).padStart(3)} member(s)  ${lastPost(t.lastOffset)}  ${t.joined ? "joined" : "—"}${t.description ? `  ${quoted(t.description, MAX_DESCRIPTION_LEN)}` : ""}`).join("\n") || "No topics.");
  });
}

export async function join(args: CommonArgs & { name: string }): Promise<void> {
  await command(args, async (ctx) => {
    const topic = name(args.name);
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const r = await onTopic(ctx, mesh, client, topic, client.request("topic_join", { topic }));
    ctx.out.result(r, () => (r.joined ? `Joined #${r.topic}.` : `Already in #${r.topic}.`));
  });
}

export async function leave(args: CommonArgs & { name: string }): Promise<void> {
  await command(args, async (ctx) => {
    const topic = name(args.name);
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const r = await onTopic(ctx, mesh, client, topic, client.request("topic_leave", { topic }));
    ctx.out.result(r, () => (r.left ? `Left #${r.topic}.` : `You were not in #${r.topic}.`));
  });
}

/** The offset after which the latest `limit` retained posts start (protocol §4.3.15 reads forward
 *  only): a one-post read gives the last offset and where the retained run begins. */
async function latestStart(client: BrokerClient, topic: string, limit: number): Promise<number> {
  const probe = await client.request("topic_history", { topic, afterOffset: 0, limit: 1 });
  return Math.max(probe.lastOffset - limit, probe.earliestOffset - 1, 0);
}

export async function history(args: CommonArgs & { name: string; after?: string; limit?: string }): Promise<void> {
  await command(args, async (ctx) => {
    const limit = args.limit === undefined ? 50 : wholeNumber(args.limit);
    if (limit === null || limit < 1 || limit > MAX_PAGE) throw new UsageError(`--limit must be 1–${MAX_PAGE}.`);
    const after = args.after === undefined ? null : wholeNumber(args.after);
    if (after === null && args.after !== undefined) throw new UsageError("--after must be a topic offset (0 or more, in decimal digits).");
    const topic = name(args.name);
    const mesh = ctx.mesh();
    const client = await ctx.connect(mesh);
    const afterOffset = after ?? (await onTopic(ctx, mesh, client, topic, latestStart(client, topic, limit)));
    // Page after page (a page holds at most about 1 MiB of ciphertext, §4.3.15) up to `limit` posts.
    const r = await onTopic(ctx, mesh, client, topic, readHistory(client, topic, afterOffset, limit));
    if (after !== null && after >= r.lastOffset) {
      // Past the last post, the broker says historyLost (protocol §4.3.15): a reader that did see
      // #after here was served by a broker since restored from an older backup, which will number
      // new posts from lastOffset + 1 again. Said, for a reader resuming from an offset it kept.
      const restored = r.historyLost ? `\nIf you read #${after} of this topic before, the broker has lost its later history (restored from an older backup) and numbers new posts from #${r.lastOffset + 1} again: resume with --after ${r.lastOffset}.` : "";
      const empty = r.lastOffset === 0 ? `#${r.topic} is empty.` : `Nothing after #${after}: the last post of #${r.topic} is #${r.lastOffset}.`;
      ctx.out.result({ ...r, messages: [] }, () => empty + restored);
      return;
    }
    if (r.historyLost) {
      ctx.out.result(r, () => `History before offset ${r.earliestOffset} is no longer kept; run again with --after ${r.earliestOffset - 1}.`);
      return;
    }
    // History is shown, not consumed: a fresh replay memory so messages seen before still show.
    const session = sessionFor(ctx, mesh);
    const shown = r.messages.map((m) => session.openForDisplay(m));
    // A key rotated while a member was away waits in its mailbox as a message from the owner; an
    // owner missing one can only rotate again (key-gap.ts).
    const held = session.currentKey()?.epoch ?? 0;
    const unreadable = shown.some((m) => !m.ok && m.reason === "unknown_epoch");
    // A member whose own grant drops the owner's DMs waits for keys that cannot come (owner-keys.ts).
    const blocked = unreadable && mesh.role !== "owner" ? await ownerDmNote(client, mesh.ownerPubkey, meshOption(ctx.config(), mesh)) : "";
    const keyHint = unreadable ? `\n${blocked || unreadableHint(mesh.role === "owner", held, client.ack?.mesh.keyEpoch ?? 0)}` : "";
    // Each post names the mesh in its header when the user is in several (a body cannot reach it).
    const inLines = meshInLines(ctx.config(), mesh);
    ctx.out.result(
      { ...r, messages: shown },
      () => (shown.map((m) => (m.ok ? `#${m.message.topicOffset} ${formatMessage(m.message, { mesh: inLines })}` : `#? (cannot read: ${m.reason})`)).join("\n") || `#${r.topic} is empty.`) + keyHint,
      { meshInText: shown.length > 0 && shown.every((m) => m.ok) },
    );
  });
}

export async function post(args: CommonArgs & { name: string; message: string; priority?: string }): Promise<void> {
  const topic = name(args.name); // refused before the command runs: reported by lazy.ts
  await sendText({ ...args, to: `#${topic}` }, `git diff | claudemesh topic post ${topic} -`, "flag");
}
