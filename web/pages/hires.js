// The ministry auditor's view of every hire: filters, the CSV export of the same selection, and voiding a hire.
import { gql } from "../api.js";
import { append, h } from "../dom.js";
import { field, form, restoreDraft, submitButton, values } from "../forms.js";
import { label, t } from "../i18n.js";
import { HIRE_FIELDS, hireCard } from "../hire-card.js";
import { HIRE_STATUSES, PROVINCES, SECTORS } from "../enums.js";
import { pagedList } from "../list.js";
import { announce, button, heading } from "../ui.js";

const HIRES = `query ($filter: HireFilter, $after: String) {
  hires(filter: $filter, first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${HIRE_FIELDS} } } } }`;
const VOID = `mutation ($input: VoidHireInput!) { voidHire(input: $input) { hire { ${HIRE_FIELDS} } userErrors { code field message } } }`;
const PHNOM_PENH_OFFSET = "+07:00";

function dayAfter(day) {
  return new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/** The chosen filters as the API's HireFilter, and as the export's query string; "to" includes its whole day. */
function selection(v) {
  const one = (value) => (value ? [value] : null);
  const until = v.to ? dayAfter(v.to) : null;
  const filter = {
    statuses: one(v.status), provinces: one(v.province), sectors: one(v.sector),
    recordedFrom: v.from ? `${v.from}T00:00:00${PHNOM_PENH_OFFSET}` : null,
    recordedTo: until ? `${until}T00:00:00${PHNOM_PENH_OFFSET}` : null,
  };
  const query = new URLSearchParams(Object.entries({ statuses: v.status, provinces: v.province, sectors: v.sector, recordedFrom: v.from, recordedTo: until })
    .filter(([, value]) => value));
  return { filter, csv: `/exports/hires.csv${query.size ? `?${query}` : ""}` };
}

function voidForm(hire, replace) {
  const el = form(`void-${hire.id}`, async (v) => {
    const result = (await gql(VOID, { input: { id: hire.id, reason: v.reason } })).voidHire;
    if (result.userErrors.length) return result.userErrors;
    announce("hire.voidedNote");
    replace(result.hire);
    return [];
  },
    field("reason", "hire.voidReason", { type: "textarea", required: true, hint: "hire.voidHint", attrs: { maxlength: 1000 } }),
    h("div", { class: "actions" }, submitButton("hire.void", "", "danger")));
  el.classList.add("inline");
  restoreDraft(el);
  return el;
}

function actions(hire, replace) {
  if (hire.status === "VOIDED") return null;
  const panel = h("div");
  return h("div", {}, h("div", { class: "actions" }, button("hire.voidOpen", (event) => {
    event.currentTarget.setAttribute("aria-expanded", "true");
    panel.replaceChildren(voidForm(hire, replace));
    panel.querySelector("textarea").focus();
  }, "danger")), panel);
}

export async function render(main) {
  let current = selection({});
  const list = pagedList({
    fetchPage: async (after) => (await gql(HIRES, { filter: current.filter, after })).hires,
    drawItem: (hire) => hireCard(hire, actions),
    emptyKey: "hire.none",
  });
  const download = h("a", { class: "button button-secondary", download: "hires.csv", i18n: "hire.downloadCsv" });
  const all = ["", t("common.all")];
  const filters = form("audit-hire-filter", async (v) => {
    current = selection(v);
    download.href = current.csv;
    await list.reload();
  },
    h("div", { class: "row" },
      field("status", "hire.status", { type: "select", choices: [all, ...HIRE_STATUSES.map((s) => [s, label("hireStatus", s)])] }),
      field("province", "vacancy.province", { type: "select", choices: [all, ...PROVINCES.map((p) => [p, label("province", p)])] }),
      field("sector", "hire.sector", { type: "select", choices: [all, ...SECTORS.map((s) => [s, label("sector", s)])] })),
    h("div", { class: "row" },
      field("from", "hire.recordedFrom", { type: "date" }),
      field("to", "hire.recordedTo", { type: "date" })),
    h("div", { class: "actions" }, submitButton("common.applyFilters"), download));
  filters.setAttribute("role", "search");
  filters.setAttribute("aria-label", t("hire.filters"));
  restoreDraft(filters);
  current = selection(values(filters));
  download.href = current.csv;
  append(main, heading("hire.auditTitle"), filters, list.element);
  await list.reload();
}
