// The factory manager's vacancies: positions filled, and publishing, closing, editing and candidates for each.
import { gql } from "../api.js";
import { append, data, h, pair } from "../dom.js";
import { formatDate, formatWage, label, named, t } from "../i18n.js";
import { pagedList, statusFilter } from "../list.js";
import { announce, badge, busy, button, heading, link } from "../ui.js";

const FIELDS = `id title status positions positionsFilled wageMinUsd wageMaxUsd province contractType startDate closingDate
  occupation { name nameKm }`;
const VACANCIES = `query ($filter: VacancyFilter, $after: String) {
  vacancies(filter: $filter, first: 20, after: $after) {
    totalCount edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } } }`;
const CHANGE = (name) => `mutation ($input: VacancyIdInput!) {
  ${name}(input: $input) { vacancy { ${FIELDS} } userErrors { code field message } } }`;
const STATUSES = ["DRAFT", "OPEN", "FILLED", "CLOSED"];

function card(vacancy) {
  const id = encodeURIComponent(vacancy.id);
  const el = h("article", { class: "card", "aria-labelledby": `v-${vacancy.id}` });
  const change = (name, done) => async (event) => {
    if (name === "closeVacancy" && !confirm(t("vacancy.confirmClose"))) return;
    await busy(event.currentTarget, async () => {
      const result = (await gql(CHANGE(name), { input: { id: vacancy.id } }))[name];
      if (result.userErrors.length) return announce("vacancy.changeRefused", {}, "error");
      el.replaceWith(card(result.vacancy));
      announce(done, { title: result.vacancy.title });
    });
  };
  append(el,
    h("div", { class: "card-head" }, h("h2", { id: `v-${vacancy.id}` }, data(vacancy.title)), badge("vacancyStatus", vacancy.status)),
    h("dl", { class: "facts" },
      pair("vacancy.filled", h("span", { i18n: "vacancy.filledOf", params: { filled: vacancy.positionsFilled, positions: vacancy.positions } })),
      pair("vacancy.occupation", named(vacancy.occupation)),
      pair("vacancy.province", label("province", vacancy.province)),
      pair("vacancy.wage", data(formatWage(vacancy))),
      pair("vacancy.contractType", label("contractType", vacancy.contractType)),
      vacancy.startDate ? pair("vacancy.startDate", data(formatDate(vacancy.startDate))) : null,
      vacancy.closingDate ? pair("vacancy.closingDate", data(formatDate(vacancy.closingDate))) : null),
    h("div", { class: "actions" },
      vacancy.status === "OPEN" ? link("vacancy.candidates", `#/vacancies/${id}/candidates`, "primary") : null,
      vacancy.status === "DRAFT" ? button("vacancy.publish", change("publishVacancy", "vacancy.published"), "primary") : null,
      ["DRAFT", "OPEN"].includes(vacancy.status) ? link("vacancy.edit", `#/vacancies/${id}/edit`) : null,
      vacancy.status === "OPEN" ? button("vacancy.close", change("closeVacancy", "vacancy.closed"), "danger") : null),
  );
  return el;
}

export async function render(main, { viewer }) {
  const filter = { employerId: viewer.employer.id };
  const list = pagedList({
    fetchPage: async (after) => (await gql(VACANCIES, { filter, after })).vacancies,
    drawItem: card,
    emptyKey: "vacancy.none",
    className: "list list-wide",
  });
  const statuses = statusFilter("vacancy-filter", "vacancy.status", "vacancyStatus", STATUSES, (chosen, first) => {
    filter.statuses = chosen;
    return first || list.reload();
  });
  append(main,
    heading("vacancy.listTitle"),
    h("div", { class: "actions" }, link("vacancy.new", "#/vacancies/new", "primary")),
    statuses,
    list.element,
  );
  await list.reload();
}
