// The merged form's materials: each file goes to the API as soon as it is chosen; its token lives in the hidden
// inputs a no-JS re-render fills, and in this tab, so a reload keeps what was uploaded. The page shows a labelled
// 拍照或选择文件 button, never the browser's own control; once a file is in, its name and 删除.
import { postForm } from "./api.js";
import { markInvalid, rebuildSummary } from "./forms.js";
import { code, form, onBehalfOf, onBehalfOfOrg, tab } from "./apply-form.js";
import { t } from "./i18n.js";

export function setupUploads() {
  // Read each time: the materials step is drawn again (htmx) when another party's number is typed.
  const inputs = () => [...form.querySelectorAll("input[type=file][data-material]")];
  const maxBytes = Number(form.dataset.maxUploadBytes);
  const pending = new Set();
  const kept = tab.get("uploads") || {};
  const hidden = (name, code) => form.elements.namedItem(`${name}.${code}`);
  const status = (input) => document.getElementById(`${input.id}-status`);
  const remover = (input) => form.querySelector(`[data-remove-upload="${CSS.escape(input.dataset.material)}"]`);

  function keep(input, upload) {
    const code = input.dataset.material;
    hidden("uploaded", code).value = upload?.token || "";
    hidden("uploaded_name", code).value = upload?.filename || "";
    status(input).textContent = upload ? t("已上传：%(file)s", { file: upload.filename }) : "";
    remover(input).hidden = !upload;
    if (upload) kept[code] = upload;
    else delete kept[code];
    tab.set("uploads", kept);
  }

  // 删除: the file is no longer part of this application: its token is not sent, so it is never attached to the case.
  function remove(input) {
    keep(input, null);
    input.value = "";
    markInvalid(input, "");
    status(input).textContent = t("已删除，可重新拍照或选择文件");
    rebuildSummary(form);
    input.focus();
  }

  async function upload(input) {
    const file = input.files[0];
    if (!file) return;
    markInvalid(input, "");
    keep(input, null);
    if (maxBytes && file.size > maxBytes) {
      markInvalid(input, t("文件不能超过10MB，请压缩后重新上传"));
      return;
    }
    status(input).textContent = t("正在上传：%(file)s…", { file: file.name });
    const body = new FormData();
    body.append("life_event", code);
    body.append("material_code", input.dataset.material);
    if (onBehalfOf) body.append("on_behalf_of", onBehalfOf);
    if (onBehalfOfOrg) body.append("on_behalf_of_org", onBehalfOfOrg);
    body.append("file", file);
    try {
      const { ok, data } = await postForm("/api/v1/uploads", body);
      if (ok) {
        keep(input, { token: data.token, filename: data.filename });
        return;
      }
      status(input).textContent = "";
      const errors = data?.errors || {};
      markInvalid(input, errors.file || errors.material_code || data?.detail || t("上传失败，请重新选择文件"));
    } catch {
      status(input).textContent = "";
      markInvalid(input, t("网络连接失败，请检查网络后重新选择文件"));
    }
  }

  function bind(input) {
    if (input.hasAttribute("data-upload-bound")) return;
    input.setAttribute("data-upload-bound", "");
    const code = input.dataset.material;
    if (!hidden("uploaded", code).value && kept[code]) keep(input, kept[code]);
    remover(input).hidden = !hidden("uploaded", code).value;
    remover(input).addEventListener("click", () => remove(input));
    input.addEventListener("change", () => {
      const job = upload(input).finally(() => {
        pending.delete(job);
        rebuildSummary(form); // a summary on show follows what this file fixed or broke
      });
      pending.add(job);
    });
  }

  inputs().forEach(bind);
  document.body.addEventListener("htmx:afterSettle", () => inputs().forEach(bind));

  return {
    tokens: () => inputs().map((input) => hidden("uploaded", input.dataset.material).value).filter(Boolean),
    settled: () => Promise.all(pending),
    forget: () => tab.remove("uploads"),
  };
}
