// A QR code as SVG nodes (built cell by cell: no markup strings, nothing for the CSP to refuse).
import qrcode from "qrcode-generator";
import { svg } from "./dom.ts";

/** An SVG QR code of `text` (error correction M, 4-module quiet zone), `sizePx` wide. */
export function qrSvg(text: string, sizePx = 220): SVGElement {
  const qr = qrcode(0, "M");
  qr.addData(text, "Byte");
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4;
  const dim = n + quiet * 2;
  let d = "";
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) if (qr.isDark(r, c)) d += `M${c + quiet} ${r + quiet}h1v1h-1z`;
  return svg(
    "svg",
    { viewBox: `0 0 ${dim} ${dim}`, width: sizePx, height: sizePx, "shape-rendering": "crispEdges", role: "img", "aria-label": "QR code of the invite link", "data-testid": "invite-qr" },
    svg("rect", { width: dim, height: dim, fill: "#fff" }),
    svg("path", { d, fill: "#000" }),
  );
}
