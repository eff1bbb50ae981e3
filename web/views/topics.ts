// Topics with their activity, as metadata: the broker cannot read posts, and neither can this page.
import { ago, h, patch, peerText, table, when } from "../lib/dom.ts";
import { get } from "../lib/api.ts";
import type { TopicView } from "../lib/types.ts";
import type { View } from "./view.ts";

export const topics: View = {
  id: "topics",
  title: "Topics",
  visible: (s) => s.me !== null,
  refreshOn: ["topic_created"],
  async render(root) {
    const v = await get<TopicView>("/v1/dashboard/topics");
    patch(
      root,
      h("h2", { text: "Topics" }),
      h("p", { class: "muted", text: "Posts are end-to-end encrypted; the broker (and this list) knows only member counts, post numbers and times." }),
      table(
        "Topics",
        ["topic", "description", "members", "last post", "last activity", "created"],
        // `messages` is the topic's last offset, trimmed posts included: the number of its last
        // post (as `topic history` numbers them), not how many are kept.
        v.topics.map((t) => [h("strong", { text: `#${t.name}` }), (t.description ? peerText(t.description) : "—"), t.members, t.messages > 0 ? `#${t.messages}` : "none", ago(t.lastActivityAt), when(t.createdAt)]),
        "No topics.",
      ),
    );
  },
};
