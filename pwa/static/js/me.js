import { postJSON } from "./api.js";
import { ceremonyMessage, createPasskey } from "./passkeys.js";
import { t } from "./i18n.js";

const add = document.querySelector("#add-passkey");
const status = document.querySelector("#add-passkey-status");

add?.addEventListener("click", async () => {
  add.disabled = true;
  status.textContent = t("请在设备上确认…");
  try {
    const start = await postJSON("/api/v1/auth/passkeys/options", {});
    if (!start.ok) { status.textContent = start.data?.detail || t("操作失败，请重试"); return; }
    let credential;
    try { credential = await createPasskey(start.data); } catch (error) { status.textContent = ceremonyMessage(error); return; }
    const done = await postJSON("/api/v1/auth/register/verify", { credential });
    if (!done.ok) { status.textContent = done.data?.detail || t("添加失败，请重试"); return; }
    window.location.reload();
  } catch {
    status.textContent = t("网络连接失败，请检查网络后重试");
  } finally {
    add.disabled = false;
  }
});
