import httpx

Client = httpx.AsyncClient


async def test_healthz_checks_the_database(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "db": "ok"}


async def test_home_lists_the_life_events_in_chinese(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    for name in ("新生儿出生", "企业开办", "退休", "公民身后"):
        assert name in response.text
    assert 'name="viewport"' in response.text
    assert 'rel="manifest"' in response.text
    assert "<script>" not in response.text  # no inline script: the CSP forbids it


async def test_pages_carry_a_strict_content_security_policy(client: Client) -> None:
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp


async def test_search_finds_items_by_abbreviation_as_a_fragment_for_htmx(client: Client) -> None:
    response = await client.get("/", params={"q": "社保"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "社会保障卡" in response.text
    assert "<html" not in response.text


async def test_search_without_hits_says_so(client: Client) -> None:
    response = await client.get("/", params={"q": "宇宙飞船"})
    assert "没有找到" in response.text


async def test_life_event_page_lists_its_items_and_departments(client: Client) -> None:
    events = (await client.get("/api/v1/life-events")).json()
    birth = next(e for e in events if e["name"] == "新生儿出生")
    response = await client.get(f"/life-events/{birth['code']}")
    assert response.status_code == 200
    for item in birth["items"]:
        assert item["name"] in response.text
        assert f"适用：{item['applies_when']}" in response.text
    # 生育津贴 is optional: the resident first chooses the items that apply.
    assert f"/life-events/{birth['code']}/choose" in response.text
    assert "按需办理" in response.text


async def test_single_items_are_not_listed_as_life_events(client: Client) -> None:
    events = (await client.get("/api/v1/life-events")).json()
    assert [e["code"] for e in events] == [
        "birth",
        "business",
        "retirement",
        "death",
        "business-change",
        "business-closure",
    ]
    assert (await client.get("/life-events/CZ-MZ-002")).status_code == 404


async def test_an_online_item_offers_to_apply_on_its_own_and_a_visit_only_item_does_not(client: Client) -> None:
    online = await client.get("/items/CZ-MZ-002")
    assert "在线办理" in online.text and "/items/CZ-MZ-002/apply" in online.text
    in_person = await client.get("/items/CZ-GA-004")  # 居民身份证换领: photo and fingerprints at the hall
    assert in_person.status_code == 200 and "/items/CZ-GA-004/apply" not in in_person.text


async def test_item_guide_shows_time_limits_with_units(client: Client) -> None:
    events = (await client.get("/api/v1/life-events")).json()
    item = events[0]["items"][0]
    response = await client.get(f"/items/{item['code']}")
    assert response.status_code == 200
    assert "承诺办结时限" in response.text
    assert f"{item['promised_limit']['value']}个{item['promised_limit']['unit']}" in response.text


async def test_unknown_pages_are_a_chinese_404_page_not_an_error(client: Client) -> None:
    for path in ("/life-events/no-such-event", "/items/NOPE"):
        response = await client.get(path)
        assert response.status_code == 404
        assert "<h1>" in response.text and "没有找到" in response.text


async def test_regions_walk_down_from_the_city(client: Client) -> None:
    top = (await client.get("/api/v1/regions")).json()
    assert top == [{"code": "320400", "name": "常州市", "level": "city"}]
    districts = (await client.get("/api/v1/regions", params={"parent": "320400"})).json()
    assert len(districts) == 6 and {d["level"] for d in districts} == {"district"}
    towns = (await client.get("/api/v1/regions", params={"parent": districts[0]["code"]})).json()
    assert towns and {t["level"] for t in towns} == {"town"}
    missing = await client.get("/api/v1/regions", params={"parent": "999999"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "区划代码不存在"


async def test_openapi_document_is_published(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/life-events" in paths and "/healthz" in paths


async def test_static_files_are_cached_for_a_year_and_compressed(client: Client) -> None:
    page = await client.get("/")
    css_url = page.text.split('rel="stylesheet" href="')[1].split('"')[0]
    response = await client.get(css_url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["cache-control"]
    assert "immutable" in response.headers["cache-control"]
    assert response.headers.get("content-encoding") == "gzip"
