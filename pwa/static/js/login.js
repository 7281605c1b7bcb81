import { postJSON } from "./api.js";
import { ceremonyMessage, getPasskey, passkeysSupported } from "./passkeys.js";
import { setBusy, showErrors, showRefusal } from "./forms.js";
import { localPath } from "./paths.js";
import { t } from "./i18n.js";

const form = document.querySelector("#login-form");
const button = form.querySelector("button[type=submit]");
const next = localPath(form.dataset.next);
let conditional = null;
// Whether the person has done anything here yet (chosen a passkey in the field's suggestions, pressed the button):
// a page just opened never greets them with an error, such as a wait left from earlier tries.
let touched = false;
form.addEventListener("focusin", () => { touched = true; });
form.addEventListener("pointerdown", () => { touched = true; });

// The autofill's sign-in once the browser has handed over a passkey: a click on the button meanwhile would start
// a second ceremony, replacing the challenge the autofill's answer is checked against, and fail both.
let finishing = null;

async function finish(credential) {
  const done = await postJSON("/api/v1/auth/login/verify", { credential });
  if (!done.ok) {
    if (touched) showRefusal(form, done, t("登录失败，请重试"));
    return;
  }
  window.location.assign(next);
}

// Passkey autofill: the browser offers the passkey in the field's suggestions, no button needed.
async function startAutofill() {
  if (!passkeysSupported() || !(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
  const start = await postJSON("/api/v1/auth/login/options", {});
  if (!start.ok) return;
  conditional = new AbortController();
  try {
    const credential = await getPasskey(start.data, { mediation: "conditional", signal: conditional.signal });
    finishing = finish(credential).finally(() => {
      finishing = null;
    });
    await finishing;
  } catch {
    // Aborted for the button, or no passkey offered: the button remains the way in.
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (finishing) return; // already signing in with the passkey chosen from the suggestions
  if (!passkeysSupported()) {
    showErrors(form, {}, t("此浏览器不支持通行密钥，请升级浏览器或到政务服务窗口办理"));
    return;
  }
  conditional?.abort();
  setBusy(button, true, t("请在手机上确认…"));
  try {
    const start = await postJSON("/api/v1/auth/login/options", {});
    if (!start.ok) {
      showRefusal(form, start, t("登录失败，请重试"));
      return;
    }
    let credential;
    try {
      credential = await getPasskey(start.data);
    } catch (error) {
      showErrors(form, {}, ceremonyMessage(error));
      return;
    }
    await finish(credential);
  } catch {
    showErrors(form, {}, t("网络连接失败，请检查网络后重试"));
  } finally {
    setBusy(button, false);
  }
});

startAutofill();
