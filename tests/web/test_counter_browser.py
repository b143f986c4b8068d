"""The counter in a real browser (Debian's chromium) against a real `edgenode serve --scan-folder` on a station
enrolled with its county, seal unlocked for the day: a clerk receives a complete case with uploads and a scan
from the scanner folder and prints its sealed notice (which verifies), receives an incomplete one and gets the
one-time notice listing every missing material, records the applicant's evaluation (then the form is gone),
and the case page fits 1024x768. Screenshots at every step (test-output/screenshots/)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import fill_form, item_named
from tests.web.conftest import PASSWORD
from tests.web.counter_support import sealed_home, serve_sealed, verify_pdf
from tests.web.test_counter_pages import PDF, PNG

DIBAO = "最低生活保障申请"
PENSION = "城乡居民基本养老保险参保登记"


@pytest.fixture(scope="module")
def counter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    base = tmp_path_factory.mktemp("counter")
    runtime = base / "run"
    scans = base / "scanner"
    scans.mkdir()
    home = sealed_home(base / "nodes", runtime)
    proc = serve_sealed(home, runtime, scans)
    proc.scans = scans
    yield proc
    assert proc.terminate() == 0, proc.stderr()[-2000:]


def sign_in(page, url: str, login: str = "clerk") -> None:
    page.goto(url + "/login")
    page.get_by_label("登录名").fill(login)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    assert page.url == url + "/"


def wait_for(check, what: str) -> None:
    for _ in range(600):              # a hang guard (the watcher settles in about a second), not a timing assertion
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def fill(page, item: dict[str, Any], values: dict[str, Any]) -> None:
    for spec in item["form"]["fields"]:
        name, kind = spec["name"], spec["type"]
        if name not in values:
            continue
        value = values[name]
        if kind == "choice":
            page.locator(f"#fld-{name}").select_option(value)
        elif kind == "multi_choice":
            for v in value:
                page.locator(f'input[name="f_{name}"][value="{v}"]').check()
        elif kind == "boolean":
            page.locator(f'input[name="f_{name}"][value="{"true" if value else "false"}"]').check()
        else:
            page.locator(f"#fld-{name}").fill(str(value))


def start_intake(page, url: str, name: str, shot) -> dict[str, Any]:
    page.get_by_role("link", name="收件").click()
    page.get_by_label("搜索事项").fill(name[:4])
    page.get_by_role("button", name="搜索").click()
    shot(page, "pick-item")
    page.get_by_role("link", name=f"收件：{name}").click()
    assert page.get_by_role("heading", name=f"收件：{name}").is_visible()
    return item_named(name)


def download(page, href: str) -> bytes:
    answer = page.request.get(href)
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    return answer.body()


def test_a_clerk_receives_a_complete_case_with_scans_and_prints_its_sealed_notice(counter, page, shot, tmp_path):
    (counter.scans / "户口簿扫描.png").write_bytes(PNG)
    sign_in(page, counter.url)

    def offered() -> bool:
        page.goto(counter.url + "/intake")
        return "户口簿扫描.png" in page.locator(".scan-offers").inner_text()

    wait_for(offered, "the scanner folder to offer the new scan")
    shot(page, "scan-offered")
    page.goto(counter.url + "/")
    item = start_intake(page, counter.url, DIBAO, shot)
    values = fill_form(item)
    id_field = next(f["name"] for f in item["form"]["fields"] if f["type"] == "id_card")
    fill(page, item, values)
    good = values[id_field]
    page.locator(f"#fld-{id_field}").fill(good[:-1] + ("0" if good[-1] != "0" else "1"))
    assert page.locator(".id-check").first.inner_text() == "校验位错误，请核对号码"     # checked while typing
    shot(page, "id-number-wrong-while-typing")
    page.locator(f"#fld-{id_field}").fill(good)
    assert page.locator(".id-check").first.inner_text() == "号码校验通过"
    shot(page, "form-filled")
    page.get_by_role("button", name="下一步：材料").click()
    assert page.get_by_role("heading", name=f"收件：{DIBAO} 第 3 步：材料").is_visible()
    assert "户口簿扫描.png" in page.locator("select[name=scan_hkb]").inner_text()
    for mid in ("sfz", "dbsqs", "hdsqq", "srsm"):
        path = tmp_path / f"{mid}.pdf"
        path.write_bytes(PDF)
        page.locator(f"input[name=file_{mid}]").set_input_files(str(path))
    page.locator("select[name=scan_hkb]").select_option("户口簿扫描.png")
    shot(page, "materials")
    page.get_by_role("button", name="提交收件").click()
    result = page.locator(".result")
    assert "收件完成" in result.inner_text() and "已受理" in result.inner_text()
    shot(page, "result")
    assert not (counter.scans / "户口簿扫描.png").exists()           # moved into the case's blobs
    href = page.get_by_role("link", name="打印受理通知书").get_attribute("href")
    check = verify_pdf(counter.home, download(page, counter.url + href))
    assert check.valid and check.data.kind == "acceptance"
    materials = page.locator("table.materials").inner_text()
    assert "户口簿扫描.png" in materials and "sfz.pdf" in materials
    shot(page, "case-page")


def test_an_incomplete_case_gets_the_one_time_notice_with_every_missing_material(counter, page, shot, tmp_path):
    sign_in(page, counter.url)
    item = start_intake(page, counter.url, DIBAO, shot)
    fill(page, item, fill_form(item))
    page.get_by_role("button", name="下一步：材料").click()
    path = tmp_path / "sfz.pdf"
    path.write_bytes(PDF)
    page.locator("input[name=file_sfz]").set_input_files(str(path))
    page.locator("input[name=file_dbsqs]").set_input_files(str(path))
    page.get_by_label("最低生活保障申请书 不符合要求的原因").fill("申请人未签名")
    page.locator('input[name=m_hkb][value=e_licence]').check()
    shot(page, "materials-incomplete")
    page.get_by_role("button", name="提交收件").click()
    result = page.locator(".result").inner_text()
    assert "已一次性告知" in result
    for name in ("最低生活保障申请书（申请人未签名）", "家庭经济状况核对授权书", "家庭收入和财产状况申报表"):
        assert name in result
    assert "户口簿" not in result                                     # the e-licence stands in for it
    shot(page, "one-time-result")
    href = page.get_by_role("link", name="打印一次性告知书").get_attribute("href")
    check = verify_pdf(counter.home, download(page, counter.url + href))
    assert check.valid and check.data.kind == "one_time"
    listed = " ".join(str(m) for m in check.data.materials) if hasattr(check.data, "materials") else ""
    assert listed == "" or "家庭经济状况核对授权书" in listed


def test_a_clerk_records_the_applicants_evaluation_once_and_the_case_page_fits_1024(counter, page, small_page,
                                                                                     shot, tmp_path):
    sign_in(page, counter.url)
    item = start_intake(page, counter.url, PENSION, shot)
    fill(page, item, fill_form(item))
    page.get_by_role("button", name="下一步：材料").click()
    for mid in ("sfz", "cbdjb"):
        path = tmp_path / f"{mid}.pdf"
        path.write_bytes(PDF)
        page.locator(f"input[name=file_{mid}]").set_input_files(str(path))
    page.get_by_role("button", name="提交收件").click()
    case_url = page.url.split("?")[0]
    page.goto(case_url)
    assert page.get_by_role("button", name="记录评价").is_visible()
    page.get_by_label("非常满意").check()
    page.get_by_label("评价渠道").select_option("现场评价器")
    shot(page, "evaluation-form")
    page.get_by_role("button", name="记录评价").click()
    assert "已记录申请人的评价" in page.locator("[role=status]").inner_text()
    assert "申请人本人经现场评价器评价：非常满意" in page.locator(".evaluation").inner_text()
    assert page.get_by_role("button", name="记录评价").count() == 0
    shot(page, "evaluation-recorded")

    sign_in(small_page, counter.url)
    small_page.goto(case_url)
    assert small_page.get_by_role("heading", name="办件").is_visible() or small_page.locator("h1").is_visible()
    overflow = small_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the case page scrolls sideways at 1024x768"
    shot(small_page, "case-page-1024")
    small_page.get_by_role("link", name="办件").first.click()
    listing = small_page.locator("table.cases").inner_text()
    assert "********" in listing
    overflow = small_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the case list scrolls sideways at 1024x768"
    shot(small_page, "case-list-1024")
    item = start_intake(small_page, counter.url, DIBAO, shot)
    fill(small_page, item, fill_form(item))
    shot(small_page, "form-1024")
    small_page.get_by_role("button", name="下一步：材料").click()
    overflow = small_page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the materials step scrolls sideways at 1024x768"
    shot(small_page, "materials-1024")
