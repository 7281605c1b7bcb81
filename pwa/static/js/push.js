// Push on our pages: registers the service worker, offers 开启办理进度提醒 where a page has
// [data-push-optin], refreshes the inbox badge when a push arrives and the device list when the browser
// replaced this device's subscription, and asks the worker to send a replacement it still holds.
// The browser's permission prompt appears only after a click on that button, never on load.
// A subscription the browser already holds is shown as on only once the server has confirmed it for the
// signed-in account (it may have lost it: removed after a 410, cleared from another device, a restored database).
import { getJSON, sendJSON } from "./api.js";
import { deviceStorage as storage } from "./storage.js";
import { t } from "./i18n.js";

const swSupported = "serviceWorker" in navigator;
const pushSupported = swSupported && "PushManager" in window && "Notification" in window;
const user = document.body.dataset.localKey || "";
// This device as the server last confirmed it: { user, endpoint, id } (the id is its row on 我的's device list).
const DEVICE_KEY = "ywtb:push-device";

function b64urlBytes(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return false;
  const current = new Uint8Array(buffer);
  return current.length === bytes.length && current.every((b, i) => b === bytes[i]);
}

function announce(eventName) {
  document.body.dispatchEvent(new CustomEvent(eventName, { bubbles: true }));
}

function register() {
  // updateViaCache "none": the imported sw-push.js is re-checked with sw.js, never taken from the HTTP cache.
  return navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" });
}

function listenToServiceWorker() {
  navigator.serviceWorker.addEventListener("message", (event) => {
    const message = event.data || {};
    if (message.type === "push-received") {
      announce("inbox-changed");
    } else if (message.type === "push-subscription-changed") {
      announce("push-devices-changed");  // the browser replaced this device's subscription; the list follows
    } else if (message.type === "open-url" && typeof message.url === "string") {
      const target = new URL(message.url, window.location.origin);
      if (target.origin === window.location.origin) window.location.assign(target.href);
    }
  });
  navigator.serviceWorker.startMessages();
  // A replaced subscription the worker could not report yet (offline then) goes out now that a page is open.
  if (navigator.serviceWorker.controller) navigator.serviceWorker.controller.postMessage({ type: "push-resend" });
}

async function serverKey() {
  const answer = await getJSON("/api/v1/push/key");
  return b64urlBytes(answer.data.public_key);
}

// Words for a held subscription that no longer reaches the resident, and why.
const PERMISSION_GONE = {
  denied: t("您已在浏览器里关闭了本站的通知，这台设备收不到提醒。如需提醒，请先在浏览器的网站设置里允许通知，再点下面的按钮。"),
  default: t("这台设备的通知权限已被撤销，提醒已停止。点下面的按钮可重新开启。"),
};

// The subscription the browser holds, confirmed with the server once per page load (every opt-in box on the
// page shares the answer): { on: true } or { on: false, why }. Quiet: permission is already decided, no prompt.
// `?resync=true` refreshes this account's device, or stores it again if the server lost it, but never takes a
// device over from another account (409): that takes the resident's click.
let confirmation = null;

function confirmHeld(subscription) {
  confirmation ??= (async () => {
    if (Notification.permission !== "granted") {
      // Notifications can no longer be shown here: the device leaves this account's list too.
      try { await sendJSON("DELETE", "/api/v1/push/subscriptions", { endpoint: subscription.endpoint }); } catch { /* offline */ }
      storage.remove(DEVICE_KEY);
      return { on: false, why: PERMISSION_GONE[Notification.permission] || PERMISSION_GONE.default };
    }
    let saved;
    try {
      if (!sameKey(subscription.options.applicationServerKey, await serverKey())) {
        return { on: false, why: t("本站的推送密钥已更换，这台设备收不到提醒。请点下面的按钮重新开启。") };
      }
      saved = await sendJSON("POST", "/api/v1/push/subscriptions?resync=true", subscription.toJSON());
    } catch {
      const known = storage.get(DEVICE_KEY);
      if (known?.user === user && known.endpoint === subscription.endpoint) return { on: true };
      return { on: false, why: t("暂时无法确认这台设备的提醒是否开启，请联网后刷新页面。") };
    }
    if (!saved.ok) {
      storage.remove(DEVICE_KEY);
      // 409: another account signed in on this browser turned it on; the button takes it over, with a click.
      return { on: false, why: saved.data?.detail || t("这台设备的提醒未能确认，请点下面的按钮重新开启。") };
    }
    const known = storage.get(DEVICE_KEY);
    storage.set(DEVICE_KEY, { user, endpoint: subscription.endpoint, id: saved.data.id });
    if (known?.id !== saved.data.id) announce("push-devices-changed");  // stored anew: 我的's list shows it
    return { on: true };
  })();
  return confirmation;
}

function isIOS() {
  return /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
}

