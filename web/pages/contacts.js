// The employer's contact requests; an accepted one shows the returnee's name and phone, and leads to a hire.
import { gql } from "../api.js";
import { append, data, h, pair } from "../dom.js";
import { formatMoment } from "../i18n.js";
import { hireForm, hiredNote } from "../hire-form.js";
import { pagedList, statusFilter } from "../list.js";
import { PROFILE_FIELDS, profileFacts, reference } from "../profile.js";
import { badge, busy, button, heading } from "../ui.js";

const STATUSES = ["PENDING", "ACCEPTED", "DECLINED", "EXPIRED"];
const REQUESTS = `query ($filter: ContactRequestFilter, $after: String) {
  contactRequests(filter: $filter, first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { id status message createdAt expiresAt respondedAt
      vacancy { id title status contractType wageMinUsd } profile { ${PROFILE_FIELDS} } } } } }`;
const CONTACT = `query ($id: ID!) { node(id: $id) { ... on ContactRequest { contact { name phone } } } }`;

function revealContact(request, holder) {
  return async (event) => {
    const show = event.currentTarget;
    await busy(show, async () => {
      const contact = (await gql(CONTACT, { id: request.id })).node?.contact;
      holder.replaceChildren(contact
        ? h("dl", { class: "facts" },
          pair("contact.name", data(contact.name)),
          pair("contact.phone", h("a", { href: `tel:${contact.phone}`, "data-value": "" }, contact.phone)))
        : h("p", { class: "note note-info", i18n: "contact.notShared" }));
      show.remove();
      holder.querySelector("a")?.focus();
    });
  };
}

function card(request) {
  const contactHolder = h("div");
  const panel = h("div");
  const canHire = request.status === "ACCEPTED" && request.vacancy.status === "OPEN";
  const actions = h("div", { class: "actions" },
    request.status === "ACCEPTED" ? button("contact.show", revealContact(request, contactHolder), "primary") : null,
    canHire ? button("hire.record", () => {
      panel.replaceChildren(hireForm(request.vacancy, request.profile.id, () => {
        actions.remove();
        panel.replaceChildren(hiredNote());
      }));
      panel.querySelector("input")?.focus();
    }) : null);
  return h("article", { class: "card" },
    h("div", { class: "card-head" },
      h("h2", {}, data(request.vacancy.title), " · ", data(reference(request.profile.id))),
      badge("contactStatus", request.status)),
    h("dl", { class: "facts" },
      pair("contact.requestedAt", data(formatMoment(request.createdAt))),
      request.respondedAt
        ? pair("contact.respondedAt", data(formatMoment(request.respondedAt)))
        : pair("contact.expiresAt", data(formatMoment(request.expiresAt))),
      request.message ? pair("contact.message", data(request.message)) : null),
    h("details", {}, h("summary", { i18n: "contact.aboutCandidate" }), profileFacts(request.profile)),
    contactHolder, actions, panel);
}

export async function render(main) {
  const filter = {};
  const list = pagedList({
    fetchPage: async (after) => (await gql(REQUESTS, { filter, after })).contactRequests,
    drawItem: card,
    emptyKey: "contact.none",
  });
  const statuses = statusFilter("contact-filter", "contact.status", "contactStatus", STATUSES, (chosen, first) => {
    filter.statuses = chosen;
    return first || list.reload();
  });
  append(main, heading("contact.listTitle"), h("p", { class: "lead", i18n: "contact.intro" }), statuses, list.element);
  await list.reload();
}
