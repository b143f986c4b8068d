"""The back-office pages over plain HTTP (Flask test client on real enrolled nodes): USB export and import
through the 同步 page, folder-path tricks refused, set-aside packets released, 冲突 resolved by choosing a
side, 印章 warnings, and at the county: catalog publish (every error shown, escaped), enrolment, decisions."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import timedelta
from markupsafe import escape
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sealing.conftest import PASSPHRASE, create_request_file, rendered_once, runtime_dir  # noqa: F401
from tests.web.backoffice import MEDIATION, Pair, bad_catalog, build, good_catalog, receive, scans
from tests.web.conftest import _web, csrf_of, login_of


@pytest.fixture(scope="module")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    base = tmp_path_factory.mktemp("backoffice")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDGENODE_RUNTIME_DIR", str(base / "run"))
        return build(base, conflict=True)


@pytest.fixture
def pair(_template: Pair, tmp_path: Path) -> Pair:
    shutil.copytree(_template.county, tmp_path / "county")
    shutil.copytree(_template.station, tmp_path / "station")
    return Pair(tmp_path / "county", tmp_path / "station", _template.county_id, _template.station_id,
                _template.case_no)


@pytest.fixture
def station(pair: Pair) -> Iterator:
    made = _web(pair.station)
    yield made
    made.app.extensions["edgenode"].pool.close_current()


@pytest.fixture
def county(pair: Pair) -> Iterator:
    made = _web(pair.county)
    yield made
    made.app.extensions["edgenode"].pool.close_current()


def post(web, client, url: str, data: dict, **extra):
    return client.post(url, data={**data, "csrf_token": web.csrf(client)}, **extra)


def audit(web, action: str) -> list[str]:
    with web.node() as node:
        return [r["staff"] for r in node.store.query("SELECT staff FROM audit WHERE action = ? ORDER BY seq", (action,))]


def text(answer) -> str:
    return answer.get_data(as_text=True)


# -- 同步 --------------------------------------------------------------------------------------------
def test_the_sync_page_shows_the_upstream_its_backlog_and_a_clock_warning_in_red(station, pair):
    with station.node() as node:
        with node.store.write():
            node.store.conn.execute("UPDATE repl_peers SET clock_skew_ms = 900000, last_contact = ? WHERE node_id = ?",
                                    (node.now().isoformat(), pair.county_id))
        pending = node.store.query_one("SELECT count(*) AS n FROM repl_outbox WHERE status = 'pending'")["n"]
    page = text(station.signed_in("seal_custodian").get("/sync"))
    assert pair.county_id in page and "罗源县政务服务中心" in page
    assert re.search(r'<span class="danger">900 秒</span>', page)
    assert re.search(r'class="warn danger">本机时钟比 \S+ 慢约 15 分钟', page)
    assert "立即同步" not in page and "导出到U盘" not in page          # the seal custodian only looks
    page = text(station.signed_in("clerk").get("/sync"))
    assert "立即同步" in page and "导出到U盘" in page and "放行" not in page
    assert pending >= 0


def test_a_clerk_exports_for_usb_and_the_county_imports_and_the_receipts_come_back(station, county, pair, tmp_path):
    usb = tmp_path / "usb"
    usb.mkdir()
    clerk = station.signed_in("clerk")
    answer = post(station, clerk, "/sync-usb", {"op": "export", "folder": str(usb)})
    assert answer.status_code == 200, text(answer)[-800:]
    page = text(answer)
    assert "已导出到" in page and pair.county_id in page
    written = sorted(p.name for p in usb.glob("*.enpkt"))
    assert written and (usb / "manifest.json").is_file()
    assert audit(station, "sync.export") == [login_of("clerk")]
    with county.node() as node:
        before = node.store.query_one("SELECT count(*) AS n FROM cases")["n"]
    answer = post(county, county.signed_in("clerk"), "/sync-usb", {"op": "import", "folder": str(usb)})
    assert answer.status_code == 200 and "已从" in text(answer) and "WEB_" not in text(answer), text(answer)[-800:]
    with county.node() as node:
        assert node.store.query_one("SELECT count(*) AS n FROM cases")["n"] == before + 1
    assert list(usb.glob("*.enrcpt")) and audit(county, "sync.import") == [login_of("clerk")]
    answer = post(station, clerk, "/sync-usb", {"op": "import", "folder": str(usb)})
    assert answer.status_code == 200 and f"回执 {len(written)} 个" in text(answer)
    with station.node() as node:
        assert node.store.query_one("SELECT count(*) AS n FROM repl_outbox WHERE recipient = ? AND status = 'pending'",
                                    (pair.county_id,))["n"] == 0


def _tricks(tmp: Path, home: Path) -> list[tuple[str, str]]:
    (tmp / "usb").mkdir(exist_ok=True)
    (tmp / "a-file").write_text("x")
    (home / "inside").mkdir(exist_ok=True)
    os.symlink(home, tmp / "link-to-home")
    return [("", "WEB_080"), ("   ", "WEB_080"), ("usb", "WEB_082"), ("./usb", "WEB_082"),
            (f"{tmp}/usb/../usb", "WEB_083"), (f"{home}/../{home.name}", "WEB_083"), (f"{tmp}/nowhere", "WEB_084"),
            (f"{tmp}/a-file", "WEB_084"), (str(home), "WEB_085"), (f"{home}/inside", "WEB_085"),
            (f"{home}/keys", "WEB_085"), (f"{tmp}/link-to-home", "WEB_085"), (f"{tmp}/link-to-home/inside", "WEB_085"),
            (f"{tmp}/usb\x00/etc", "WEB_081"), (f"{tmp}/u\nsb", "WEB_081"),
            ("/" + "a" * 1100, "WEB_081")]


def test_folder_path_tricks_are_refused_before_anything_is_written(station, pair, tmp_path):
    clerk = station.signed_in("clerk")
    tricks = _tricks(tmp_path, pair.station)
    for typed, code in tricks:
        for op in ("export", "import"):
            answer = post(station, clerk, "/sync-usb", {"op": op, "folder": typed})
            assert answer.status_code == 400 and code in text(answer), (typed, op, text(answer)[-600:])
    assert audit(station, "sync.export") == [] and audit(station, "sync.import") == []
    assert not list(pair.station.rglob("*.enpkt")) and not list(tmp_path.glob("*.enpkt"))


_PARTS = st.sampled_from(["usb", "..", ".", "home", "keys", "link", "file", "x y", "无", "", "\x01"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(_PARTS, max_size=6), absolute=st.booleans(), noise=st.text(max_size=12))
def test_a_checked_folder_is_always_an_existing_directory_outside_the_node_home(parts, absolute, noise):
    from edgenode.web.auth import PageError
    from edgenode.web.pages_sync import checked_folder

    with tempfile.TemporaryDirectory() as raw:
        base = Path(raw).resolve()
        home = base / "home"
        (home / "keys").mkdir(parents=True)
        (base / "usb").mkdir()
        (base / "file").write_text("x")
        os.symlink(home, base / "link")
        typed = (str(base) + "/" if absolute else "") + "/".join(parts) + noise
        try:
            got = checked_folder(typed, home)
        except PageError as exc:
            assert exc.status == 400 and re.fullmatch(r"WEB_08[0-5]", exc.code)
            return
        assert got.is_dir() and got.is_absolute() and ".." not in typed.split("/")
        assert got != home.resolve() and home.resolve() not in got.parents


def test_a_packet_set_aside_is_released_after_the_clock_is_fixed_and_a_refused_one_requeued(station, county, pair,
                                                                                            tmp_path):
    from edgenode.node import Node
    from tests.web.backoffice import PENSION, clock

    fast = clock()
    fast.at += timedelta(hours=1)           # a case received on a station whose clock runs an hour fast
    with Node.open(pair.station, fast) as node:
        receive(node, scans(tmp_path / "scans"), PENSION)
    usb = tmp_path / "usb"
    usb.mkdir()
    clerk = station.signed_in("clerk")
    post(station, clerk, "/sync-usb", {"op": "export", "folder": str(usb)})
    answer = post(county, county.signed_in("clerk"), "/sync-usb", {"op": "import", "folder": str(usb)})
    assert "CASE_047" in text(answer)
    admin = county.signed_in("admin")
    page = text(admin.get("/sync"))
    [held] = re.findall(r'action="/packets/([^"]+)"', page)[:1]
    assert "搁置" in page and "CASE_047" in page
    assert post(county, county.signed_in("clerk"), f"/packets/{held}", {"op": "release"}).status_code == 403
    answer = post(county, admin, f"/packets/{held}", {"op": "release"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/sync?msg=still"
    county.clock.at += timedelta(hours=1)
    admin = county.signed_in("admin")       # an hour later: a new session
    answer = post(county, admin, f"/packets/{held}", {"op": "release"})
    assert answer.headers["Location"] == "/sync?msg=released"
    assert audit(county, "sync.release") == [login_of("admin")] * 2
    # the station learns of the refusal from the receipt and can send the content again
    post(station, clerk, "/sync-usb", {"op": "import", "folder": str(usb)})
    reviewer = station.signed_in("reviewer")
    page = text(reviewer.get("/sync"))
    assert "被拒收" in page and "重新发送" in page
    [refused] = re.findall(r'action="/packets/([^"]+)"', page)[:1]
    assert post(station, reviewer, f"/packets/{refused}", {"op": "dismiss", "note": ""}).status_code == 400
    answer = post(station, reviewer, f"/packets/{refused}", {"op": "requeue"})
    assert answer.headers["Location"] == "/sync?msg=requeued"
    assert "已重新排队" in text(reviewer.get("/sync?msg=requeued")) and audit(station, "sync.requeue") == ["reviewer"]


def test_sync_now_without_an_upstream_address_says_so(station):
    answer = post(station, station.signed_in("clerk"), "/sync-now", {})
    assert answer.status_code == 400 and "WEB_087" in text(answer)
    assert audit(station, "sync.now") == ["clerk"]


# -- 冲突 --------------------------------------------------------------------------------------------
def test_a_conflict_shows_both_values_masked_and_is_resolved_by_choosing_one(station, pair):
    from edgenode.cases.service import load_case

    page = text(station.signed_in("clerk").get("/conflicts"))
    assert pair.case_no in page and MEDIATION in page and "待处理 1 个" in page
    assert "13905912345" not in page and "13805919999" not in page
    assert "139059*2345" in page and "138059*9999" in page
    assert page.count("站点代办员 @ ") == 1 and page.count("县级工作人员 @ ") == 1 and "2026-11-16 09:30" in page
    assert "选定并处理" not in page                                       # a clerk may look, not resolve
    admin = station.signed_in("admin")
    page = text(admin.get("/conflicts"))
    choices = dict(re.findall(r'name="choice" value="([^"]+)" required>\s*<strong class="value">([^<]+)<', page))
    assert sorted(choices.values()) == ["138059*9999", "139059*2345"]
    county_side = next(e for e, v in choices.items() if v == "138059*9999")
    [case_id] = re.findall(r'action="/conflicts/([^"]+)"', page)
    answer = post(station, admin, f"/conflicts/{case_id}", {"field": "phone", "choice": "not-an-event"})
    assert answer.status_code == 400 and "WEB_090" in text(answer)
    answer = post(station, admin, f"/conflicts/{case_id}", {"field": "phone", "choice": county_side})
    assert answer.status_code == 303
    with station.node() as node:
        state, _ = load_case(node, pair.case_no)
        assert state.open_conflicts == [] and state.form["phone"] == "13805919999"
    assert audit(station, "conflict.resolve") == ["admin"]
    assert "没有待处理的冲突" in text(admin.get("/conflicts?msg=resolved"))
    answer = post(station, admin, f"/conflicts/{case_id}", {"field": "phone", "choice": county_side})
    assert answer.status_code == 400 and "WEB_092" in text(answer)


def test_home_names_an_open_conflict_by_its_case_and_the_form_label(station, pair):
    from tests.conftest import item_named

    label = next(f["label"] for f in item_named(MEDIATION)["form"]["fields"] if f["name"] == "phone")
    card = text(station.signed_in("clerk").get("/")).split("待处理冲突", 1)[1].split("</section>", 1)[0]
    assert "<strong>1</strong>" in card and pair.case_no in card and label in card and "phone" not in card


def test_conflict_values_that_look_like_id_numbers_are_masked():
    from edgenode.web.pages_conflicts import shown_value

    assert shown_value("field", "35012319560315123X") == "350123********123X"
    assert shown_value("field", "家住 35012319560315123X 号") == "家住 350123********123X 号"
    assert shown_value("field", "12345") == "12345" and shown_value("field", None) == "（空）"
    assert shown_value("decision", "denied") == "不予"


# -- 印章 --------------------------------------------------------------------------------------------
def test_the_seal_page_shows_validity_and_turns_red_near_expiry_and_when_the_list_is_stale(station):
    custodian = station.signed_in("seal_custodian")
    page = text(custodian.get("/seals"))
    assert "证书有效期" in page and "已上锁" in page and "吊销列表" in page
    assert 'class="danger"' not in page
    station.clock.at += timedelta(days=6, hours=12)
    page = text(station.signed_in("seal_custodian").get("/seals"))      # days later: new sessions
    assert re.search(r'class="danger" role="alert">吊销列表将于 \S+ \S+ 到期', page)
    station.clock.at += timedelta(days=2)
    assert "吊销列表已过期" in text(station.signed_in("seal_custodian").get("/seals"))
    station.clock.at += timedelta(days=2 * 365 - 30)
    page = text(station.signed_in("seal_custodian").get("/seals"))
    assert re.search(r"印章证书将于 \S+ 到期（剩 \d+ 天）", page) and '<span class="danger">' in page


def test_the_seal_page_of_an_unenrolled_node_says_so(web):
    answer = web.signed_in("clerk").get("/seals")
    assert answer.status_code == 200 and "SEAL_012" in text(answer)


# -- county: 目录发布 ---------------------------------------------------------------------------------
def _upload(web, client, url: str, field: str, data: bytes, name: str, **form):
    from io import BytesIO

    return client.post(url, data={field: (BytesIO(data), name), "csrf_token": web.csrf(client), **form},
                       content_type="multipart/form-data")


def _released(web) -> int:
    with web.node() as node:
        return node.store.query_one("SELECT max(version) AS v FROM repl_releases")["v"]


def test_a_catalog_with_errors_shows_every_error_escaped_and_publishes_nothing(county):
    from edgenode.catalog import CatalogRejected, read_catalog_bytes

    admin = county.signed_in("county_admin")
    before = _released(county)
    markup = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    data = bad_catalog(before + 1, markup=markup)
    with pytest.raises(CatalogRejected) as rejected:
        read_catalog_bytes(data)
    answer = _upload(county, admin, "/publish", "catalog", data, "目录.json")
    page = text(answer)
    assert answer.status_code == 400 and "WEB_095" in page
    assert len(rejected.value.errors) >= 3 and f"有 {len(rejected.value.errors)} 处错误" in page
    for problem in rejected.value.problems:
        assert str(escape(problem.item)) in page and str(escape(problem.message)) in page
        assert str(escape(problem.key)) in page
    assert "<script>" not in page and "<img src=x" not in page
    assert _released(county) == before


def test_the_county_admin_previews_the_changes_and_publishes_a_signed_release(county):
    admin = county.signed_in("county_admin")
    before = _released(county)
    answer = _upload(county, admin, "/publish", "catalog", good_catalog(before + 1), "目录.json")
    page = text(answer)
    assert answer.status_code == 200, page[-800:]
    assert "新增 <strong>0</strong> 项，删除 <strong>1</strong> 项，修改 <strong>1</strong> 项" in page
    assert "（新版）" in page and "名称（name）" in page
    [digest] = re.findall(r'name="upload" value="([0-9a-f]{64})"', page)
    assert post(county, admin, "/publish/confirm", {"upload": "../" + digest}).status_code == 400
    answer = post(county, admin, "/publish/confirm", {"upload": digest})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/publish?published={before + 1}"
    assert _released(county) == before + 1
    with county.node() as node:
        from edgenode.catalog_store import current_version

        assert current_version(node.store) == before + 1
    assert audit(county, "catalog.publish")[-1] == login_of("county_admin")
    assert f"已发布目录第 {before + 1} 版" in text(admin.get(answer.headers["Location"]))


def test_only_the_county_admin_may_publish_and_only_on_a_county(county, station):
    clerk = county.signed_in("clerk")
    assert clerk.get("/publish").status_code == 403
    assert _upload(county, clerk, "/publish", "catalog", good_catalog(9), "x.json").status_code == 403
    assert station.signed_in("admin").get("/publish").status_code == 403


# -- county: 节点注册 ---------------------------------------------------------------------------------
def test_the_county_admin_enrols_a_station_from_its_request_file_and_the_bundle_works(county, tmp_path):
    from tests.conftest import make_node
    from tests.web.backoffice import clock

    from edgenode.sealing.enrolment import accept_bundle

    other = make_node(tmp_path / "other", clock(), name="罗源县起步镇北山村便民服务站")
    try:
        request = create_request_file(other, tmp_path / "request.json").read_bytes()
        admin = county.signed_in("county_admin")
        answer = _upload(county, admin, "/enrol", "request", request, "req.json", passphrase="wrong-passphrase-x")
        assert answer.status_code == 400 and "SEALS_016" in text(answer)
        answer = _upload(county, admin, "/enrol", "request", request, "req.json", passphrase=PASSPHRASE)
        page = text(answer)
        assert answer.status_code == 200 and "已为" in page, page[-800:]
        [link] = re.findall(r'href="(/enrol/[^"]+/bundle)"', page)[:1]
        bundle = admin.get(link)
        assert bundle.status_code == 200 and "attachment" in bundle.headers["Content-Disposition"]
        summary = re.search(r'县级CA指纹：<span class="code">([0-9a-f]+)</span>', page).group(1)
        accepted = accept_bundle(other, bundle.get_data(), ca_fingerprint=summary, staff="站长")
        assert accepted and other.config.node_id in text(admin.get("/enrol"))
        assert audit(county, "ca.enrol")[-1] == login_of("county_admin")
        assert admin.get("/enrol/not-an-enrolment/bundle").status_code == 404
    finally:
        other.close()


# -- county: 待决定 -----------------------------------------------------------------------------------
def test_the_county_decides_a_case_that_arrived_deny_needs_a_reason(county, pair):
    from edgenode.cases.service import load_case

    admin = county.signed_in("county_admin")
    page = text(admin.get("/decide"))
    assert pair.case_no in page and MEDIATION in page
    [case_id] = re.findall(r'action="/decide/([^"]+)"', page)[:1]
    answer = post(county, admin, f"/decide/{case_id}", {"op": "deny", "reason": " "})
    assert answer.status_code == 400 and "WEB_101" in text(answer)
    answer = post(county, admin, f"/decide/{case_id}", {"op": "deny", "reason": "理由<b>"})
    assert answer.status_code == 400 and "CASE_014" in text(answer) and "理由<b>" not in text(answer)
    answer = post(county, admin, f"/decide/{case_id}", {"op": "deny", "reason": "调解事项不属于人民调解委员会受理范围"})
    assert answer.status_code in (200, 303), re.findall(r'role="alert">(.*?)</div>', text(answer), re.S)
    with county.node() as node:
        state, _ = load_case(node, pair.case_no)
        assert state.status == "decided" or state.decision["outcome"] == "denied"
    assert audit(county, "case.decide") == [login_of("county_admin")]
    assert pair.case_no not in text(admin.get("/decide"))
    assert county.signed_in("clerk").get("/decide").status_code == 403


def test_the_conflicts_page_lists_what_list_conflicts_lists_before_and_after_new_events(station, pair, tmp_path):
    from edgenode.cases.edits import list_conflicts, resolve_conflict
    from edgenode.web.pages_conflicts import open_conflicts

    def same(node) -> None:
        mine = [(c["case_id"], c["field"], [v["event"] for v in c["values"]]) for c in open_conflicts(node)]
        theirs = [(c["case_id"], c["field"], [v["event"] for v in c["values"]]) for c in list_conflicts(node)]
        assert mine == theirs

    with station.node() as node:
        same(node)
        same(node)                       # from the kept folds
        assert len(open_conflicts(node)) == 1
        resolve_conflict(node, pair.case_no, "phone", "13805919999", "站点管理员")
        same(node)                       # the case gained an event: folded again
        assert open_conflicts(node) == []