class OptIn {
  constructor(box, ready) {
    this.box = box;
    this.ready = ready;
    this.status = box.querySelector("[data-push-status]");
    this.button = box.querySelector("[data-push-toggle]");
    this.subscribed = false;
  }

  say(text) { this.status.textContent = text; }

  show(subscribed) {
    this.subscribed = subscribed;
    this.button.textContent = subscribed ? t("关闭这台设备的提醒") : t("开启办理进度提醒");
    this.button.classList.toggle("primary", !subscribed);
  }

  async start() {
    this.box.hidden = false;
    if (!pushSupported) {
      this.button.remove();
      this.say(isIOS()
        ? t("iPhone 需先在 Safari 中点“分享”→“添加到主屏幕”，再从主屏幕打开本站，才能开启提醒。办件的每一步仍会显示在“消息”里。")
        : t("这个浏览器不支持推送提醒。办件的每一步仍会显示在“消息”里。"));
      return;
    }
    const registration = await this.ready;
    if (!registration) {
      this.button.remove();
      this.say(t("暂时无法开启提醒，请刷新页面重试。办件的每一步仍会显示在“消息”里。"));
      return;
    }
    this.button.addEventListener("click", () => (this.subscribed ? this.unsubscribe() : this.subscribe()));
    document.body.addEventListener("htmx:afterRequest", (event) => this.removedFromList(event));
    const subscription = await registration.pushManager.getSubscription();
    if (subscription && user) {
      this.button.disabled = true;
      this.say(t("正在确认这台设备的提醒…"));
      const { on, why } = await confirmHeld(subscription);
      this.button.disabled = false;
      this.show(on);
      this.say(on ? t("这台设备已开启办理进度提醒。") : why);
      return;
    }
    this.show(Boolean(subscription));
    if (subscription) this.say(t("这台设备已开启办理进度提醒。"));
    else if (Notification.permission === "denied") this.say(t("您之前拒绝了本站的通知。如需提醒，请先在浏览器的网站设置里允许通知，再点下面的按钮。"));
  }

  // 不再提醒 on 我的's device list, for this very device: the browser lets go of its subscription too, or the
  // next page would confirm it with the server again. (The form is swapped out by then: htmx tells its list,
  // and requestConfig names the form.)
  async removedFromList(event) {
    const form = event.detail?.requestConfig?.elt;
    const known = storage.get(DEVICE_KEY);
    if (!event.detail?.successful || !form?.matches?.("[data-device-id]") || !known || known.user !== user) return;
    if (form.dataset.deviceId !== String(known.id)) return;
    storage.remove(DEVICE_KEY);
    try {
      const subscription = await (await this.ready)?.pushManager.getSubscription();
      if (subscription?.endpoint === known.endpoint) await subscription.unsubscribe();
    } catch { /* already gone */ }
    this.show(false);
    this.say(t("已关闭这台设备的提醒。办件的每一步仍会显示在“消息”里。"));
  }

  async subscribe() {
    this.button.disabled = true;
    this.say(t("正在开启…"));
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        this.say(t("没有获得通知权限，未开启提醒。办件的每一步仍会显示在“消息”里。"));
        return;
      }
      const key = await serverKey();
      const registration = await this.ready;
      let subscription = await registration.pushManager.getSubscription();
      if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
        await subscription.unsubscribe();  // made for another server key: it could never reach us
        subscription = null;
      }
      subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
      // The click is the resident's say-so: this takes the device over from another account signed in here before.
      const saved = await sendJSON("POST", "/api/v1/push/subscriptions", subscription.toJSON());
      if (!saved.ok) {
        this.say(saved.data?.detail || t("开启失败，请稍后重试"));
        return;
      }
      storage.set(DEVICE_KEY, { user, endpoint: subscription.endpoint, id: saved.data.id });
      this.show(true);
      this.say(t("已开启：办件的每一步都会通知这台设备。"));
      announce("push-devices-changed");
    } catch {
      this.say(t("开启失败：无法连接推送服务，请检查网络后重试"));
    } finally {
      this.button.disabled = false;
    }
  }

  async unsubscribe() {
    this.button.disabled = true;
    try {
      const registration = await this.ready;
      const subscription = await registration.pushManager.getSubscription();
      if (subscription) {
        await sendJSON("DELETE", "/api/v1/push/subscriptions", { endpoint: subscription.endpoint });
        await subscription.unsubscribe();
      }
      storage.remove(DEVICE_KEY);
      this.show(false);
      this.say(t("已关闭这台设备的提醒。办件的每一步仍会显示在“消息”里。"));
      announce("push-devices-changed");
    } catch {
      this.say(t("关闭失败，请稍后重试"));
    } finally {
      this.button.disabled = false;
    }
  }
}

let ready = Promise.resolve(null);
if (swSupported) {
  listenToServiceWorker();
  ready = register().then(() => navigator.serviceWorker.ready).catch(() => null);
}
for (const box of document.querySelectorAll("[data-push-optin]")) new OptIn(box, ready).start();
