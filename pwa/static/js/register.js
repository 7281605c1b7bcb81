import { ceremonyMessage, createPasskey, passkeysSupported, postJSON } from "./passkeys.js";
import { clearErrors, setBusy, showErrors } from "./forms.js";

const form = document.querySelector("#register-form");
const button = form.querySelector("button[type=submit]");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!passkeysSupported()) {
    showErrors(form, {}, "此浏览器不支持通行密钥，请升级浏览器或到政务服务窗口办理");
    return;
  }
  clearErrors(form);
  setBusy(button, true, "请在手机上确认…");
  try {
    const fields = Object.fromEntries(new FormData(form));
    const start = await postJSON("/api/v1/auth/register/options", fields);
    if (!start.ok) {
      showErrors(form, start.data?.errors, start.data?.detail || "提交失败，请重试");
      return;
    }
    let credential;
    try {
      credential = await createPasskey(start.data);
    } catch (error) {
      showErrors(form, {}, ceremonyMessage(error));
      return;
    }
    const done = await postJSON("/api/v1/auth/register/verify", { credential });
    if (!done.ok) {
      showErrors(form, done.data?.errors, done.data?.detail || "注册失败，请重试");
      return;
    }
    window.location.assign("/me");
  } catch {
    showErrors(form, {}, "网络连接失败，请检查网络后重试");
  } finally {
    setBusy(button, false);
  }
});
