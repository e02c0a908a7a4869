// A provincial officer uploads a CSV file of returnees and reads the import report.
import { importReturnees } from "../api.js";
import { append, data, h } from "../dom.js";
import { field, form, submitButton } from "../forms.js";
import { formatNumber } from "../i18n.js";
import { announce, heading } from "../ui.js";

const COLUMNS = "name, sex, date_of_birth, phone, national_id, province, district, commune, village, skills, experience, "
  + "certifications, languages, education_level, available_from, preferred_provinces, returned_on, consent_to_search";

function total(key, value) {
  return h("p", { class: "total" }, h("span", { i18n: key }), h("strong", { "data-value": "" }, formatNumber(value)));
}

function report(result) {
  return h("section", { "aria-labelledby": "import-report" },
    h("h2", { id: "import-report", tabindex: "-1", i18n: "import.report" }),
    h("div", { class: "totals" },
      total("import.imported", result.imported),
      total("import.duplicates", result.duplicates.total),
      total("import.rejected", result.rejected)),
    result.firstRejections.length
      ? h("div", { class: "table-wrap" }, h("table", {},
        h("caption", { i18n: "import.firstRejections" }),
        h("thead", {}, h("tr", {}, h("th", { scope: "col", i18n: "import.line" }), h("th", { scope: "col", i18n: "import.reason" }))),
        h("tbody", {}, result.firstRejections.map((r) =>
          h("tr", {}, h("td", { class: "number" }, data(r.line)), h("td", { lang: "en" }, r.reason))))))
      : null);
}

export function render(main) {
  const output = h("div");
  const upload = form("import", async () => {
    const file = upload.elements.file.files[0];
    if (!file) return [{ field: ["file"], messageKey: "userError.REQUIRED" }];
    announce("import.working", {}, "info");
    const result = await importReturnees(file);
    if (result.error) {
      announce("import.failed", {}, "error");
      output.replaceChildren(h("p", { class: "note note-error" }, h("span", { i18n: "import.failed" }), " ", h("span", { lang: "en" }, result.error)));
      return [];
    }
    announce("import.done", { imported: formatNumber(result.imported), rejected: formatNumber(result.rejected) });
    output.replaceChildren(report(result));
    output.querySelector("h2").focus();
    return [];
  },
    field("file", "import.file", { type: "file", hint: "import.fileHint", attrs: { accept: ".csv,text/csv" } }),
    h("div", { class: "actions" }, submitButton("import.submit")),
  );
  append(main,
    heading("import.title"),
    h("p", { class: "lead", i18n: "import.intro" }),
    h("details", {}, h("summary", { i18n: "import.columns" }), h("p", { i18n: "import.columnsHelp" }), h("p", { class: "mono", "data-value": "" }, COLUMNS)),
    upload,
    output,
  );
}
