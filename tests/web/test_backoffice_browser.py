"""Back-office journeys in Debian's chromium against real `edgenode serve` processes of an enrolled county and
station: a clerk takes the station's packets to the county on a USB stick and brings the receipts back; a
county admin publishes a catalog with errors (every error shown), fixes it and publishes; an admin resolves
a conflict. A screenshot at every step (test-output/screenshots/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.http.realnet import NodeProcess
from tests.web.backoffice import Pair, bad_catalog, build, clock, good_catalog
from tests.web.conftest import PASSWORD

WIDTH = 1024


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    base = tmp_path_factory.mktemp("backoffice-browser")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGENODE_RUNTIME_DIR", str(base / "run"))
        return build(base, conflict=True)


@pytest.fixture(scope="module")
def servers(homes: Pair) -> Iterator[dict[str, NodeProcess]]:
    started = {"county": NodeProcess(homes.county, homes.county.parent / "logs", "--no-sync").ready(),
               "station": NodeProcess(homes.station, homes.station.parent / "logs", "--no-sync").ready()}
    yield started
    for proc in started.values():
        assert proc.terminate() == 0, proc.stderr()[-2000:]


def new_page(browser: Any) -> Any:
    """Each server in its own browser context: cookies are per host, not per port."""
    context = browser.new_context(viewport={"width": WIDTH, "height": 768}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(30_000)   # a hang guard, not a timing assertion
    page.on("dialog", lambda dialog: pytest.fail(f"a script ran in the page: {dialog.message}"))
    return page


def sign_in(page: Any, url: str, login: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert page.url == url + "/", page.url


def fits(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, (page.url, width)


def node(home: Path) -> Any:
    from edgenode.node import Node

    return Node.open(home, clock())


def test_a_clerk_carries_the_packets_to_the_county_on_a_usb_stick(servers, homes, browser, shot, tmp_path):
    usb = tmp_path / "usb-stick"
    usb.mkdir()
    station, county = servers["station"].url, servers["county"].url
    at_station = new_page(browser)
    sign_in(at_station, station, "clerk")
    at_station.get_by_role("link", name="同步").click()
    fits(at_station)
    assert "罗源县政务服务中心" in at_station.locator("main table").first.inner_text()
    shot(at_station, "station-sync-page")
    at_station.get_by_label("U盘上的文件夹").fill(str(usb / ".." / "usb-stick"))
    at_station.get_by_role("button", name="导出到U盘").click()
    assert "WEB_083" in at_station.locator("[role=alert]").inner_text()      # a path with .. is refused
    shot(at_station, "path-with-dots-refused")
    assert not list(usb.iterdir())
    at_station.get_by_label("U盘上的文件夹").fill(str(usb))
    at_station.get_by_role("button", name="导出到U盘").click()
    assert "已导出到" in at_station.locator("[role=status]").inner_text()
    packets = sorted(usb.glob("*.enpkt"))
    assert packets and (usb / "manifest.json").is_file()
    shot(at_station, "exported")

    at_county = new_page(browser)
    with node(homes.county) as hub:
        before = hub.store.query_one("SELECT count(*) AS n FROM cases")["n"]
    sign_in(at_county, county, "clerk")
    at_county.get_by_role("link", name="同步").click()
    at_county.get_by_label("U盘上的文件夹").fill(str(usb))
    at_county.get_by_role("button", name="从U盘导入").click()
    assert "已从" in at_county.locator("[role=status]").inner_text()
    assert not at_county.locator("[role=alert]").count()
    shot(at_county, "county-imported")
    with node(homes.county) as hub:
        assert hub.store.query_one("SELECT count(*) AS n FROM cases")["n"] == before + 1
    assert len(list(usb.glob("*.enrcpt"))) == len(packets)

    at_station.get_by_label("U盘上的文件夹").fill(str(usb))
    at_station.get_by_role("button", name="从U盘导入").click()
    assert f"回执 {len(packets)} 个" in at_station.locator("[role=status]").inner_text()
    shot(at_station, "receipts-back")
    row = at_station.locator("main table").first.locator("tbody tr").first.inner_text()
    assert "0\t0 字节" in row, row                       # nothing pending for the county any more
    at_station.context.close()
    at_county.context.close()


def test_a_county_admin_publishes_a_catalog_with_errors_fixes_it_and_publishes(servers, homes, browser, shot,
                                                                               tmp_path):
    from edgenode.catalog import CatalogRejected, read_catalog_bytes

    county = servers["county"].url
    with node(homes.county) as hub:
        before = hub.store.query_one("SELECT max(version) AS v FROM repl_releases")["v"]
    wrong = tmp_path / "罗源县事项目录-错.json"
    wrong.write_bytes(bad_catalog(before + 1, markup="<script>alert('目录')</script>"))
    with pytest.raises(CatalogRejected) as rejected:
        read_catalog_bytes(wrong.read_bytes())
    page = new_page(browser)
    sign_in(page, county, "countyadmin")
    page.get_by_role("link", name="目录发布").click()
    fits(page)
    shot(page, "publish-page")
    page.get_by_label("目录文件（JSON）").set_input_files(str(wrong))
    page.get_by_role("button", name="校验并预览").click()
    assert "WEB_095" in page.locator("[role=alert]").inner_text()
    rows = page.locator("table.problems tbody tr")
    assert rows.count() == len(rejected.value.problems) >= 3
    shown = page.locator("table.problems").inner_text()
    for problem in rejected.value.problems:
        assert problem.item in shown and problem.message in shown and (problem.key or "—") in shown
    assert page.get_by_role("button", name=f"签名发布第 {before + 1} 版").count() == 0
    fits(page)
    shot(page, "every-error-shown")

    fixed = tmp_path / "罗源县事项目录.json"
    fixed.write_bytes(good_catalog(before + 1))
    page.get_by_label("目录文件（JSON）").set_input_files(str(fixed))
    page.get_by_role("button", name="校验并预览").click()
    preview = page.locator("main").inner_text()
    assert "删除 1 项，修改 1 项" in preview and "（新版）" in preview
    shot(page, "preview")
    page.get_by_role("button", name=f"签名发布第 {before + 1} 版").click()
    assert f"已发布目录第 {before + 1} 版" in page.locator("[role=status]").inner_text()
    shot(page, "published")
    with node(homes.county) as hub:
        assert hub.store.query_one("SELECT max(version) AS v FROM repl_releases")["v"] == before + 1
        assert hub.store.query_one("SELECT max(version) AS v FROM catalog_releases")["v"] == before + 1
    page.context.close()


def test_an_admin_resolves_a_conflict_by_choosing_one_side(servers, homes, browser, shot):
    from edgenode.cases.service import load_case

    station = servers["station"].url
    page = new_page(browser)
    sign_in(page, station, "admin")
    page.get_by_role("link", name="冲突").click()
    fits(page)
    section = page.locator("section.conflict")
    assert section.count() == 1 and homes.case_no in section.inner_text()
    text = section.inner_text()
    assert "138059*9999" in text and "139059*2345" in text and "13805919999" not in text
    shot(page, "conflict")
    section.locator("label.side", has_text="138059*9999").locator("input[type=radio]").check()
    shot(page, "chosen")
    page.get_by_role("button", name="选定并处理").click()
    assert "冲突已处理" in page.locator("[role=status]").inner_text()
    assert page.locator("section.conflict").count() == 0
    shot(page, "resolved")
    with node(homes.station) as here:
        state, _ = load_case(here, homes.case_no)
        assert state.open_conflicts == [] and state.form["phone"] == "13805919999"
        assert here.store.query_one("SELECT staff FROM audit WHERE action = 'conflict.resolve'")["staff"] == "admin"
    page.context.close()


def test_the_back_office_pages_fit_1024_and_the_seal_page_reads(servers, browser, shot):
    page = new_page(browser)
    sign_in(page, servers["station"].url, "admin")
    for path in ("/sync", "/conflicts", "/seals"):
        page.goto(servers["station"].url + path)
        fits(page)
        shot(page, "station" + path.replace("/", "-"))
    assert "证书有效期" in page.locator("main").inner_text()
    page.context.close()
    page = new_page(browser)
    sign_in(page, servers["county"].url, "countyadmin")
    for path in ("/enrol", "/decide", "/publish"):
        page.goto(servers["county"].url + path)
        fits(page)
        shot(page, "county" + path.replace("/", "-"))
    page.context.close()


def test_a_clerk_syncs_now_with_the_county_over_http(servers, homes, browser, shot):
    from edgenode.replication.peers import set_url

    with node(homes.station) as here:
        set_url(here, homes.county_id, servers["county"].url, staff="test")
    page = new_page(browser)
    sign_in(page, servers["station"].url, "clerk")
    page.get_by_role("link", name="同步").click()
    page.get_by_role("button", name="立即同步").click()
    done = page.locator("[role=status]").inner_text()
    assert "同步完成" in done and homes.county_id in done, page.locator("main").inner_text()[:600]
    assert not page.locator("[role=alert]").count()
    shot(page, "synced-now")
    with node(homes.station) as here:
        assert here.store.query_one("SELECT count(*) AS n FROM repl_outbox WHERE recipient = ? AND status = 'pending'",
                                    (homes.county_id,))["n"] == 0
        assert here.store.query_one("SELECT staff FROM audit WHERE action = 'sync.now'")["staff"] == "clerk"
    page.context.close()
