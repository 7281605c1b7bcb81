// 新增代办授权: the elder's details, scope, expiry and how identity was checked, then the elder's consent —
// a signature drawn on the tablet, or the elder's own passkey (consent-options, then navigator.credentials.get
// with the elder's credentials). The server checks everything and answers per field; we only show it.
import { postJSON } from "./api.js";
import { ceremonyMessage, getPasskey, passkeysSupported } from "./passkeys.js";
import { clearErrors, rebuildSummary, setBusy, showErrors, showRefusal } from "./forms.js";
import { signaturePad } from "./signature.js";
import { formatDate, t } from "./i18n.js";

const form = document.querySelector("#delegation-form");
const button = form.querySelector("button[type=submit]");
const events = form.querySelector("#scope-events");
const signaturePanel = form.querySelector("#signature-panel");
const passkeyPanel = form.querySelector("#passkey-panel");
const consentError = form.querySelector("#consent-error");
const pad = signaturePad(form.querySelector("#signature-pad"), {
  clearButton: form.querySelector("#signature-clear"),
  status: form.querySelector("#signature-status"),
  // Once the elder has signed, "please sign" is no longer true: it goes, from beside the pad and the summary.
  onChange: (signed) => {
    if (!signed || consentError.hidden) return;
    consentError.textContent = "";
    consentError.hidden = true;
    form.querySelectorAll("input[name=consent]").forEach((input) => input.removeAttribute("aria-invalid"));
    rebuildSummary(form);
  },
});

const value = (name) => form.elements.namedItem(name).value;
const consentMethod = () => form.querySelector("input[name=consent]:checked")?.value || "";

function showChoices() {
  events.hidden = value("scope") !== "some";
  const signature = consentMethod() === "signature";
  signaturePanel.hidden = !signature;
  passkeyPanel.hidden = signature;
  if (signature) pad.refit();
}
form.addEventListener("change", (event) => {
  if (event.target.matches("input[name=scope], input[name=consent]")) showChoices();
});
showChoices();

// 授权内容 says what will be recorded: the elder's name, the matters and the date, as they are chosen above.
const statement = {
  name: form.querySelector('[data-consent="name"]'),
  scope: form.querySelector('[data-consent="scope"]'),
  until: form.querySelector('[data-consent="until"]'),
};

// The chosen day in the page's language (2026年12月1日, 1 December 2026).
function readableDate(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  if (!(year && month && day)) return t("（请选择日期）");
  return formatDate(new Date(Date.UTC(year, month - 1, day)), { dateStyle: "long", timeZone: "UTC" });
}

function describe() {
  statement.name.textContent = value("client_name").trim() || t("（老人姓名）");
  const chosen = [...form.querySelectorAll("input[name=scope_events]:checked")]
    .map((input) => form.querySelector(`label[for="${input.id}"]`).textContent.trim());
  statement.scope.textContent = value("scope") === "all" ? t("全部事项") : chosen.join(t("、")) || t("（请选择事项）");
  statement.until.textContent = readableDate(value("expires_on"));
}
form.addEventListener("input", describe);
form.addEventListener("change", describe);
describe();

function scope() {
  if (value("scope") === "all") return "all";
  return [...form.querySelectorAll("input[name=scope_events]:checked")].map((input) => input.value);
}

// The elder's own passkey, asked for this delegation only: it does not sign them in on this tablet.
async function passkeyConsent(client) {
  if (!passkeysSupported()) {
    showErrors(form, { consent: t("此平板的浏览器不支持通行密钥，请改用手写签名确认") });
    return null;
  }
  const options = await postJSON("/api/v1/delegations/consent-options", client);
  if (!options.ok) {
    showRefusal(form, options, t("无法发起通行密钥确认，请重试"));
    return null;
  }
  try {
    return { method: "passkey", credential: await getPasskey(options.data) };
  } catch (error) {
    showErrors(form, { consent: ceremonyMessage(error) });
    return null;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  setBusy(button, true, t("正在记录…"));
  try {
    const client = { client_name: value("client_name").trim(), client_id_number: value("client_id_number").trim() };
    // An empty date travels as null: the server names it with every other problem, all at once.
    const expires = value("expires_on") || null;
    let consent;
    if (consentMethod() === "passkey") {
      consent = await passkeyConsent(client);
      if (!consent) return;
    } else {
      consent = { method: "signature", signature_png: pad.isEmpty() ? null : pad.toDataURL() };
    }
    const result = await postJSON("/api/v1/delegations", {
      ...client,
      scope: scope(),
      expires_on: expires,
      identity_check: value("identity_check"),
      consent,
    });
    if (result.ok) {
      window.location.assign("/helper?notice=created");
      return;
    }
    if (result.status === 401) showErrors(form, {}, t("登录已过期，请重新登录后再记录"));
    else showRefusal(form, result, t("记录失败，请稍后重试"));
  } catch {
    showErrors(form, {}, t("网络连接失败，请检查网络后重试"));
  } finally {
    setBusy(button, false);
  }
});

// The pad draws from here on (a stroke before this module ran left no ink): tests wait for it, as for apply.js.
form.dataset.enhanced = "true";
