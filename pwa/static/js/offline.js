// The offline page (the app shell shown for a page that cannot be reached): what this device keeps for reading
// offline and the forms saved on it, for the account signed in last. Back online, the page asked for opens.
import { reachable } from "./api.js";
import { deviceStorage } from "./storage.js";
import { applyPathOf } from "./paths.js";
import { t } from "./i18n.js";

const local = self.ywtbLocal;

function item(href, text) {
  const li = document.createElement("li");
  const link = document.createElement("a");
  link.href = href;
  link.textContent = text;
  li.append(link);
  return li;
}

async function keptPages() {
  if (!("caches" in window) || !local) return;
  const cache = await caches.open(local.PAGES_CACHE);
  const list = document.querySelector("[data-offline-pages]");
  for (const request of await cache.keys()) {
    const response = await cache.match(request);
    const title = new DOMParser().parseFromString(await response.text(), "text/html").title;
    const url = new URL(request.url);
    // "<page> · <site name>", in whichever language it was kept: the page's own name is enough here.
    list.append(item(url.pathname + url.search, title.replace(/ · [^·]*$/, "") || url.pathname));
  }
  document.querySelector("[data-offline-kept]").hidden = !list.childElementCount;
}

async function savedForms() {
  const user = deviceStorage.get("ywtb:last-user"); // shell.js's: whoever signed in last
  if (!user || !local) return;
  const list = document.querySelector("[data-offline-draft-list]");
  const [drafts, queued] = await Promise.all([local.drafts(user), local.queued(user)]);
  const waiting = new Set(
    queued.filter((e) => e.state === "pending" && !e.org).map((e) => `${e.lifeEvent}|${e.subject}`));
  for (const draft of drafts) {
    // A helper's client's forms open from the roster, an organisation's (企业办事) from its identity: online.
    if (draft.subject !== "self" || draft.org) continue;
    const title = draft.title || draft.lifeEvent;
    const text = waiting.has(`${draft.lifeEvent}|${draft.subject}`)
      ? t("%(title)s（待发送）", { title })
      : t("%(title)s（已保存到本机）", { title });
    list.append(item(applyPathOf(draft.lifeEvent), text));
  }
  document.querySelector("[data-offline-drafts]").hidden = !list.childElementCount;
}

// The page asked for opens again once the server answers: on the online event (which a flaky connection may send
// too early, or not at all) and every few seconds.
const RETRY_MS = 4000;
async function reopenWhenReachable() {
  if (await reachable()) window.location.reload();
}
document.querySelector("[data-offline-retry]")?.addEventListener("click", () => window.location.reload());
window.addEventListener("online", reopenWhenReachable);
setInterval(reopenWhenReachable, RETRY_MS);
keptPages().catch(() => {});
savedForms().catch(() => {});
