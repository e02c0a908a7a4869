// A horizontal bar chart drawn as inline SVG: each label above its bar, so long Khmer names never overlap.
import { h, s } from "./dom.js";
import { formatNumber } from "./i18n.js";

const ROW = 46;

/** rows: [{ label, count }]; the <svg> is an image named by titleText, the table beside it holds the numbers. */
export function barChart(rows, titleText) {
  const most = Math.max(1, ...rows.map((r) => r.count));
  // Unscaled pixels with percentage widths: text keeps its size on a phone, bars keep their proportions.
  const svg = s("svg", { class: "chart", width: "100%", height: rows.length * ROW + 8, role: "img", "aria-label": titleText });
  rows.forEach((row, i) => {
    const y = i * ROW + 4;
    const share = Math.max(0.5, (97 * row.count) / most).toFixed(2);
    svg.append(
      s("text", { x: 8, y: y + 16 }, row.label),
      s("text", { class: "value", x: "98%", y: y + 16, "text-anchor": "end", "data-value": "" }, formatNumber(row.count)),
      s("rect", { class: "bar", x: 8, y: y + 24, width: `${share}%`, height: 16, rx: 3 }),
    );
  });
  return h("figure", { class: "figure" }, svg);
}
