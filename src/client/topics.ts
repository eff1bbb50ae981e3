// Reading a topic's history: the posts after an offset, page by page, or an explicit answer that
// the gap is no longer retained. A page holds at most about 1 MiB of ciphertext (protocol
// §4.3.15), so a page shorter than asked is not the end: a last offset below `lastOffset` is not.
import { MAX_PAGE } from "../protocol/limits.ts";
import type { Results } from "../protocol/results.ts";
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import type { BrokerClient } from "./client.ts";

export type HistoryRead = Results["topic_history"];

/** Up to `limit` posts of `topic` after `afterOffset`, oldest first, read in pages of at most
 *  `pageSize` posts until that many or the topic's last post. `historyLost` only when the first page says so (nothing read);
 *  offsets trimmed away while later pages are read end the read with what it has. Throws what the
 *  requests throw. */
export async function readHistory(client: BrokerClient, topic: string, afterOffset: number, limit = Number.POSITIVE_INFINITY, pageSize = MAX_PAGE): Promise<HistoryRead> {
  const messages: MessagePushFrame[] = [];
  let after = afterOffset;
  for (;;) {
    const page = await client.request("topic_history", { topic, afterOffset: after, limit: Math.min(pageSize, limit - messages.length) });
    if (page.historyLost && messages.length === 0) return page;
    if (!page.historyLost) messages.push(...page.messages);
    const last = page.messages.at(-1)?.topicOffset;
    if (page.historyLost || messages.length >= limit || last === undefined || last >= page.lastOffset) {
      return { topic: page.topic, messages, lastOffset: page.lastOffset, earliestOffset: page.earliestOffset, historyLost: false };
    }
    after = last;
  }
}

export type ResumeResult = { messages: MessagePushFrame[]; lastOffset: number; historyLost: boolean; earliestOffset: number };

/** Topic resume: after a reconnect, every message after the last offset seen, or that the gap is
 *  no longer retained. */
export async function resumeTopic(client: BrokerClient, topic: string, afterOffset: number, pageSize = 200): Promise<ResumeResult> {
  const { messages, lastOffset, historyLost, earliestOffset } = await readHistory(client, topic, afterOffset, Number.POSITIVE_INFINITY, pageSize);
  return { messages, lastOffset, historyLost, earliestOffset };
}
