// The broker's load over the last hour, sampled every few seconds from the /metrics counters.
import { h, patch } from "../lib/dom.ts";
import { get } from "../lib/api.ts";
import { lineChart } from "../lib/chart.ts";
import type { ChartsView } from "../lib/types.ts";
import type { View } from "./view.ts";

export const charts: View = {
  id: "charts",
  title: "Charts",
  visible: (s) => s.me !== null || s.operator,
  pollMs: 5_000,
  async render(root) {
    const v = await get<ChartsView>("/v1/dashboard/charts");
    const series = (pick: (p: ChartsView["points"][number]) => number) => v.points.map((p) => ({ t: p.t, v: pick(p) }));
    patch(
      root,
      h("h2", { text: "Charts" }),
      h("p", { class: "muted", text: `Broker-wide, one sample every ${v.intervalMs / 1000} s (the same counters as /metrics).` }),
      h(
        "div",
        { class: "charts" },
        lineChart("Connections", series((p) => p.connections), "chart-connections"),
        lineChart("Messages per second", series((p) => p.messagesPerS), "chart-messages"),
        lineChart("Queue depth", series((p) => p.queueDepth), "chart-queue"),
        lineChart("Rejections per second", series((p) => p.rejectionsPerS), "chart-rejections"),
      ),
    );
  },
};
