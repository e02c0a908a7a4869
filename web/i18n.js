// Languages: the dictionary of the chosen one (loaded on demand), and dates, money and numbers as people read them.
const STORAGE_KEY = "karngar.language";
const ZONE = "Asia/Phnom_Penh";
let language = "en";
let messages = {};

export const languages = ["en", "km"];

export function currentLanguage() {
  return language;
}

export function preferredLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (languages.includes(stored)) return stored;
  return (navigator.language || "").toLowerCase().startsWith("km") ? "km" : "en";
}

/** Loads and switches to a language, and remembers it (the language is all the client keeps in localStorage). */
export async function useLanguage(wanted) {
  const next = languages.includes(wanted) ? wanted : "en";
  messages = (await import(`./locales/${next}.js`)).default;
  language = next;
  document.documentElement.lang = next;
  localStorage.setItem(STORAGE_KEY, next);
}

/** The message for a key, with {name} placeholders filled; a missing key shows itself so that a test finds it. */
export function t(key, params = {}) {
  const message = messages[key];
  if (message === undefined) {
    console.warn(`karngar: no ${language} message for ${key}`);
    return `⟦${key}⟧`;
  }
  return message.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

export function has(key) {
  return key in messages;
}

/** An enum value's name, e.g. label("province", "KAMPOT"). */
export function label(kind, value) {
  return value === null || value === undefined ? t("common.none") : t(`${kind}.${value}`);
}

const NUMBERS = new Intl.NumberFormat("en-US");
const MONEY = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
// Only the time zone comes from Intl: browsers (Chromium among them) often lack Khmer locale data, so
// dates are written from the dictionary's month names instead of Intl's.
const PHNOM_PENH_CLOCK = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

function day(year, month, date) {
  return t("date.day", { day: Number(date), month: t(`month.${Number(month)}`), year });
}

/** A moment (ISO date-time from the API, stored in UTC) in Phnom Penh time. */
export function formatMoment(iso) {
  if (!iso) return "";
  const parts = Object.fromEntries(PHNOM_PENH_CLOCK.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return t("date.moment", { date: day(parts.year, parts.month, parts.day), time: `${parts.hour}:${parts.minute}` });
}

/** A calendar date (YYYY-MM-DD): a day in Cambodia already, so shown without any time-zone shift. */
export function formatDate(isoDay) {
  if (!isoDay) return "";
  const [year, month, date] = isoDay.split("-");
  return day(year, month, date);
}

/** A month (YYYY-MM), a quarter (YYYY-Qn) or a year, as the API coarsens return months. */
export function formatPeriod(period) {
  const quarter = /^(\d{4})-Q([1-4])$/.exec(period);
  if (quarter) return t("period.quarter", { year: quarter[1], quarter: quarter[2] });
  const month = /^(\d{4})-(\d{2})$/.exec(period);
  if (month) return t("period.month", { year: month[1], month: t(`month.${Number(month[2])}`) });
  return period;
}

export function formatMoney(amount) {
  return amount === null || amount === undefined || amount === "" ? "" : MONEY.format(Number(amount));
}

/** A vacancy's monthly wage, or its range. */
export function formatWage({ wageMinUsd, wageMaxUsd }) {
  return wageMaxUsd ? `${formatMoney(wageMinUsd)} – ${formatMoney(wageMaxUsd)}` : formatMoney(wageMinUsd);
}

export function formatNumber(value) {
  return NUMBERS.format(value);
}

/** Today in Phnom Penh as YYYY-MM-DD, for the default of date fields. */
export function todayInCambodia() {
  const parts = Object.fromEntries(PHNOM_PENH_CLOCK.formatToParts(new Date()).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month.padStart(2, "0")}-${parts.day.padStart(2, "0")}`;
}

/** The name of a skill or occupation in the current language (the API gives both). */
export function named(item) {
  return language === "km" ? item.nameKm : item.name;
}
