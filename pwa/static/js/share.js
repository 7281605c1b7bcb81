// 分享给家人: the public tracking link (progress only, no personal data) through the phone's own share sheet (Web
// Share API), else copied to the clipboard. Either way the page says what happened in words, in a live region so a
// screen reader says it too. The button stays hidden until this script runs: without it there is no dead button,
// and the link itself is on the page to copy by hand.
import { t } from "./i18n.js";

function say(status, text) {
  // Emptied first, so saying the same words twice is still announced.
  status.textContent = "";
  window.setTimeout(() => { status.textContent = text; }, 50);
}

async function copy(url) {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(url);
      return true;
    } catch {
      // Not allowed here (an older browser, or permission refused): the link is selected for copying by hand.
    }
  }
  return false;
}

function selectLink(link) {
  if (!link) return;
  const range = document.createRange();
  range.selectNodeContents(link);
  const selection = window.getSelection();
  selection?.removeAllRanges();
  selection?.addRange(range);
}

for (const button of document.querySelectorAll("[data-share-url]")) {
  const url = button.dataset.shareUrl;
  const status = document.getElementById(button.dataset.shareStatus);
  const link = document.getElementById(button.dataset.shareLink);
  const shared = { title: button.dataset.shareTitle || document.title, text: button.dataset.shareText || "", url };
  button.hidden = false;
  button.addEventListener("click", async () => {
    if (navigator.share && (!navigator.canShare || navigator.canShare(shared))) {
      try {
        await navigator.share(shared);
        say(status, t("已打开分享，请选择要发给的家人"));
        return;
      } catch (error) {
        if (error?.name === "AbortError") return; // closed without sharing: nothing to say
      }
    }
    if (await copy(url)) {
      say(status, t("已复制进度查询链接，可以粘贴到微信或短信里发给家人"));
    } else {
      selectLink(link);
      say(status, t("无法自动复制，已选中下面的链接，请长按或右键复制"));
    }
  });
}
