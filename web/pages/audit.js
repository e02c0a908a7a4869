// The audit trail, newest first, and the check that its hash chain is whole.
import { gql } from "../api.js";
import { append, data, h, pair } from "../dom.js";
import { field, form, restoreDraft, submitButton, values } from "../forms.js";
import { formatMoment, formatNumber, has, t } from "../i18n.js";
import { pagedList } from "../list.js";
import { announce, busy, button, heading } from "../ui.js";

const ENTITIES = ["Vacancy", "ContactRequest", "Hire", "ReturneeProfile", "Employer"];
const EVENTS = `query ($filter: AuditEventFilter, $after: String) {
  auditEvents(filter: $filter, first: 30, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id seq at actor action entityType entityId hash } } } }`;
const VERIFY = "{ verifyAuditLog { ok eventsChecked firstBrokenSeq } }";

function known(prefix, value) {
  return has(`${prefix}.${value}`) ? h("span", { i18n: `${prefix}.${value}` }) : data(value);
}

function eventCard(event) {
  return h("article", { class: "card" },
    h("div", { class: "card-head" }, h("h2", {}, data(`#${event.seq}`), " ", known("auditAction", event.action)), data(formatMoment(event.at), "span", { class: "tags" })),
    h("dl", { class: "facts" },
      pair("audit.actor", data(event.actor)),
      pair("audit.entity", h("span", {}, known("entity", event.entityType), " ", data(event.entityId, "span", { class: "mono" }))),
      pair("audit.hash", data(event.hash.slice(0, 16), "span", { class: "mono" }))));
}

async function verify(event, result) {
  await busy(event.currentTarget, async () => {
    const check = (await gql(VERIFY)).verifyAuditLog;
    const params = { count: formatNumber(check.eventsChecked), seq: check.firstBrokenSeq };
    const key = check.ok ? "audit.intact" : "audit.broken";
    result.replaceChildren(h("p", { class: `note ${check.ok ? "note-success" : "note-error"}`, i18n: key, params }));
    announce(key, params, check.ok ? "success" : "error");
  });
}

export async function render(main) {
  let filter = {};
  const list = pagedList({
    fetchPage: async (after) => (await gql(EVENTS, { filter, after })).auditEvents,
    drawItem: eventCard,
    emptyKey: "audit.none",
  });
  const result = h("div");
  const read = (v) => ({ entityType: v.entityType || null, actor: v.actor || null });
  const filters = form("audit-filter", async (v) => {
    filter = read(v);
    await list.reload();
  },
    h("div", { class: "row" },
      field("entityType", "audit.entity", { type: "select", choices: [["", t("common.all")], ...ENTITIES.map((e) => [e, t(`entity.${e}`)])] }),
      field("actor", "audit.actor", { hint: "audit.actorHint", attrs: { autocomplete: "off", spellcheck: "false" } })),
    h("div", { class: "actions" }, submitButton("common.applyFilters")));
  filters.setAttribute("role", "search");
  restoreDraft(filters);
  filter = read(values(filters));
  append(main,
    heading("audit.title"),
    h("p", { class: "lead", i18n: "audit.intro" }),
    h("div", { class: "actions" }, button("audit.verify", (event) => verify(event, result), "primary")),
    result,
    filters,
    list.element,
  );
  await list.reload();
}
