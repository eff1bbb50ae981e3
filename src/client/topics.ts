// Topic resume: after a reconnect, fetch exactly the messages after the last offset seen, page
// by page, or learn explicitly that the gap is no longer retained.
import type { MessagePushFrame } from "../protocol/server-frames.ts";
import type { BrokerClient } from "./client.ts";

export type ResumeResult = { messages: MessagePushFrame[]; lastOffset: number; historyLost: boolean; earliestOffset: number };

export async function resumeTopic(client: BrokerClient, topic: string, afterOffset: number, pageSize = 200): Promise<ResumeResult> {
  const messages: MessagePushFrame[] = [];
  let after = afterOffset;
  for (;;) {
    const page = await client.request("topic_history", { topic, afterOffset: after, limit: pageSize });
    if (page.historyLost) return { messages, lastOffset: page.lastOffset, historyLost: true, earliestOffset: page.earliestOffset };
    messages.push(...page.messages);
    const last = page.messages.at(-1)?.topicOffset;
    if (page.messages.length < pageSize || last === undefined || last >= page.lastOffset) {
      return { messages, lastOffset: page.lastOffset, historyLost: false, earliestOffset: page.earliestOffset };
    }
    after = last;
  }
}
