// 加载更多 on the queue: htmx puts the next page's cases where the link was, and the link (which had the keyboard's
// focus) goes with it, so focus fell back to the page itself. It goes to the first case just loaded instead (its
// number's link): the clerk reads on from where they pressed, by keyboard or with a screen reader.
let shownBefore = null; // how many cases the list held when 加载更多 was pressed, until the next page is in

document.body.addEventListener("htmx:beforeRequest", (event) => {
  const list = event.detail.elt.closest(".queue-more")?.closest(".queue-cases");
  if (list) shownBefore = list.querySelectorAll(".queue-case").length;
});

// Other swaps (the inbox badge) settle too: only the one that brought the next page's cases moves the focus.
document.body.addEventListener("htmx:afterSettle", () => {
  const first = shownBefore === null ? null : document.querySelectorAll(".queue-cases .queue-case")[shownBefore];
  if (!first) return;
  shownBefore = null;
  first.querySelector(".queue-case-no").focus();
});
