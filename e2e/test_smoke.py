from playwright.sync_api import Page, expect


def test_home_on_a_phone_shows_the_life_events_without_horizontal_scroll(phone: Page) -> None:
    phone.goto("/")
    expect(phone.locator("h1")).to_have_text("一件事，一次办")
    for name in ("新生儿出生", "企业开办", "退休", "公民身后"):
        expect(phone.get_by_role("link", name=name)).to_be_visible()
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360


def test_search_as_you_type_finds_a_service_guide(phone: Page) -> None:
    phone.goto("/")
    phone.get_by_label("事项名称或部门").fill("社保")
    result = phone.locator("#search-results").get_by_role("link", name="社会保障卡", exact=False).first
    expect(result).to_be_visible()
    result.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("社会保障卡")
    expect(phone.get_by_text("承诺办结时限")).to_be_visible()


def test_a_life_event_page_leads_to_its_items(phone: Page) -> None:
    phone.goto("/")
    phone.get_by_role("link", name="新生儿出生").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("新生儿出生")
    expect(phone.get_by_role("link", name="开始办理")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
