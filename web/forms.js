// Forms: labelled fields, their values, each user error next to its field, and drafts that survive a new login.
import { SessionExpired } from "./api.js";
import { clear, h } from "./dom.js";
import { currentLanguage, has, t } from "./i18n.js";
import { announce, errorKey } from "./ui.js";

const DRAFT_KEY = "karngar.draft";
const CHECKS = { money: /^\d{1,7}(\.\d{1,2})?$/, integer: /^\d{1,6}$/ };
let fieldCount = 0;

/** One labelled control: type text, number, date, tel, password, textarea or select (choices: [value, text]). */
export function field(name, labelKey, { type = "text", required = false, hint, choices = [], value, check, attrs = {} } = {}) {
  const id = `field-${++fieldCount}`;
  const hintNote = hint ? h("p", { class: "hint", id: `${id}-hint`, i18n: hint }) : null;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const props = { id, name, required, "data-check": check, "aria-describedby": [hintNote?.id, error.id].filter(Boolean).join(" "), ...attrs };
  let control;
  if (type === "select") {
    control = h("select", props, choices.map(([optionValue, text]) => h("option", { value: optionValue }, text)));
  } else if (type === "textarea") {
    control = h("textarea", { rows: 4, ...props });
  } else {
    control = h("input", { type, ...props });
  }
  if (value !== undefined && value !== null) control.value = value;
  const caption = h("label", { for: id }, h("span", { i18n: labelKey }), required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null);
  return h("div", { class: "field", "data-field": name }, caption, hintNote, control, error);
}

/** A fieldset of checkboxes (or radios): items are [value, text]. */
export function choices(name, legendKey, items, { type = "checkbox", checked = [], hint, className = "" } = {}) {
  return h(
    "fieldset",
    { class: `field choices ${className}`, "data-field": name },
    h("legend", { i18n: legendKey }),
    hint ? h("p", { class: "hint", i18n: hint }) : null,
    h("p", { class: "field-error", hidden: true }),
    h("div", { class: "choice-list" }, items.map(([value, text]) =>
      h("label", { class: "choice" }, h("input", { type, name, value, checked: checked.includes(value) }), h("span", {}, text)),
    )),
  );
}

/** A single yes/no checkbox. */
export function checkbox(name, labelKey, checked = false) {
  return h(
    "div",
    { class: "field choice", "data-field": name },
    h("label", { class: "choice" }, h("input", { type: "checkbox", name, checked, "data-single": "" }), h("span", { i18n: labelKey })),
    h("p", { class: "field-error", hidden: true }),
  );
}

/** The form's values: arrays for checkbox groups, booleans for single checkboxes, trimmed text otherwise. */
export function values(form) {
  const result = {};
  for (const el of form.elements) {
    if (!el.name || ["file", "password", "submit", "button"].includes(el.type)) continue;
    if (el.type === "checkbox" && el.hasAttribute("data-single")) result[el.name] = el.checked;
    else if (el.type === "checkbox") (result[el.name] ??= []).push(...(el.checked ? [el.value] : []));
    else if (el.type === "radio") result[el.name] = el.checked ? el.value : (result[el.name] ?? "");
    else result[el.name] = el.value.trim();
  }
  return result;
}

export function fill(form, saved) {
  for (const el of form.elements) {
    if (!el.name || !(el.name in saved) || ["file", "password"].includes(el.type)) continue;
    const value = saved[el.name];
    if (el.type === "checkbox") el.checked = Array.isArray(value) ? value.includes(el.value) : Boolean(value);
    else if (el.type === "radio") el.checked = el.value === value;
    else el.value = value;
  }
}

/** Errors found before sending: required fields left empty, money and whole numbers that are not. */
function localErrors(form) {
  const errors = [];
  for (const el of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    const value = el.value.trim();
    if (el.required && !value) errors.push({ field: [el.name], messageKey: "userError.REQUIRED" });
    else if (value && el.dataset.check && !CHECKS[el.dataset.check].test(value)) {
      errors.push({ field: [el.name], messageKey: `userError.${el.dataset.check}` });
    }
  }
  return errors;
}

