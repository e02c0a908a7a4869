// A provincial officer registers one returnee: identity for the ministry, an anonymised profile for employers.
import { gql } from "../api.js";
import { append, data, h } from "../dom.js";
import { checkbox, choices, field, form, restoreDraft, submitButton } from "../forms.js";
import { label, named, t, todayInCambodia } from "../i18n.js";
import { EDUCATION, PROVINCES, SECTORS } from "../enums.js";
import { reference } from "../profile.js";
import { announce, heading, idempotencyKey, load } from "../ui.js";

const OPTIONS = "{ skills { code name nameKm sector } occupations { code name nameKm } }";
const REGISTER = `mutation ($input: RegisterReturneeInput!) {
  registerReturnee(input: $input) { profile { id } userErrors { code field message } } }`;
const LANGUAGES = ["km", "th", "en", "vi", "zh"];
const EXPERIENCE_ROWS = 3;

function input(v, key) {
  const experience = [];
  for (let i = 0; i < EXPERIENCE_ROWS; i++) {
    const code = v[`experience.${i}.occupationCode`];
    if (code) experience.push({ occupationCode: code, years: Number(v[`experience.${i}.years`] || 0), abroad: v[`experience.${i}.abroad`] === "yes" });
  }
  const optional = (text) => text || null;
  return {
    name: v.name, sex: v.sex, dateOfBirth: v.dateOfBirth, phone: v.phone, nationalId: optional(v.nationalId),
    province: v.province, district: optional(v.district), commune: optional(v.commune), village: optional(v.village),
    skills: v.skills, experience, languages: v.languages,
    certifications: v.certifications ? v.certifications.split(",").map((c) => c.trim()).filter(Boolean) : [],
    educationLevel: v.educationLevel, availableFrom: v.availableFrom, returnedOn: v.returnedOn,
    preferredProvinces: v.preferredProvinces, consentToSearch: v.consentToSearch, idempotencyKey: key,
  };
}

function experienceRow(i, occupations) {
  return h("fieldset", { class: "field" },
    h("legend", { i18n: "register.experienceRow", params: { n: i + 1 } }),
    h("div", { class: "row" },
      field(`experience.${i}.occupationCode`, "register.occupation", { type: "select", choices: [["", t("common.none")], ...occupations.map((o) => [o.code, `${named(o)} (${o.code})`])] }),
      field(`experience.${i}.years`, "register.years", { check: "integer", attrs: { inputmode: "numeric" } }),
      field(`experience.${i}.abroad`, "register.where", { type: "select", choices: [["yes", t("profile.abroad")], ["no", t("profile.atHome")]] })));
}

function registrationForm(options, viewer, done) {
  const key = idempotencyKey();
  const el = form("register", async (v) => {
    const result = (await gql(REGISTER, { input: input(v, key) })).registerReturnee;
    if (result.userErrors.length) return result.userErrors;
    announce("register.done", { reference: reference(result.profile.id) });
    done(result.profile);
    return [];
  },
    field("name", "register.name", { required: true, attrs: { maxlength: 200, autocomplete: "off" } }),
    h("div", { class: "row" },
      field("sex", "profile.sex", { type: "select", required: true, choices: [["", t("common.choose")], ["FEMALE", label("sex", "FEMALE")], ["MALE", label("sex", "MALE")]] }),
      field("dateOfBirth", "register.dateOfBirth", { type: "date", required: true })),
    h("div", { class: "row" },
      field("phone", "register.phone", { type: "tel", required: true, hint: "register.phoneHint", attrs: { autocomplete: "off" } }),
      field("nationalId", "register.nationalId", { attrs: { autocomplete: "off" } })),
    h("div", { class: "row" },
      field("province", "profile.province", { type: "select", required: true, value: viewer.province, choices: PROVINCES.map((p) => [p, label("province", p)]) }),
      field("district", "register.district"),
      field("commune", "register.commune"),
      field("village", "register.village")),
    h("div", { class: "row" },
      field("returnedOn", "register.returnedOn", { type: "date", required: true }),
      field("availableFrom", "profile.availableFrom", { type: "date", required: true, value: todayInCambodia() }),
      field("educationLevel", "profile.education", { type: "select", required: true, value: "PRIMARY", choices: EDUCATION.map((e) => [e, label("education", e)]) })),
    Array.from({ length: EXPERIENCE_ROWS }, (_, i) => experienceRow(i, options.occupations)),
    h("details", {}, h("summary", { i18n: "profile.skills" }),
      SECTORS.map((sector) => choices("skills", `sector.${sector}`, options.skills.filter((s) => s.sector === sector).map((s) => [s.code, named(s)])))),
    choices("languages", "profile.languages", LANGUAGES.map((code) => [code, t(`language.${code}`)]), { checked: ["km"] }),
    field("certifications", "register.certifications", { hint: "register.certificationsHint" }),
    h("details", {}, h("summary", { i18n: "profile.preferredProvinces" }),
      choices("preferredProvinces", "profile.preferredProvinces", PROVINCES.map((p) => [p, label("province", p)]))),
    checkbox("consentToSearch", "register.consent"),
    h("div", { class: "actions" }, submitButton("register.submit")),
  );
  restoreDraft(el);
  return el;
}

export async function render(main, { viewer }) {
  const body = h("div");
  append(main, heading("register.title"), h("p", { class: "lead", i18n: "register.intro" }), body);
  await load(body, () => gql(OPTIONS), (options) => {
    const show = () => body.replaceChildren(registrationForm(options, viewer, (profile) => {
      body.replaceChildren(
        h("p", { class: "note note-success" }, h("span", { i18n: "register.doneNote" }), " ", data(reference(profile.id))),
        h("div", { class: "actions" }, h("button", { type: "button", class: "button button-primary", i18n: "register.another", onclick: () => {
          show();
          body.querySelector("input").focus();
        } })));
      body.querySelector("button").focus();
    }));
    show();
  });
}
