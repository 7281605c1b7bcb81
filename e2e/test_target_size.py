"""Checkboxes and radios are targets a finger can hit (WCAG 2.2 target size): at least 24 × 24 px, 60 × 60 in 长辈版,
each on one line with its label — on the helper's delegation form, where an elder's consent is chosen with them."""

from __future__ import annotations

from playwright.sync_api import Page

from e2e.conftest import LiveServer
from e2e.helpers import register_staff
from e2e.layout import use_display
from e2e.test_accessibility import violations

CHOICES = """() => [...document.querySelectorAll("main input[type=checkbox], main input[type=radio]")]
  .filter((el) => el.getBoundingClientRect().width > 0)
  .map((el) => {
    const box = el.getBoundingClientRect();
    const label = document.querySelector(`label[for="${el.id}"]`) || el.closest("label");
    const text = label.getBoundingClientRect();
    return { id: el.id, width: box.width, height: box.height,
             offset: Math.abs((box.top + box.bottom) / 2 - (text.top + text.bottom) / 2), left: text.left - box.right };
  })"""


def _check(page: Page, least: float, where: str) -> None:
    choices = page.evaluate(CHOICES)
    assert len(choices) >= 6, where
    for c in choices:
        assert c["width"] >= least and c["height"] >= least, f"{where}: {c}"
        assert c["offset"] < 12 and c["left"] >= 0, f"{where}: not beside its label: {c}"


def test_checkboxes_and_radios_are_big_enough_and_beside_their_labels(tablet: Page, live_server: LiveServer) -> None:
    page = tablet
    register_staff(page, live_server, "沙河帮办", "--role", "helper", "--region", "320481002002")
    page.goto("/helper/delegations/new")
    page.get_by_label("只代办以下事项").check()
    _check(page, 24, "standard")
    assert violations(page) == []  # the consent statement and the choices around it
    use_display(page, elder=True, text_step=0)
    page.get_by_label("只代办以下事项").check()
    _check(page, 60, "长辈版")
