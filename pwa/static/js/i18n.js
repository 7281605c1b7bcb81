// Our scripts' texts in the page's language (issue 21). A text is written in Chinese where it is used, t("已保存"),
// and that Chinese is its key: `make messages` extracts every t("…") into the catalogue like the templates' _("…").
// The page links its language's table (base.html: <script id="i18n" src="/i18n/en.js?v=…" defer>, precached by the
// service worker): a deferred script runs before any module, so the texts are there when this one runs, offline too.
// It sets self.ywtbScriptTexts[language]; a text missing from it shows in Chinese.
//   t("已保存到本机 %(time)s", { time }) fills a named value after translating: one whole sentence per text, so
//   English may put the value where its grammar wants it.
//   tn("%(n)s秒后", "%(n)s秒后", n, { n }) is a text that shows a count: English has two forms (1 second,
//   2 seconds), Chinese one. `make messages` extracts both (babel.cfg: tn:1,2); the table holds the language's forms
//   in its catalogue's order and the element's data-plural which form each Intl.PluralRules category takes.
// Numbers, dates and times: Intl in the page's <html lang> (formatTime, formatDate).

const element = document.getElementById("i18n");
// The page's language code ("zh", "en"): what this device reads pages in (shell.js tells the service worker).
export const language = element?.dataset.language || "zh";
const linked = self.ywtbScriptTexts?.[language];
const table = linked && typeof linked === "object" ? linked : {};
const pluralIndex = readJSON(element?.dataset.plural);

function readJSON(text) {
  try {
    const parsed = JSON.parse(text || "{}");
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

function fill(text, params) {
  if (!params) return text;
  return text.replace(/%\((\w+)\)s/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
}

export function t(text, params) {
  const drawn = Object.hasOwn(table, text) && typeof table[text] === "string" ? table[text] : text;
  return fill(drawn, params);
}

export function tn(singular, plural, count, params) {
  const forms = Object.hasOwn(table, singular) ? table[singular] : null;
  if (!Array.isArray(forms)) return fill(count === 1 ? singular : plural, params); // untranslated: gettext's way
  const category = pluralRules().select(count);
  const index = Object.hasOwn(pluralIndex, category) ? pluralIndex[category] : pluralIndex.other;
  return fill(forms[index] ?? forms[forms.length - 1], params);
}

// The page's language tag for Intl ("zh-CN", "en").
export const locale = document.documentElement.lang || "zh-CN";

let rules;
function pluralRules() {
  rules ??= new Intl.PluralRules(locale);
  return rules;
}

// Beijing time, as every time the server prints (a phone set to another zone still reads the same clock).
const BEIJING = "Asia/Shanghai";

export function formatTime(date) {
  return new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: BEIJING }).format(date);
}

export function formatDate(date, options = { dateStyle: "long" }) {
  return new Intl.DateTimeFormat(locale, options).format(date);
}

export function formatNumber(value) {
  return new Intl.NumberFormat(locale).format(value);
}
