// Topics (named, persistent, offset-addressed history) and groups (routing labels).
import { MeshError } from "../../protocol/errors.ts";
import type { ClientFrameOf } from "../../protocol/frames.ts";
import type { Results, TopicInfo } from "../../protocol/results.ts";
import { TOPIC_PAGE_BYTES } from "../../protocol/limits.ts";
import type { Topic } from "../../store/types.ts";
import type { BrokerContext } from "../context.ts";
import type { Conn } from "../conn.ts";
import { toPush } from "../delivery.ts";

async function topicOrThrow(ctx: BrokerContext, meshId: string, name: string): Promise<Topic> {
  const t = await ctx.store.getTopic(meshId, name);
  if (!t) throw new MeshError("not_found", `No topic #${name} in this mesh.`);
  return t;
}

export async function handleTopicCreate(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"topic_create">): Promise<Results["topic_create"]> {
  const id = conn.identity!;
  const t = await ctx.store.createTopic(id.meshId, f.name, f.description ?? "", id.memberId);
  ctx.hub.emit(id.meshId, "topic_created", { topic: t.name, description: t.description, createdBy: id.memberId });
  return { topic: { name: t.name, description: t.description, createdAt: t.createdAt, members: 1, lastOffset: t.lastOffset, joined: true } };
}

export async function handleTopicList(ctx: BrokerContext, conn: Conn): Promise<Results["topic_list"]> {
  const id = conn.identity!;
  const [topics, mine] = await Promise.all([ctx.store.listTopics(id.meshId), ctx.store.memberTopics(id.meshId, id.memberId)]);
  await ctx.store.flushed(); // a lastOffset may be a post committed, not yet flushed (router.ts)
  const joined = new Set(mine);
  const list: TopicInfo[] = topics.map((t) => ({ name: t.name, description: t.description, createdAt: t.createdAt, members: t.members, lastOffset: t.lastOffset, joined: joined.has(t.id) }));
  return { topics: list };
}

export async function handleTopicJoin(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"topic_join">): Promise<Results["topic_join"]> {
  const t = await topicOrThrow(ctx, conn.identity!.meshId, f.topic);
  return { topic: t.name, joined: await ctx.store.joinTopic(t.id, conn.identity!.memberId) };
}

export async function handleTopicLeave(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"topic_leave">): Promise<Results["topic_leave"]> {
  const t = await topicOrThrow(ctx, conn.identity!.meshId, f.topic);
  return { topic: t.name, left: await ctx.store.leaveTopic(t.id, conn.identity!.memberId) };
}

export async function handleTopicMembers(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"topic_members">): Promise<Results["topic_members"]> {
  const t = await topicOrThrow(ctx, conn.identity!.meshId, f.topic);
  return { topic: t.name, members: await ctx.store.topicMembers(t.id) };
}

/** Everything after `afterOffset`, or an explicit history_lost answer when the gap is no longer
 *  retained. Only topic members may read history. */
export async function handleTopicHistory(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"topic_history">): Promise<Results["topic_history"]> {
  const id = conn.identity!;
  const t = await topicOrThrow(ctx, id.meshId, f.topic);
  // One row, not the topic's member list: every page of a resume asks (#general of 2,000 members:
  // 3.9 ms a page for the list, 0.15 ms for the page itself).
  if ((await ctx.store.topicMembers(t.id, id.memberId)).length === 0) throw new MeshError("forbidden", `Join #${t.name} to read its history.`);
  const after = f.afterOffset ?? 0;
  // At most TOPIC_PAGE_BYTES of ciphertext a page (protocol §4.3.15): 500 posts of 60 KiB were one
  // answer of ~30 MB, which a connection that reads nothing made the broker hold, socket after socket.
  const page = await ctx.store.topicHistory(t.id, after, f.limit ?? 100, TOPIC_PAGE_BYTES);
  await ctx.store.flushed(); // the newest post may be committed, not yet flushed (router.ts)
  // Offsets between the reader's and the retained run are gone; or the reader is ahead of the
  // topic (the broker was restored from an older backup), so the offsets it has seen will be
  // reused by new posts: either way it must start again from what is retained.
  if ((after + 1 < page.earliestOffset && after < page.lastOffset) || after > page.lastOffset) {
    return { topic: t.name, messages: [], lastOffset: page.lastOffset, earliestOffset: page.earliestOffset, historyLost: true };
  }
  return { topic: t.name, messages: page.messages.map(toPush), lastOffset: page.lastOffset, earliestOffset: page.earliestOffset, historyLost: false };
}

export async function handleGroupJoin(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"group_join">): Promise<Results["group_join"]> {
  await ctx.store.joinGroup(conn.identity!.meshId, f.group, conn.identity!.memberId);
  return { group: f.group };
}

export async function handleGroupLeave(ctx: BrokerContext, conn: Conn, f: ClientFrameOf<"group_leave">): Promise<Results["group_leave"]> {
  await ctx.store.leaveGroup(conn.identity!.meshId, f.group, conn.identity!.memberId);
  return { group: f.group };
}
