// One hire as a card: vacancy, employer, candidate, dates, wage, NSSF, and who recorded, ended or voided it.
import { append, data, h, pair } from "./dom.js";
import { formatDate, formatMoment, formatMoney, label } from "./i18n.js";
import { reference } from "./profile.js";
import { badge } from "./ui.js";

export const HIRE_FIELDS = `id status startDate contractType monthlyWageUsd nssfNumber recordedAt recordedBy
  endedOn endReason voidedAt voidedBy voidReason vacancy { id title province sector } employer { id name } profile { id }`;

/** The card; actions(hire, replace) adds the buttons the reader may use, replace(newHire) redraws it. */
export function hireCard(hire, actions = () => null) {
  const el = h("article", { class: "card", "aria-labelledby": `h-${hire.id}` });
  const replace = (changed) => el.replaceWith(hireCard(changed, actions));
  append(el,
    h("div", { class: "card-head" },
      h("h2", { id: `h-${hire.id}` }, data(hire.vacancy.title), " · ", data(reference(hire.profile.id))),
      badge("hireStatus", hire.status)),
    h("dl", { class: "facts" },
      pair("hire.employer", data(hire.employer.name)),
      pair("vacancy.province", label("province", hire.vacancy.province)),
      pair("hire.startDate", data(formatDate(hire.startDate))),
      pair("hire.contractType", label("contractType", hire.contractType)),
      pair("hire.wage", data(formatMoney(hire.monthlyWageUsd))),
      pair("hire.nssfNumber", hire.nssfNumber ? data(hire.nssfNumber) : h("span", { i18n: "hire.nssfPending" })),
      pair("hire.recordedAt", data(`${formatMoment(hire.recordedAt)} · ${hire.recordedBy}`)),
      hire.endedOn ? pair("hire.endedOn", data(formatDate(hire.endedOn))) : null,
      hire.endReason ? pair("hire.endReason", data(hire.endReason)) : null,
      hire.voidedAt ? pair("hire.voidedAt", data(`${formatMoment(hire.voidedAt)} · ${hire.voidedBy}`)) : null,
      hire.voidReason ? pair("hire.voidReason", data(hire.voidReason)) : null),
    actions(hire, replace),
  );
  return el;
}
