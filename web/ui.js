// Shared states of every page: headings, loading / empty / error notes, announcements, busy buttons, badges.
import { RequestFailed, SessionExpired } from "./api.js";
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

/** Speaks and shows a message: "status" (polite) for progress and success, "alert" for failures. */
export function announce(key, params = {}, kind = "success") {
  const polite = document.getElementById("status");
  const urgent = document.getElementById("alert");
  clear(polite);
  clear(urgent);
  const region = kind === "error" ? urgent : polite;
  region.append(h("div", { class: `note note-${kind}` },
    h("p", { i18n: key, params }),
    h("button", { type: "button", class: "close", "aria-label": t("common.closeMessage"), onclick: () => clear(region) }, "×")));
}

let pending = null;

/** A message for the next page, e.g. "saved" before going back to the list. */
export function flash(key, params = {}) {
  pending = { key, params };
}

/** Clears the messages of the page left behind, and shows the one flashed for the new page. */
export function resetMessages() {
  clear(document.getElementById("status"));
  clear(document.getElementById("alert"));
  if (pending) announce(pending.key, pending.params);
  pending = null;
}

/** A fresh key for a create mutation, so that a double tap or a retry creates nothing twice. */
export function idempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export function heading(key, params) {
  return h("h1", { i18n: key, params, tabindex: "-1", id: "page-title" });
}

export function loadingNote() {
  return h("p", { class: "note note-loading", i18n: "state.loading" });
}

export function emptyNote(key) {
  return h("p", { class: "note note-empty", i18n: key });
}

/** The message key for an error the API answered with (or the network failed with). */
export function errorKey(error) {
  if (!(error instanceof RequestFailed)) return "error.unexpected";
  if (error.kind === "network") return "error.network";
  const code = error.details[0]?.extensions?.code;
  if (code === "FORBIDDEN") return "error.forbidden";
  if (code === "RATE_LIMITED") return "error.rateLimited";
  return "error.server";
}

export function failureNote(error) {
  if (!(error instanceof RequestFailed)) console.error(error);
  return h("p", { class: "note note-error", role: "alert", i18n: errorKey(error) });
}

/** Fills a container from the API: a loading note first, then draw(result), or an error note in place. */
export async function load(container, fetch, draw) {
  container.setAttribute("aria-busy", "true");
  container.replaceChildren(loadingNote());
  try {
    const result = await fetch();
    container.replaceChildren();
    draw(result);
  } catch (error) {
    if (error instanceof SessionExpired) return;
    container.replaceChildren(failureNote(error));
  } finally {
    container.removeAttribute("aria-busy");
  }
}

/** Runs a task with its button disabled; failures are announced (a lost session goes to the login page). */
export async function busy(button, task) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await task();
  } catch (error) {
    if (!(error instanceof SessionExpired)) announce(errorKey(error), {}, "error");
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function badge(kind, value) {
  return h("span", { class: `badge badge-${String(value).toLowerCase()}`, i18n: `${kind}.${value}` });
}

export function button(key, onclick, variant = "secondary", params) {
  return h("button", { type: "button", class: `button button-${variant}`, i18n: key, params, onclick });
}

export function link(key, href, variant = "secondary", params) {
  return h("a", { class: `button button-${variant}`, href, i18n: key, params });
}
