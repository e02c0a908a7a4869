// A provincial officer answers employers' contact requests for returnees of their province.
import { gql } from "../api.js";
import { append, data, h, pair } from "../dom.js";
import { formatMoment, formatWage, label } from "../i18n.js";
import { pagedList, statusFilter } from "../list.js";
import { PROFILE_FIELDS, profileFacts, reference } from "../profile.js";
import { announce, badge, busy, button, heading } from "../ui.js";

const STATUSES = ["PENDING", "ACCEPTED", "DECLINED", "EXPIRED"];
const FIELDS = `id status message createdAt expiresAt respondedAt contact { name phone }
  vacancy { id title province wageMinUsd wageMaxUsd contractType employer { name } } profile { ${PROFILE_FIELDS} }`;
const REQUESTS = `query ($filter: ContactRequestFilter, $after: String) {
  contactRequests(filter: $filter, first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { ${FIELDS} } } } }`;
const RESPOND = `mutation ($input: RespondToContactRequestInput!) {
  respondToContactRequest(input: $input) { contactRequest { ${FIELDS} } userErrors { code field message } } }`;

function card(request) {
  const el = h("article", { class: "card", "aria-labelledby": `r-${request.id}` });
  const answer = (accepted) => async (event) => {
    await busy(event.currentTarget, async () => {
      const result = (await gql(RESPOND, { input: { id: request.id, accepted } })).respondToContactRequest;
      if (result.userErrors.length) return announce("request.refused", {}, "error");
      const updated = card(result.contactRequest);
      el.replaceWith(updated);
      updated.querySelector("h2").focus();
      announce(accepted ? "request.accepted" : "request.declined");
    });
  };
  const v = request.vacancy;
  append(el,
    h("div", { class: "card-head" },
      h("h2", { id: `r-${request.id}`, tabindex: "-1" }, data(v.employer.name), " · ", data(v.title)),
      badge("contactStatus", request.status)),
    h("dl", { class: "facts" },
      pair("request.candidate", data(reference(request.profile.id))),
      request.contact ? pair("contact.name", data(`${request.contact.name} · ${request.contact.phone}`)) : null,
      pair("vacancy.province", label("province", v.province)),
      pair("vacancy.wage", data(formatWage(v))),
      pair("vacancy.contractType", label("contractType", v.contractType)),
      pair("contact.requestedAt", data(formatMoment(request.createdAt))),
      request.status === "PENDING" ? pair("contact.expiresAt", data(formatMoment(request.expiresAt))) : null,
      request.message ? pair("contact.message", data(request.message)) : null),
    h("details", {}, h("summary", { i18n: "contact.aboutCandidate" }), profileFacts(request.profile)),
    request.status === "PENDING"
      ? h("div", { class: "actions" }, button("request.accept", answer(true), "primary"), button("request.decline", answer(false), "danger"))
      : null,
  );
  return el;
}

export async function render(main) {
  const filter = {};
  const list = pagedList({
    fetchPage: async (after) => (await gql(REQUESTS, { filter, after })).contactRequests,
    drawItem: card,
    emptyKey: "request.none",
  });
  const statuses = statusFilter("request-filter", "contact.status", "contactStatus", STATUSES, (chosen, first) => {
    filter.statuses = chosen;
    return first || list.reload();
  }, "PENDING");
  append(main, heading("request.title"), h("p", { class: "lead", i18n: "request.intro" }), statuses, list.element);
  await list.reload();
}
