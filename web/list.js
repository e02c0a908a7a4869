// A list filled a page at a time from a cursor connection, with its count, its empty state and "show more".
import { h } from "./dom.js";
import { field, form, restoreDraft } from "./forms.js";
import { formatNumber, label, t } from "./i18n.js";
import { busy, button, emptyNote, load } from "./ui.js";

/** fetchPage(after) resolves to a connection; drawItem(node, edge) returns the element of one item. */
export function pagedList({ fetchPage, drawItem, emptyKey, className = "list", onDraw = () => {}, counted = true }) {
  const count = h("p", { class: "count", "aria-live": "polite", hidden: !counted });
  const items = h("div", { class: className });
  const more = h("div", { class: "actions" });
  const element = h("div", {}, count, items, more);
  let after = null;
  let shown = 0;

  function draw(connection, fresh) {
    if (fresh) {
      shown = 0;
      items.replaceChildren();
    }
    if (fresh && !connection.edges.length) items.append(emptyNote(emptyKey));
    for (const edge of connection.edges) items.append(drawItem(edge.node, edge));
    shown += connection.edges.length;
    const total = connection.totalCount;
    count.replaceChildren(total ? h("span", { i18n: "list.count", params: { shown: formatNumber(shown), total: formatNumber(total) } }) : "");
    onDraw(items, total);
    after = connection.pageInfo.endCursor;
    more.replaceChildren(connection.pageInfo.hasNextPage ? button("list.more", showMore) : "");
  }

  async function showMore(event) {
    await busy(event.currentTarget, async () => draw(await fetchPage(after), false));
  }

  function reload() {
    after = null;
    count.replaceChildren();
    more.replaceChildren();
    return load(items, () => fetchPage(null), (connection) => draw(connection, true));
  }

  return { element, reload };
}

/** A one-select filter (e.g. by status) that applies itself on change; apply(values) gets null for "all". */
export function statusFilter(draft, labelKey, kind, statuses, apply, initial = "") {
  const choices = [["", t("common.all")], ...statuses.map((s) => [s, label(kind, s)])];
  const el = form(draft, async (v) => apply(v.status ? [v.status] : null), field("status", labelKey, { type: "select", choices }));
  el.classList.add("inline");
  el.setAttribute("role", "search");
  el.elements.status.addEventListener("change", () => el.requestSubmit());
  el.elements.status.value = initial;
  restoreDraft(el);
  apply(el.elements.status.value ? [el.elements.status.value] : null, true);
  return el;
}
