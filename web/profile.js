// An anonymised returnee profile as employers and officers see it: age band, sex, province, work, skills.
import { data, h, pair } from "./dom.js";
import { formatDate, formatPeriod, has, label, named, t } from "./i18n.js";

export const PROFILE_FIELDS = `id ageBand sex province educationLevel availableFrom returnedIn languages preferredProvinces
  skills { code name nameKm } experience { years abroad occupation { code name nameKm } }`;

/** A short reference to tell profiles apart on screen; the id itself says nothing about the person. */
export function reference(id) {
  return `#${id.replace(/=+$/, "").slice(-6).toUpperCase()}`;
}

function languageName(code) {
  return has(`language.${code}`) ? t(`language.${code}`) : code;
}

function experience(profile) {
  if (!profile.experience.length) return h("span", { i18n: "common.none" });
  return h("ul", { class: "plain" }, profile.experience.map((e) =>
    h("li", {}, named(e.occupation), " · ", h("span", { i18n: "profile.years", params: { years: e.years } }), " · ",
      h("span", { i18n: e.abroad ? "profile.abroad" : "profile.atHome" })),
  ));
}

/** A value the API withholds (null) when showing it would single the returnee out. */
function shown(kind, value) {
  return value === null ? h("span", { class: "tags", i18n: "profile.withheld" }) : label(kind, value);
}

export function profileFacts(profile) {
  return h("dl", { class: "facts" },
    pair("profile.ageBand", shown("ageBand", profile.ageBand)),
    pair("profile.sex", shown("sex", profile.sex)),
    pair("profile.province", label("province", profile.province)),
    pair("profile.experience", experience(profile)),
    pair("profile.skills", profile.skills.length ? profile.skills.map(named).join(", ") : h("span", { i18n: "common.none" })),
    pair("profile.education", label("education", profile.educationLevel)),
    pair("profile.languages", profile.languages.map(languageName).join(", ") || t("common.none")),
    pair("profile.availableFrom", data(formatDate(profile.availableFrom))),
    pair("profile.returnedIn", data(formatPeriod(profile.returnedIn))),
    profile.preferredProvinces.length
      ? pair("profile.preferredProvinces", profile.preferredProvinces.map((p) => label("province", p)).join(", "))
      : null,
  );
}
