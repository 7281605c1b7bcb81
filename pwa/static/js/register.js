// Sign-up in two steps. 1: name and ID number → the server answers 202 for any well-formed details (it never
// says whether they are right) and texts a code to the phone on the population register. 2: the code → the
// passkey creation options → the passkey. With an enrollment code from the window (a new phone, no phone on the
// register, staff) the code is the proof and step 2 is skipped.
import { postJSON } from "./api.js";
import { ceremonyMessage, createPasskey, passkeysSupported } from "./passkeys.js";
import { clearErrors, setBusy, showErrors, showRefusal } from "./forms.js";
import { localPath } from "./paths.js";
import { t, tn } from "./i18n.js";

const START = "/api/v1/auth/register/options";
const RESEND_AFTER_SECONDS = 60;

const details = document.querySelector("#register-form");
// Where the person was going before signing up (开始办理 → 登录 → 注册): back there once the account exists.
const next = localPath(details.dataset.next, "/me");
const codeForm = document.querySelector("#sms-form");
const detailsStep = document.querySelector("#details-step");
const codeStep = document.querySelector("#code-step");
const codeInput = codeForm.querySelector("#sms_code");
const resend = codeForm.querySelector("#sms-resend");
const back = codeForm.querySelector("#sms-back");
const sent = codeForm.querySelector("#sms-sent");
const sentText = sent.textContent;
let person = null; // {name, id_number, phone} as sent in step 1
let countdown = null;

const value = (form, name) => (form.elements.namedItem(name)?.value || "").trim();

// 320402********0119, as every page shows a number.
function masked(idNumber) {
  const clean = idNumber.toUpperCase();
  return clean.length === 18 ? `${clean.slice(0, 6)}********${clean.slice(-4)}` : "";
}

// Creation options → passkey → account; errors go to `form`. Returns when done or refused.
async function finish(form, body, button) {
  setBusy(button, true, t("请在手机上确认…"));
  try {
    const options = await postJSON(START, body);
    if (!options.ok) {
      showRefusal(form, options, t("提交失败，请重试"));
      return;
    }
    let credential;
    try {
      credential = await createPasskey(options.data);
    } catch (error) {
      showErrors(form, {}, ceremonyMessage(error));
      return;
    }
    const done = await postJSON("/api/v1/auth/register/verify", { credential });
    if (!done.ok) {
      showRefusal(form, done, t("注册失败，请重试"));
      return;
    }
    window.location.assign(next);
  } catch {
    showErrors(form, {}, t("网络连接失败，请检查网络后重试"));
  } finally {
    setBusy(button, false);
  }
}

function startCountdown() {
  clearInterval(countdown);
  let left = RESEND_AFTER_SECONDS;
  resend.disabled = true;
  const tick = () => {
    resend.textContent = left > 0 ? tn("重新获取验证码（%(seconds)s秒后）", "重新获取验证码（%(seconds)s秒后）", left, { seconds: left }) : t("重新获取验证码");
    if (left <= 0) {
      resend.disabled = false;
      clearInterval(countdown);
    }
    left -= 1;
  };
  tick();
  countdown = setInterval(tick, 1000);
}

function showCodeStep() {
  detailsStep.hidden = true;
  codeStep.hidden = false;
  clearErrors(codeForm);
  codeInput.value = "";
  codeForm.querySelector("#sms-who").textContent = `${person.name} · ${masked(person.id_number)}`;
  // Emptied and refilled so that screen readers announce the status again on every (re)send.
  sent.textContent = "";
  setTimeout(() => { sent.textContent = sentText; }, 50);
  startCountdown();
  codeInput.focus();
}

// Ask for a code; `form` shows the errors (step 1 for a first ask, step 2 for 重新获取).
async function requestCode(form, button) {
  setBusy(button, true, t("正在发送…"));
  let answer;
  try {
    answer = await postJSON(START, person);
  } catch {
    answer = null;
  }
  setBusy(button, false);
  if (answer === null) {
    showErrors(form, {}, t("网络连接失败，请检查网络后重试"));
    return false;
  }
  if (answer.status !== 202) {
    showRefusal(form, answer, t("提交失败，请重试"));
    return false;
  }
  showCodeStep();
  return true;
}

details.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!passkeysSupported()) {
    showErrors(details, {}, t("此浏览器不支持通行密钥，请升级浏览器或到政务服务窗口办理"));
    return;
  }
  clearErrors(details);
  const button = event.submitter || details.querySelector("button[type=submit]");
  const enrollmentCode = value(details, "enrollment_code");
  person = { name: value(details, "name"), id_number: value(details, "id_number") };
  const phone = value(details, "phone");
  if (phone) person.phone = phone;
  if (enrollmentCode) {
    await finish(details, { ...person, enrollment_code: enrollmentCode }, button);
    return;
  }
  if (button.dataset.with === "enrollment_code") {
    details.querySelector("#enrollment").open = true;
    showErrors(details, { enrollment_code: t("请填写开户码") });
    return;
  }
  await requestCode(details, button);
});

codeForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(codeForm);
  const code = codeInput.value.replace(/\s/g, "");
  if (!/^[0-9]{6}$/.test(code)) {
    showErrors(codeForm, { sms_code: t("请填写短信中的6位数字验证码") });
    return;
  }
  await finish(codeForm, { ...person, sms_code: code }, codeForm.querySelector("button[type=submit]"));
});

resend.addEventListener("click", async () => {
  clearErrors(codeForm);
  if (!(await requestCode(codeForm, resend))) resend.disabled = false;
});

back.addEventListener("click", () => {
  clearInterval(countdown);
  codeStep.hidden = true;
  detailsStep.hidden = false;
  details.querySelector("#name").focus();
});
