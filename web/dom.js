// Building DOM nodes: every visible string goes through t() and is marked with data-i18n; data is marked data-value.
import { t } from "./i18n.js";

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "multiple", "required", "open"]);

/** An element: props are attributes, plus i18n (a message key), params, value-like properties and on* listeners. */
export function h(tag, props = {}, ...children) {
  const el = tag === "svg" || props.svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false || name === "params" || name === "svg") continue;
    if (name === "i18n") {
      el.textContent = t(value, props.params);
      el.setAttribute("data-i18n", value);
    } else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (PROPERTIES.has(name) && !(el instanceof SVGElement)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return append(el, ...children);
}

/** SVG children of an <svg> built with h(). */
export function s(tag, props = {}, ...children) {
  return h(tag, { ...props, svg: true }, ...children);
}

/** Like Element.append, but skips null, undefined and false, and flattens arrays: for conditional children. */
export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Data shown as it is (names, titles, numbers, dates): not a UI string, so not translated. */
export function data(text, tag = "span", props = {}) {
  return h(tag, { ...props, "data-value": "" }, text ?? "");
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A label and its value, as a row of a <dl>. */
export function pair(labelKey, value, params) {
  return [h("dt", { i18n: labelKey, params }), h("dd", {}, value)];
}