function errorText(error) {
  if (error.messageKey) return t(error.messageKey);
  if (currentLanguage() === "en") return error.message;
  const name = error.field?.[error.field.length - 1];
  return has(`userError.${error.code}.${name}`) ? t(`userError.${error.code}.${name}`) : t(`userError.${error.code}`);
}

function fieldOf(form, path) {
  const parts = path.filter((part) => part !== "input");
  for (let n = parts.length; n > 0; n--) {
    const holder = form.querySelector(`[data-field="${CSS.escape(parts.slice(0, n).join("."))}"]`);
    if (holder) return holder;
  }
  return null;
}

export function clearErrors(form) {
  const summary = form.querySelector(".form-errors");
  clear(summary).hidden = true;
  for (const holder of form.querySelectorAll(".invalid")) holder.classList.remove("invalid");
  for (const note of form.querySelectorAll(".field-error")) clear(note).hidden = true;
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

/** Shows each error next to its field (or in the summary above the form) and moves focus to the first. */
export function showErrors(form, errors) {
  clearErrors(form);
  const summary = form.querySelector(".form-errors");
  summary.append(h("p", { i18n: "form.hasErrors", params: { count: errors.length } }));
  let first = null;
  for (const error of errors) {
    const holder = fieldOf(form, error.field ?? []);
    const text = errorText(error);
    if (!holder) {
      summary.append(h("p", { class: "field-error" }, text));
      continue;
    }
    const note = holder.querySelector(".field-error");
    note.append(h("span", {}, text));
    note.hidden = false;
    holder.classList.add("invalid");
    const folded = holder.closest("details");
    if (folded) folded.open = true;
    for (const control of holder.querySelectorAll("input, select, textarea")) control.setAttribute("aria-invalid", "true");
    first ??= holder.querySelector("input, select, textarea");
  }
  summary.hidden = false;
  (first ?? summary).focus();
}

/** A form that checks itself, then awaits submit(values, action) and shows the user errors it returns. */
export function form(draft, submit, ...children) {
  const el = h("form", { novalidate: true, "data-draft": draft }, h("div", { class: "form-errors", role: "alert", tabindex: "-1", hidden: true }), ...children);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    const local = localErrors(el);
    if (local.length) return showErrors(el, local);
    clearErrors(el);
    const buttons = [...el.querySelectorAll("button:not([disabled])")];
    for (const b of buttons) b.disabled = true;
    el.setAttribute("aria-busy", "true");
    try {
      const errors = await submit(values(el), event.submitter?.value);
      if (errors?.length) showErrors(el, errors);
    } catch (error) {
      if (!(error instanceof SessionExpired)) announce(errorKey(error), {}, "error");
    } finally {
      for (const b of buttons) b.disabled = false;
      el.removeAttribute("aria-busy");
    }
  });
  return el;
}

export function submitButton(key, action = "", variant = "primary") {
  return h("button", { type: "submit", class: `button button-${variant}`, value: action, i18n: key });
}

/** Keeps what was typed in every form of the page (never passwords or files), e.g. before a new login. */
export function saveDrafts() {
  const saved = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
  const forms = saved?.route === location.hash ? saved.forms : {};
  for (const el of document.querySelectorAll("form[data-draft]")) forms[el.dataset.draft] = values(el);
  if (Object.keys(forms).length) sessionStorage.setItem(DRAFT_KEY, JSON.stringify({ route: location.hash, forms }));
}

/** Puts a kept draft back into its form, once, if it was kept on this very page. */
export function restoreDraft(el) {
  const saved = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
  const draft = saved?.route === location.hash ? saved.forms[el.dataset.draft] : undefined;
  if (!draft) return false;
  fill(el, draft);
  delete saved.forms[el.dataset.draft];
  if (Object.keys(saved.forms).length) sessionStorage.setItem(DRAFT_KEY, JSON.stringify(saved));
  else sessionStorage.removeItem(DRAFT_KEY);
  return true;
}

export function dropDrafts() {
  sessionStorage.removeItem(DRAFT_KEY);
}
