"""Journeys in a real browser (Debian's chromium via Playwright) against a real `edgenode serve` process,
as a clerk or an admin would click through them. Every step leaves a screenshot in test-output/screenshots/."""

from __future__ import annotations

import io

from tests.web.conftest import PASSWORD


def sign_in(page, url: str, login: str, password: str = PASSWORD) -> None:
    page.goto(url + "/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_chinese_renders_as_glyphs_not_boxes(server, page, shot):
    from PIL import Image, ImageChops

    page.goto(server.url + "/login")
    shot(page, "login")
    assert page.evaluate("getComputedStyle(document.documentElement).fontFamily").startswith('"WenQuanYi Micro Hei"')
    images = []
    for text in ("登", "录"):
        page.evaluate("""t => { const s = document.createElement('span'); s.id = 'glyph'; s.textContent = t;
                               s.style.cssText = 'font-size:64px;line-height:1;display:inline-block;background:#fff;color:#000';
                               document.getElementById('glyph')?.remove(); document.body.prepend(s); }""", text)
        images.append(Image.open(io.BytesIO(page.locator("#glyph").screenshot())).convert("L"))
    for image in images:
        dark = sum(image.histogram()[:128])
        assert dark > 50, "a CJK character rendered blank"
    assert ImageChops.difference(*images).getbbox() is not None, "two different characters render alike (boxes)"
    # a box (tofu) is a hollow rectangle: real glyphs of these characters differ by many pixels
    differing = sum(ImageChops.difference(*images).histogram()[65:])
    assert differing > 200


def test_a_clerk_signs_in_finds_an_item_by_its_everyday_name_and_opens_its_guide(server, page, shot):
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    shot(page, "sign-in-page")
    sign_in(page, server.url, "clerk")
    assert page.url == server.url + "/"
    assert page.get_by_role("heading", name="首页").is_visible()
    assert page.locator("header").inner_text().count("林晓燕（代办员）") == 1
    nav = page.locator("nav.menu").inner_text()
    assert "事项" in nav and "人员" not in nav
    shot(page, "home")
    page.get_by_role("link", name="事项").click()
    page.get_by_label("搜索事项").fill("低保")
    page.get_by_role("button", name="搜索").click()
    shot(page, "search-dibao")
    page.get_by_role("link", name="最低生活保障申请").click()
    assert page.get_by_role("heading", name="最低生活保障申请").is_visible()
    guide = page.locator("main").inner_text()
    for part in ("受理条件", "申请材料", "审查要点", "法定办结时限", "收费", "申请表填写项"):
        assert part in guide
    assert page.locator("table.materials tbody tr").count() >= 2
    assert page.locator("table.materials td ul li").count() >= 1       # review points are shown
    shot(page, "guide")
    page.get_by_role("button", name="退出").click()
    assert page.url.startswith(server.url + "/login")
    shot(page, "signed-out")


def test_five_wrong_passwords_lock_the_account(server, page, shot):
    for attempt in range(1, 6):
        sign_in(page, server.url, "lockme", "Wrong2026pass")
        shot(page, f"wrong-{attempt}")
    assert "已锁定" in page.locator("[role=alert]").inner_text()
    sign_in(page, server.url, "lockme", PASSWORD)
    assert page.url.startswith(server.url + "/login") and "已锁定" in page.locator("[role=alert]").inner_text()
    shot(page, "locked-even-with-the-right-password")


def test_an_admin_creates_a_clerk_who_then_signs_in(server, page, shot, browser):
    sign_in(page, server.url, "admin")
    page.get_by_role("link", name="人员").click()
    shot(page, "staff-page")
    form = page.locator("form.grid")
    form.get_by_label("登录名").fill("chenxm")
    form.get_by_label("姓名").fill("陈小梅")
    form.get_by_label("角色").select_option("clerk")
    form.get_by_label("初始密码").fill("Window2026ab")
    form.get_by_label("再输一次").fill("Window2026ab")
    form.get_by_role("button", name="创建").click()
    assert "已创建人员账号" in page.locator("[role=status]").inner_text()
    assert page.locator("tr", has_text="chenxm").inner_text().count("陈小梅") == 1
    shot(page, "clerk-created")
    other = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    try:
        sign_in(other, server.url, "chenxm", "Window2026ab")
        assert other.url == server.url + "/"
        assert "陈小梅（代办员）" in other.locator("header").inner_text()
        shot(other, "new-clerk-home")
    finally:
        other.context.close()


def test_the_pages_fit_a_1024x768_screen(server, small_page, shot):
    sign_in(small_page, server.url, "admin")
    for path in ("/", "/items", "/items?q=证明", "/staff"):
        small_page.goto(server.url + path)
        width = small_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1024, (path, width)
        shot(small_page, "page" + path.replace("/", "-").replace("?", "-"))
    small_page.get_by_role("link", name="事项").click()
    small_page.locator("main table a").first.click()
    assert small_page.evaluate("document.documentElement.scrollWidth") <= 1024
    shot(small_page, "guide")


def test_pages_fetch_nothing_from_elsewhere(server, page):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    sign_in(page, server.url, "admin")
    for path in ("/", "/items?q=低保", "/staff"):
        page.goto(server.url + path)
    assert requests and all(url.startswith(server.url) for url in requests), requests
