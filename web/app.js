// The application shell: who is logged in, the header and navigation by role, and the hash router.
import { SessionExpired, gql, logOut, whenSessionExpires } from "./api.js";
import { append, clear, data, h } from "./dom.js";
import { currentLanguage, preferredLanguage, t, useLanguage } from "./i18n.js";
import { dropDrafts, saveDrafts } from "./forms.js";
import { failureNote, loadingNote, resetMessages } from "./ui.js";

const EMPLOYER = ["EMPLOYER_ADMIN", "HIRING_MANAGER"];
const OFFICER = ["PROVINCIAL_OFFICER"];
const AUDITOR = ["MINISTRY_AUDITOR"];
const ROUTES = [
  { path: "vacancies", page: "vacancies", roles: EMPLOYER, nav: "nav.vacancies" },
  { path: "vacancies/new", page: "vacancy-form", roles: EMPLOYER },
  { path: "vacancies/:id/edit", page: "vacancy-form", roles: EMPLOYER },
  { path: "vacancies/:id/candidates", page: "candidates", roles: EMPLOYER },
  { path: "contacts", page: "contacts", roles: EMPLOYER, nav: "nav.contacts" },
  { path: "placements", page: "placements", roles: EMPLOYER, nav: "nav.placements" },
  { path: "register", page: "register", roles: OFFICER, nav: "nav.register" },
  { path: "import", page: "import", roles: OFFICER, nav: "nav.import" },
  { path: "requests", page: "requests", roles: OFFICER, nav: "nav.requests" },
  { path: "hires", page: "hires", roles: AUDITOR, nav: "nav.hires" },
  { path: "statistics", page: "statistics", roles: AUDITOR, nav: "nav.statistics" },
  { path: "audit", page: "audit", roles: AUDITOR, nav: "nav.audit" },
];
const VIEWER = "{ viewer { name roles province employer { id name sector province } } }";
const main = document.getElementById("main");
let viewer = null;
let sessionLost = false;
let renders = 0;

function allowed(route) {
  return viewer.roles.some((role) => route.roles.includes(role));
}

function match(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  for (const route of ROUTES) {
    const pattern = route.path.split("/");
    if (pattern.length !== parts.length) continue;
    const params = {};
    if (pattern.every((p, i) => (p.startsWith(":") ? (params[p.slice(1)] = decodeURIComponent(parts[i])) : p === parts[i]))) {
      return { route, params };
    }
  }
  return null;
}

function drawHeader() {
  const header = clear(document.getElementById("header"));
  const other = currentLanguage() === "en" ? "km" : "en";
  append(header,
    h("a", { class: "skip", href: "#main", i18n: "app.skip", onclick: (e) => (e.preventDefault(), main.focus()) }),
    h("div", { class: "bar" },
      h("span", { class: "brand", i18n: "app.name" }),
      h("div", { class: "tools" },
        h("button", { type: "button", class: "button button-quiet", lang: other, onclick: () => switchLanguage(other) }, other === "km" ? "ខ្មែរ" : "English"),
        viewer ? h("button", { type: "button", class: "button button-quiet", i18n: "app.logout", onclick: leave }) : null)),
  );
  if (!viewer) return;
  const here = match(location.hash)?.route;
  append(header,
    h("p", { class: "who" }, data(viewer.employer?.name ?? viewer.name), " · ", h("span", { i18n: `role.${viewer.roles[0]}` })),
    h("nav", { "aria-label": t("nav.label") }, h("ul", {}, ROUTES.filter((r) => r.nav && allowed(r)).map((r) =>
      h("li", {}, h("a", { href: `#/${r.path}`, i18n: r.nav, "aria-current": r === here ? "page" : null })),
    ))),
  );
}

async function render() {
  const turn = ++renders;
  resetMessages();
  if (!viewer) return showLogin();
  const found = match(location.hash);
  const home = ROUTES.find(allowed);
  if ((!found || !allowed(found.route)) && home) {
    location.replace(`#/${home.path}`);
    return;
  }
  drawHeader();
  clear(main).append(loadingNote());
  try {
    const page = await import(`./pages/${found.route.page}.js`);
    if (turn !== renders) return;
    clear(main);
    // A page draws its heading at once and its data as it comes: the heading takes the focus meanwhile.
    const drawing = page.render(main, { viewer, params: found.params });
    focusTitle();
    await drawing;
  } catch (error) {
    clear(main).append(failureNote(error));
    focusTitle();
  }
}

/** Names the browser tab after the page and moves focus to its heading, so a screen reader announces it. */
function focusTitle() {
  const title = main.querySelector("h1");
  document.title = `${title ? `${title.textContent} · ` : ""}${t("app.name")}`;
  (title ?? main).focus();
}

async function showLogin() {
  drawHeader();
  const page = await import("./pages/login.js");
  clear(main);
  page.render(main, { expired: sessionLost, loggedIn: start });
  focusTitle();
}

async function start() {
  try {
    viewer = (await gql(VIEWER)).viewer;
  } catch (error) {
    if (error instanceof SessionExpired) render();
    else clear(main).append(failureNote(error));
    return;
  }
  sessionLost = false;
  render();
}

async function switchLanguage(language) {
  saveDrafts();
  await useLanguage(language);
  render();
}

async function leave() {
  await logOut();
  dropDrafts();
  viewer = null;
  history.replaceState(null, "", location.pathname);
  render();
}

whenSessionExpires(() => {
  if (!viewer) return;
  saveDrafts();
  viewer = null;
  sessionLost = true;
  render();
});
window.addEventListener("hashchange", render);
await useLanguage(preferredLanguage());
start();
