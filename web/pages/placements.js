// The employer's placements: how many by month, and every hire, with ending an active one.
import { gql } from "../api.js";
import { append, h } from "../dom.js";
import { barChart } from "../chart.js";
import { field, form, restoreDraft, submitButton } from "../forms.js";
import { formatNumber, formatPeriod, t, todayInCambodia } from "../i18n.js";
import { HIRE_FIELDS, hireCard } from "../hire-card.js";
import { HIRE_STATUSES } from "../enums.js";
import { pagedList, statusFilter } from "../list.js";
import { announce, button, heading, load } from "../ui.js";

const STATISTICS = "{ placementStatistics(groupBy: [MONTH]) { total rows { month count } } }";
const HIRES = `query ($filter: HireFilter, $after: String) {
  hires(filter: $filter, first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${HIRE_FIELDS} } } } }`;
const END = `mutation ($input: EndHireInput!) { endHire(input: $input) { hire { ${HIRE_FIELDS} } userErrors { code field message } } }`;

function endForm(hire, replace) {
  const el = form(`end-${hire.id}`, async (v) => {
    const result = (await gql(END, { input: { id: hire.id, endedOn: v.endedOn, reason: v.reason || null } })).endHire;
    if (result.userErrors.length) return result.userErrors;
    announce("hire.ended");
    replace(result.hire);
    return [];
  },
    h("div", { class: "row" },
      field("endedOn", "hire.endedOn", { type: "date", required: true, value: todayInCambodia() }),
      field("reason", "hire.endReason", { attrs: { maxlength: 500 } })),
    h("div", { class: "actions" }, submitButton("hire.end", "", "danger")),
  );
  el.classList.add("inline");
  restoreDraft(el);
  return el;
}

function actions(hire, replace) {
  if (hire.status !== "ACTIVE") return null;
  const panel = h("div");
  return h("div", {}, h("div", { class: "actions" }, button("hire.endOpen", (event) => {
    event.currentTarget.setAttribute("aria-expanded", "true");
    panel.replaceChildren(endForm(hire, replace));
    panel.querySelector("input").focus();
  })), panel);
}

function statistics(holder) {
  return load(holder, () => gql(STATISTICS), ({ placementStatistics: stats }) => {
    const rows = stats.rows.filter((r) => r.month).map((r) => ({ label: formatPeriod(r.month), count: r.count }));
    append(holder,
      h("p", { class: "total" }, h("span", { i18n: "placement.yourTotal" }), h("strong", { "data-value": "" }, formatNumber(stats.total))),
      rows.length ? barChart(rows, t("placement.byMonth")) : null,
    );
  });
}

export async function render(main) {
  const filter = {};
  const list = pagedList({
    fetchPage: async (after) => (await gql(HIRES, { filter, after })).hires,
    drawItem: (hire) => hireCard(hire, actions),
    emptyKey: "hire.none",
  });
  const stats = h("div");
  const statuses = statusFilter("hire-filter", "hire.status", "hireStatus", HIRE_STATUSES, (chosen, first) => {
    filter.statuses = chosen;
    return first || list.reload();
  });
  append(main, heading("placement.title"), h("h2", { i18n: "placement.byMonth" }), stats,
    h("h2", { i18n: "hire.listTitle" }), statuses, list.element);
  await Promise.all([statistics(stats), list.reload()]);
}
