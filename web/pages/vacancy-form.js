// Creating or editing a vacancy; each user error the API answers with is shown next to its field.
import { gql } from "../api.js";
import { append, h } from "../dom.js";
import { choices, field, form, restoreDraft, submitButton } from "../forms.js";
import { label, named, t } from "../i18n.js";
import { flash, heading, idempotencyKey, link, load } from "../ui.js";
import { CONTRACTS, PROVINCES } from "../enums.js";

const OPTIONS = `query ($sector: Sector) {
  occupations(sector: $sector) { code name nameKm } skills(sector: $sector) { code name nameKm } }`;
const VACANCY = `query ($id: ID!) { node(id: $id) { ... on Vacancy {
  id title status province workplaceAddress description positions contractType wageMinUsd wageMaxUsd hoursPerWeek
  startDate closingDate benefits occupation { code } requiredSkills { code } } } }`;
const PAYLOAD = "vacancy { id title status } userErrors { code field message }";
const CREATE = `mutation ($input: CreateVacancyInput!) { createVacancy(input: $input) { ${PAYLOAD} } }`;
const UPDATE = `mutation ($input: UpdateVacancyInput!) { updateVacancy(input: $input) { ${PAYLOAD} } }`;
const PUBLISH = `mutation ($input: VacancyIdInput!) { publishVacancy(input: $input) { ${PAYLOAD} } }`;
const OPTIONAL_BENEFITS = ["HOUSING", "TRANSPORT", "MEALS"];

function input(values) {
  const number = (text) => (text ? Number(text) : null);
  return {
    title: values.title,
    occupationCode: values.occupationCode,
    province: values.province,
    workplaceAddress: values.workplaceAddress || null,
    description: values.description,
    positions: number(values.positions),
    requiredSkills: values.requiredSkills,
    contractType: values.contractType,
    wageMinUsd: values.wageMinUsd,
    wageMaxUsd: values.wageMaxUsd || null,
    hoursPerWeek: number(values.hoursPerWeek),
    startDate: values.startDate || null,
    closingDate: values.closingDate || null,
    benefits: values.benefits,
  };
}

function vacancyForm(options, vacancy, viewer) {
  const key = idempotencyKey();
  const save = async (values, action) => {
    const result = vacancy
      ? (await gql(UPDATE, { input: { id: vacancy.id, ...input(values) } })).updateVacancy
      : (await gql(CREATE, { input: { ...input(values), idempotencyKey: key } })).createVacancy;
    if (result.userErrors.length) return result.userErrors;
    let saved = result.vacancy;
    if (action === "publish") {
      const published = (await gql(PUBLISH, { input: { id: saved.id } })).publishVacancy;
      if (published.userErrors.length) return published.userErrors;
      saved = published.vacancy;
    }
    flash(action === "publish" ? "vacancy.published" : "vacancy.saved", { title: saved.title });
    location.hash = "#/vacancies";
    return [];
  };
  const el = form(vacancy ? "vacancy-edit" : "vacancy-new", save,
    field("title", "vacancy.title", { required: true, value: vacancy?.title, attrs: { maxlength: 200 } }),
    field("occupationCode", "vacancy.occupation", { type: "select", required: true, value: vacancy?.occupation.code,
      choices: [["", t("common.choose")], ...options.occupations.map((o) => [o.code, `${named(o)} (${o.code})`])] }),
    h("div", { class: "row" },
      field("province", "vacancy.province", { type: "select", required: true, value: vacancy?.province ?? viewer.employer.province,
        choices: PROVINCES.map((p) => [p, label("province", p)]) }),
      field("positions", "vacancy.positions", { required: true, check: "integer", value: vacancy?.positions, attrs: { inputmode: "numeric" } })),
    field("workplaceAddress", "vacancy.workplaceAddress", { value: vacancy?.workplaceAddress }),
    field("description", "vacancy.description", { type: "textarea", required: true, value: vacancy?.description }),
    h("div", { class: "row" },
      field("wageMinUsd", "vacancy.wageMin", { required: true, check: "money", hint: "vacancy.wageHint", value: vacancy?.wageMinUsd, attrs: { inputmode: "decimal" } }),
      field("wageMaxUsd", "vacancy.wageMax", { check: "money", value: vacancy?.wageMaxUsd, attrs: { inputmode: "decimal" } })),
    h("div", { class: "row" },
      field("contractType", "vacancy.contractType", { type: "select", required: true, value: vacancy?.contractType ?? "FIXED_TERM",
        choices: CONTRACTS.map((c) => [c, label("contractType", c)]) }),
      field("hoursPerWeek", "vacancy.hoursPerWeek", { check: "integer", value: vacancy?.hoursPerWeek, attrs: { inputmode: "numeric" } })),
    h("div", { class: "row" },
      field("startDate", "vacancy.startDate", { type: "date", value: vacancy?.startDate }),
      field("closingDate", "vacancy.closingDate", { type: "date", value: vacancy?.closingDate })),
    h("details", { open: Boolean(vacancy?.requiredSkills.length) },
      h("summary", { i18n: "vacancy.requiredSkills" }),
      choices("requiredSkills", "vacancy.skillsLegend", options.skills.map((s) => [s.code, named(s)]),
        { checked: vacancy?.requiredSkills.map((s) => s.code) ?? [] })),
    choices("benefits", "vacancy.benefits", OPTIONAL_BENEFITS.map((b) => [b, label("benefit", b)]),
      { checked: vacancy?.benefits ?? [], hint: "vacancy.benefitsHint" }),
    h("div", { class: "actions" },
      !vacancy || vacancy.status === "DRAFT" ? submitButton("vacancy.saveAndPublish", "publish") : null,
      submitButton(vacancy ? "vacancy.saveChanges" : "vacancy.saveDraft", "save", vacancy ? "primary" : "secondary"),
      link("common.cancel", "#/vacancies")),
  );
  restoreDraft(el);
  return el;
}

export async function render(main, { viewer, params }) {
  append(main, heading(params.id ? "vacancy.editTitle" : "vacancy.newTitle"));
  const body = h("div");
  append(main, body);
  await load(body, async () => {
    const [options, found] = await Promise.all([
      gql(OPTIONS, { sector: viewer.employer.sector }),
      params.id ? gql(VACANCY, { id: params.id }) : null,
    ]);
    return { options, vacancy: found?.node ?? null };
  }, ({ options, vacancy }) => {
    if (params.id && !vacancy) return append(body, h("p", { class: "note note-error", i18n: "vacancy.notFound" }));
    append(body, vacancyForm(options, vacancy, viewer));
  });
}
