// A line chart as inline SVG (no chart library, nothing fetched): one series over time, its maximum
// on the y axis and the time span on the x axis.
import { h, svg } from "./dom.ts";

const W = 320;
const H = 140;
const PAD = { left: 34, right: 6, top: 8, bottom: 18 };

const fmt = (n: number) => (n >= 100 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1));

export function lineChart(title: string, points: { t: number; v: number }[], testId: string): HTMLElement {
  const max = Math.max(1, ...points.map((p) => p.v));
  const t0 = points[0]?.t ?? 0;
  const t1 = points.at(-1)?.t ?? 1;
  const x = (t: number) => PAD.left + ((t - t0) / Math.max(1, t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const coords = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
  const base = H - PAD.bottom;
  const spanMin = Math.max(1, Math.round((t1 - t0) / 60_000));
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, "data-testid": testId, "data-points": points.length },
    svg("line", { class: "axis", x1: PAD.left, y1: base, x2: W - PAD.right, y2: base }),
    svg("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: base }),
    text(2, PAD.top + 8, fmt(max)),
    text(2, base, "0"),
    text(PAD.left, H - 4, points.length > 1 ? `${spanMin} min ago` : ""),
    text(W - PAD.right - 18, H - 4, "now"),
  );
  if (points.length > 1) {
    chart.appendChild(svg("polygon", { class: "area", points: `${x(t0)},${base} ${coords.join(" ")} ${x(t1)},${base}` }));
    chart.appendChild(svg("polyline", { class: "line", points: coords.join(" ") }));
  }
  const last = points.at(-1)?.v ?? 0;
  return h("div", { class: "panel chart" }, h("h3", { text: title }), " ", h("span", { class: "muted", text: `now ${fmt(last)}` }), chart);
}

function text(xPos: number, yPos: number, content: string): SVGElement {
  const el = svg("text", { x: xPos, y: yPos });
  el.textContent = content;
  return el;
}
