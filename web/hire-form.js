// Recording a hire of a candidate for a vacancy: start date, contract, wage and NSSF number.
import { gql } from "./api.js";
import { h } from "./dom.js";
import { field, form, restoreDraft, submitButton } from "./forms.js";
import { label, todayInCambodia } from "./i18n.js";
import { CONTRACTS } from "./enums.js";
import { announce, idempotencyKey } from "./ui.js";

const RECORD = `mutation ($input: RecordHireInput!) {
  recordHire(input: $input) { hire { id status startDate } userErrors { code field message } } }`;

/** The form; onHired(hire) runs once the hire is recorded. */
export function hireForm(vacancy, profileId, onHired) {
  const key = idempotencyKey();
  const el = form(`hire-${profileId}`, async (values) => {
    const input = {
      vacancyId: vacancy.id,
      profileId,
      startDate: values.startDate,
      contractType: values.contractType,
      monthlyWageUsd: values.monthlyWageUsd,
      nssfNumber: values.nssfNumber || null,
      idempotencyKey: key,
    };
    const result = (await gql(RECORD, { input })).recordHire;
    if (result.userErrors.length) return result.userErrors;
    announce("hire.recorded");
    onHired(result.hire);
    return [];
  },
    h("div", { class: "row" },
      field("startDate", "hire.startDate", { type: "date", required: true, value: todayInCambodia() }),
      field("contractType", "hire.contractType", { type: "select", required: true, value: vacancy.contractType,
        choices: CONTRACTS.map((c) => [c, label("contractType", c)]) })),
    h("div", { class: "row" },
      field("monthlyWageUsd", "hire.wage", { required: true, check: "money", value: vacancy.wageMinUsd, attrs: { inputmode: "decimal" } }),
      field("nssfNumber", "hire.nssfNumber", { hint: "hire.nssfHint", attrs: { inputmode: "numeric", autocomplete: "off" } })),
    h("div", { class: "actions" }, submitButton("hire.submit")),
  );
  el.classList.add("inline");
  restoreDraft(el);
  return el;
}

/** What replaces the candidate's actions once they are hired. */
export function hiredNote() {
  return h("p", { class: "note note-success" }, h("span", { i18n: "hire.recordedNote" }), " ", h("a", { href: "#/placements", i18n: "hire.seePlacements" }));
}
