// A vacancy's matching candidates, best first, as anonymised cards with the reasons of their score.
import { gql } from "../api.js";
import { append, data, h } from "../dom.js";
import { checkbox, field, form, restoreDraft, submitButton, values } from "../forms.js";
import { formatNumber, formatWage, label, t } from "../i18n.js";
import { hireForm, hiredNote } from "../hire-form.js";
import { AGE_BANDS } from "../enums.js";
import { pagedList } from "../list.js";
import { PROFILE_FIELDS, profileFacts, reference } from "../profile.js";
import { announce, button, heading, idempotencyKey, load } from "../ui.js";

const VACANCY = `query ($id: ID!) { node(id: $id) { ... on Vacancy {
  id title status province contractType wageMinUsd wageMaxUsd positions positionsFilled } } }`;
const CANDIDATES = `query ($id: ID!, $after: String) { node(id: $id) { ... on Vacancy {
  matchingProfiles(first: 30, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { score matchReasons { factor points maxPoints } node { ${PROFILE_FIELDS} } } } } } }`;
const REQUEST = `mutation ($input: RequestContactInput!) {
  requestContact(input: $input) { contactRequest { id status } userErrors { code field message } } }`;

function contactForm(vacancy, profile, done) {
  const key = idempotencyKey();
  const el = form(`contact-${profile.id}`, async (v) => {
    const input = { vacancyId: vacancy.id, profileId: profile.id, message: v.message || null, idempotencyKey: key };
    const result = (await gql(REQUEST, { input })).requestContact;
    if (result.userErrors.length) return result.userErrors;
    announce("contact.requested");
    done();
    return [];
  },
    field("message", "contact.message", { type: "textarea", hint: "contact.messageHint", attrs: { maxlength: 2000 } }),
    h("div", { class: "actions" }, submitButton("contact.send")),
  );
  el.classList.add("inline");
  restoreDraft(el);
  return el;
}

function card(vacancy, profile, edge) {
  const el = h("article", {
    class: "card candidate", "aria-labelledby": `c-${profile.id}`,
    "data-score": edge.score, "data-sex": profile.sex ?? "", "data-age": profile.ageBand ?? "",
    "data-local": String(profile.province === vacancy.province),
    "data-abroad": String(profile.experience.some((e) => e.abroad)),
  });
  const panel = h("div");
  const open = (make) => (event) => {
    const opening = event.currentTarget.getAttribute("aria-expanded") !== "true";
    for (const b of el.querySelectorAll("[aria-expanded]")) b.setAttribute("aria-expanded", "false");
    panel.replaceChildren(opening ? make() : "");
    event.currentTarget.setAttribute("aria-expanded", String(opening));
    if (opening) panel.querySelector("input, textarea, select")?.focus();
  };
  const actions = h("div", { class: "actions" },
    button("contact.request", open(() => contactForm(vacancy, profile, () => panel.replaceChildren(h("p", { class: "note note-success", i18n: "contact.requestedNote" })))), "primary"),
    button("hire.record", open(() => hireForm(vacancy, profile.id, () => {
      actions.remove();
      panel.replaceChildren(hiredNote());
    }))));
  for (const b of actions.children) b.setAttribute("aria-expanded", "false");
  append(el,
    h("div", { class: "card-head" },
      h("h2", { id: `c-${profile.id}` }, h("span", { i18n: "candidate.title" }), " ", data(reference(profile.id))),
      h("p", { class: "score" }, h("span", { class: "visually-hidden", i18n: "candidate.score" }), data(`${edge.score}/100`))),
    h("ul", { class: "reasons", "aria-label": t("candidate.reasons") }, edge.matchReasons.map((r) =>
      h("li", {}, h("span", { i18n: `matchFactor.${r.factor}` }), " ", data(r.maxPoints ? `${r.points}/${r.maxPoints}` : `${r.points}`)))),
    profileFacts(profile),
    actions,
    panel,
  );
  return el;
}

function filters(onChange) {
  const el = form("candidate-filter", async () => onChange(el),
    h("div", { class: "row" },
      field("minScore", "candidate.minScore", { type: "select", choices: [0, 25, 50, 75].map((n) => [String(n), n ? t("candidate.atLeast", { points: n }) : t("common.all")]) }),
      field("sex", "profile.sex", { type: "select", choices: [["", t("common.all")], ["FEMALE", label("sex", "FEMALE")], ["MALE", label("sex", "MALE")]] }),
      field("ageBand", "profile.ageBand", { type: "select", choices: [["", t("common.all")], ...AGE_BANDS.map((a) => [a, label("ageBand", a)])] })),
    checkbox("local", "candidate.onlyLocal"),
    checkbox("abroad", "candidate.onlyAbroad"),
  );
  el.setAttribute("role", "search");
  el.setAttribute("aria-label", t("candidate.filter"));
  el.addEventListener("change", () => onChange(el));
  restoreDraft(el);
  return el;
}

function applyFilters(filterForm, items, counter) {
  const f = values(filterForm);
  const cards = [...items.querySelectorAll(".candidate")];
  let shown = 0;
  for (const c of cards) {
    const d = c.dataset;
    const fits = Number(d.score) >= Number(f.minScore || 0) && (!f.sex || d.sex === f.sex) && (!f.ageBand || d.age === f.ageBand)
      && (!f.local || d.local === "true") && (!f.abroad || d.abroad === "true");
    c.hidden = !fits;
    shown += fits ? 1 : 0;
  }
  const params = { shown: formatNumber(shown), loaded: formatNumber(cards.length), total: formatNumber(Number(counter.dataset.total)) };
  counter.replaceChildren(cards.length ? h("span", { i18n: "candidate.shown", params }) : "");
}

export async function render(main, { params }) {
  const head = h("div");
  append(main, heading("candidate.pageTitle"), head);
  await load(head, async () => (await gql(VACANCY, { id: params.id })).node, (vacancy) => {
    if (!vacancy) return append(head, h("p", { class: "note note-error", i18n: "vacancy.notFound" }));
    const counter = h("p", { class: "count", role: "status" });
    let items = null;
    const filterForm = filters(() => items && applyFilters(filterForm, items, counter));
    const list = pagedList({
      fetchPage: async (after) => (await gql(CANDIDATES, { id: vacancy.id, after })).node.matchingProfiles,
      drawItem: (profile, edge) => card(vacancy, profile, edge),
      emptyKey: "candidate.none",
      className: "list list-wide",
      counted: false,
      onDraw: (drawn, total) => {
        items = drawn;
        counter.dataset.total = total;
        applyFilters(filterForm, items, counter);
      },
    });
    append(head,
      h("p", { class: "lead" }, data(vacancy.title), " · ", label("province", vacancy.province), " · ", data(formatWage(vacancy)), " · ",
        h("span", { i18n: "vacancy.filledOf", params: { filled: vacancy.positionsFilled, positions: vacancy.positions } })),
      vacancy.status === "OPEN" ? null : h("p", { class: "note note-info", i18n: "candidate.notOpen" }),
      h("details", {}, h("summary", { i18n: "candidate.filter" }), filterForm),
      counter,
      list.element,
    );
    list.reload();
  });
}
