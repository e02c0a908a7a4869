// Placement statistics by province, sector or month: a chart, a table, and the running national total.
import { gql } from "../api.js";
import { append, data, h } from "../dom.js";
import { barChart } from "../chart.js";
import { choices, field, form, restoreDraft, submitButton, values } from "../forms.js";
import { formatNumber, formatPeriod, label, t } from "../i18n.js";
import { SECTORS } from "../enums.js";
import { heading, load } from "../ui.js";

// Placements the ministry reported before Karngar existed; the national running total starts from them.
export const REPORTED_BEFORE_KARNGAR = 300_000;
const STATISTICS = `query ($groupBy: [PlacementDimension!]!, $filter: PlacementFilter) {
  selected: placementStatistics(groupBy: $groupBy, filter: $filter) { total rows { province sector month count } }
  all: placementStatistics(groupBy: []) { total } }`;
const DIMENSIONS = { PROVINCE: "province", SECTOR: "sector", MONTH: "month" };

function rowLabel(dimension, row) {
  const value = row[DIMENSIONS[dimension]];
  return dimension === "MONTH" ? formatPeriod(value) : label(dimension.toLowerCase(), value);
}

function ordered(dimension, rows) {
  const sorted = [...rows];
  if (dimension === "MONTH") sorted.sort((a, b) => a.month.localeCompare(b.month));
  else sorted.sort((a, b) => b.count - a.count);
  return sorted;
}

function total(key, value, grand = false) {
  return h("p", { class: `total${grand ? " total-grand" : ""}` }, h("span", { i18n: key }), h("strong", { "data-value": "" }, formatNumber(value)));
}

function draw(holder, dimension, { selected, all }) {
  const rows = ordered(dimension, selected.rows.filter((r) => r[DIMENSIONS[dimension]] !== null));
  const caption = t(`statistics.by.${dimension}`);
  append(holder,
    h("div", { class: "totals" },
      total("statistics.inKarngar", all.total),
      total("statistics.before", REPORTED_BEFORE_KARNGAR),
      total("statistics.running", REPORTED_BEFORE_KARNGAR + all.total, true)),
    h("h2", {}, caption),
    total("statistics.selected", selected.total),
    rows.length ? barChart(rows.map((r) => ({ label: rowLabel(dimension, r), count: r.count })), caption) : h("p", { class: "note note-empty", i18n: "statistics.none" }),
    rows.length ? h("div", { class: "table-wrap" }, h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", i18n: `statistics.dimension.${dimension}` }),
        h("th", { scope: "col", class: "number", i18n: "statistics.placements" }),
        h("th", { scope: "col", class: "number", i18n: "statistics.share" }))),
      h("tbody", {}, rows.map((r) => h("tr", {},
        h("th", { scope: "row" }, rowLabel(dimension, r)),
        h("td", { class: "number" }, data(formatNumber(r.count))),
        h("td", { class: "number" }, data(`${formatNumber(Math.round((1000 * r.count) / Math.max(1, selected.total)) / 10)} %`))))))) : null,
  );
}

export async function render(main) {
  const output = h("div");
  const refresh = (v) => {
    const dimension = v.groupBy || "PROVINCE";
    const filter = { sectors: v.sector ? [v.sector] : null, from: v.from || null, to: v.to || null };
    return load(output, () => gql(STATISTICS, { groupBy: [dimension], filter }), (result) => draw(output, dimension, result));
  };
  const controls = form("statistics", refresh,
    choices("groupBy", "statistics.groupBy", Object.keys(DIMENSIONS).map((d) => [d, t(`statistics.dimension.${d}`)]), { type: "radio", checked: ["PROVINCE"], className: "inline-choices" }),
    h("div", { class: "row" },
      field("sector", "statistics.sector", { type: "select", choices: [["", t("common.all")], ...SECTORS.map((s) => [s, label("sector", s)])] }),
      field("from", "statistics.from", { type: "date" }),
      field("to", "statistics.to", { type: "date" })),
    h("div", { class: "actions" }, submitButton("common.applyFilters")));
  controls.addEventListener("change", (event) => event.target.name === "groupBy" && controls.requestSubmit());
  restoreDraft(controls);
  append(main, heading("statistics.title"), controls, output);
  await refresh(values(controls));
}
