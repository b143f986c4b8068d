"""收件 and 办件 over plain HTTP (Flask test client on a real node): the steps keep nothing in the case store
until the last one, every error shown at once next to its field, uploads checked by content, scanner folder
names that try to leave the folder refused, XSS escaped on the result and case pages, ID numbers masked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from tests.conftest import fill_form, item_named
from tests.web.conftest import csrf_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
ITEM = "城乡居民基本养老保险参保登记"     # sfz (e-licence possible), hkb (optional), cbdjb: all at a village


def form_data(item: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in fill_form(item, **overrides).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        data["f_" + name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def cases_count(web) -> int:
    node = web.node()
    try:
        return node.store.query_one("SELECT count(*) AS n FROM cases")["n"]
    finally:
        node.close()


def step_form(web, client, item, **overrides):
    token = csrf_of(client.get(f"/intake/{item['code']}").get_data(as_text=True))
    return client.post(f"/intake/{item['code']}", data={"csrf_token": token, "step": "form",
                                                         **form_data(item, **overrides)})


def step_materials(client, item, html: str, data: dict[str, Any]):
    fields: dict[str, Any] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html):
        fields.setdefault(name, []).append(_unescape(value))
    fields["step"] = "materials"
    fields.update(data)
    return client.post(f"/intake/{item['code']}", data=fields, content_type="multipart/form-data")


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def scan(content: bytes, name: str):
    import io

    return (io.BytesIO(content), name)


def test_a_complete_case_is_received_in_two_steps_and_nothing_is_written_before_the_last(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    picked = client.get("/intake?q=养老保险").get_data(as_text=True)
    assert ITEM in picked and f"/intake/{item['code']}" in picked
    answer = step_form(web, client, item)
    assert answer.status_code == 200, answer.get_data(as_text=True)[-1500:]
    html = answer.get_data(as_text=True)
    assert "第 3 步：材料" in html and cases_count(web) == 0
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "身份证.pdf"),
                                                 "file_cbdjb": scan(PNG, "登记表.png")})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-2000:]
    assert cases_count(web) == 1
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "收件完成" in page and "已受理" in page
    assert "身份证.pdf" in page and "登记表.png" in page


def test_every_form_error_is_shown_at_once_next_to_its_field_and_nothing_is_written(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    id_field = next(f["name"] for f in item["form"]["fields"] if f["type"] == "id_card")
    required = [f for f in item["form"]["fields"] if f.get("required") and f["type"] in ("text", "address")]
    data = form_data(item, **{id_field: "350123199001011235"})      # wrong GB 11643 check character
    for field in required:
        data["f_" + field["name"]] = ""
    token = csrf_of(client.get(f"/intake/{item['code']}").get_data(as_text=True))
    answer = client.post(f"/intake/{item['code']}", data={"csrf_token": token, "step": "form", **data})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "CASE_002" in html
    assert len(required) >= 2
    for field in [*required, next(f for f in item["form"]["fields"] if f["name"] == id_field)]:
        block = html.split(f'id="fld-{field["name"]}"', 1)[1].split('<div class="field', 1)[0]
        assert 'class="field-error"' in block and field["label"] in block, field["name"]
    assert "校验" in html
    assert 'value="350123199001011235"' in html                      # what the clerk typed stays in the form
    assert cases_count(web) == 0


def test_an_incomplete_case_gets_the_one_time_notice_listing_every_missing_and_defective_material(web):
    item = item_named("最低生活保障申请")
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "sfz.pdf"),
                                                 "file_dbsqs": scan(PDF, "申请书.pdf"), "defect_dbsqs": "未签名"})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-2000:]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "已一次性告知（待补正）" in page and "一次性告知书" in page
    listed = page.split("一次性告知需补正的全部材料：", 1)[1].split("</p>", 1)[0]
    for name in ("申请人及共同生活家庭成员户口簿", "最低生活保障申请书（未签名）", "家庭经济状况核对授权书", "家庭收入和财产状况申报表"):
        assert name in listed
    assert "结婚证" not in listed                                    # optional materials are not demanded
    assert "文书暂未盖章" in page                                     # this station has no seal: said, not hidden


def test_material_mistakes_are_all_shown_and_an_uploaded_scan_survives_the_second_try(web):
    item = item_named("医疗救助")
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {
        "file_sfz": scan(PDF, "sfz.pdf"),
        "m_jzsqs": "tolerated",                                   # not tolerable
        "m_fyqd": "provided",                                     # provided without a file
        "file_jjzk": scan(b"MZ\x90\x00 not a scan", "证明.pdf"),   # not a scan by content
        "defect_hkb": "复印件不清晰"})                              # defective but not provided
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and cases_count(web) == 0
    for mid, words in (("jzsqs", "不允许容缺受理"), ("fyqd", "WEB_055"), ("jjzk", "WEB_052"), ("hkb", "不能标记为不符合要求")):
        row = html.split(f'id="mat-{mid}"', 1)[1].split("</tr>", 1)[0]
        assert words in row, mid
    assert "不是 PDF、JPEG 或 PNG 文件" in html
    assert "已上传：sfz.pdf" in html                                 # staged, not asked again
    answer = step_materials(client, item, html, {"m_jzsqs": "none", "m_fyqd": "none", "m_jjzk": "committed",
                                                 "defect_hkb": ""})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-3000:]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "sfz.pdf" in page and "告知承诺" in page


@pytest.mark.parametrize("field_type", ["text", "address", "textarea"])
def test_typed_text_is_escaped_on_the_result_and_case_pages(web, field_type):
    item = item_named("最低生活保障申请")
    fields = [f for f in item["form"]["fields"] if f["type"] == field_type and not f.get("pattern")]
    assert fields   # (fields with a pattern refuse the payload; the refused value is escaped as below)
    client = web.signed_in("clerk")
    payload = "x\" onmouseover='alert(1)' & y < img src=x onerror=alert(2) >"
    overrides = {f["name"]: payload[: f.get("max", 200)] if f["type"] != "textarea" else payload for f in fields}
    html = step_form(web, client, item, **overrides).get_data(as_text=True)
    assert "第 3 步" in html, html[-2000:]
    assert payload not in html and "onmouseover=&#39;alert(1)&#39;" in html
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, payload[:40] + ".pdf"),
                                                 "file_dbsqs": scan(PDF, "a.pdf"), "defect_dbsqs": "<script>alert(3)</script>"})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-2000:]
    for url in (answer.headers["Location"], answer.headers["Location"].split("?")[0], "/cases"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in page and "< img" not in page and "onmouseover='" not in page
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    for value in overrides.values():
        assert str(escape(value.strip())) in page  # shown, escaped (&#34; &#39; &amp; &lt; &gt;)
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page


def test_markup_typed_into_the_form_is_refused_and_shown_escaped(web):
    item = item_named(ITEM)
    name_field = "applicant_name"
    client = web.signed_in("clerk")
    answer = step_form(web, client, item, **{name_field: "<script>alert(1)</script>"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_id_numbers_are_masked_in_the_case_list_and_the_list_filters_and_pages(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    from forms import id_card_check_char

    id_number = "35012319900101123" + id_card_check_char("35012319900101123")
    html = step_form(web, client, item, id_number=id_number).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "a.pdf"), "file_cbdjb": scan(PDF, "b.pdf")})
    assert answer.status_code == 303
    listing = client.get("/cases").get_data(as_text=True)
    masked = "350123********123" + id_number[-1]
    assert id_number not in listing and masked in listing
    case_page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert id_number not in case_page
    assert masked in client.get("/cases?status=accepted").get_data(as_text=True)
    assert masked not in client.get("/cases?status=incomplete").get_data(as_text=True)
    assert masked not in client.get("/cases?from=2026-11-17").get_data(as_text=True)
    case_no = re.search(r'class="case-no">([^<]+)<', case_page).group(1)
    assert case_no in client.get(f"/cases?q={case_no[-6:]}&from=2026-11-16&to=2026-11-16").get_data(as_text=True)
    assert masked in client.get(f"/cases?item={item['code']}").get_data(as_text=True)
    assert masked not in client.get(f"/cases?item={item_named('医疗救助')['code']}").get_data(as_text=True)
    assert "没有符合条件的办件" in client.get("/cases?q=nosuchcase").get_data(as_text=True)
    assert client.get("/cases?page=abc").status_code == 200


def test_an_evaluation_is_recorded_once_then_the_form_is_gone(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "a.pdf"), "file_cbdjb": scan(PDF, "b.pdf")})
    url = answer.headers["Location"].split("?")[0]
    page = client.get(url).get_data(as_text=True)
    assert "记录评价" in page and "请申请人本人评价" in page and "不得代为评价；提交后不可修改" in page
    answer = client.post(url + "/evaluate", data={"csrf_token": csrf_of(page), "level": "满意", "channel": "现场评价器"})
    assert answer.status_code == 303
    page = client.get(url).get_data(as_text=True)
    assert "申请人本人经现场评价器评价：<strong>满意</strong>" in page and "记录评价</button>" not in page
    again = client.post(url + "/evaluate", data={"csrf_token": csrf_of(page), "level": "不满意", "channel": "扫码"})
    assert again.status_code == 400 and "CASE_053" in again.get_data(as_text=True)
    bad_level = client.post(url + "/evaluate", data={"csrf_token": csrf_of(page), "level": "5星", "channel": "扫码"})
    assert bad_level.status_code == 400


def test_correction_after_a_one_time_notice_accepts_the_case(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "a.pdf")})
    url = answer.headers["Location"].split("?")[0]
    page = client.get(url).get_data(as_text=True)
    assert "补正材料" in page and "已一次性告知" in page
    refused = client.post(url + "/correct", data={"csrf_token": csrf_of(page), "file_cbdjb": scan(b"GIF89a", "x.gif")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "WEB_052" in refused.get_data(as_text=True)
    done = client.post(url + "/correct", data={"csrf_token": csrf_of(page), "file_cbdjb": scan(PNG, "登记表.png")},
                       content_type="multipart/form-data")
    assert done.status_code == 303, done.get_data(as_text=True)[-1500:]
    page = client.get(url).get_data(as_text=True)
    assert "已受理" in page and "补正材料：城乡居民基本养老保险参保登记表" in page


def test_scans_open_only_for_the_roles_allowed_and_only_the_cases_own(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "a.pdf"), "file_cbdjb": scan(PNG, "b.png")})
    url = answer.headers["Location"].split("?")[0]
    page = client.get(url).get_data(as_text=True)
    link = re.search(r'href="(/cases/[^"]+/scans/[0-9a-f]{64})"', page).group(1)
    got = client.get(link)
    assert got.status_code == 200 and (got.data, got.mimetype) in ((PDF, "application/pdf"), (PNG, "image/png"))
    admin = web.signed_in("admin")
    assert admin.get(link).status_code == 403 and "无权查看" in admin.get(url).get_data(as_text=True)
    other = "0" * 64
    assert client.get(url + "/scans/" + other).status_code == 404
    assert client.get(url + "/scans/..%2f..%2fconfig.json").status_code == 404
    assert client.get(url + "/notices/1.pdf").status_code == 404    # no seal here: nothing issued


@pytest.mark.parametrize("name, fields, extra, status", [
    ("社会保障卡临时挂失", {}, {}, "已办结"),                                  # 即办: decided on the spot
    (ITEM, {}, {"complex": "1"}, "已收件登记（待审查）"),                      # 收件登记 when the clerk says complex
    ("出生登记（新生儿落户）", {"birth_certificate_number": "Q350123456"}, {},
     "已代收（待移交）"),                                                    # 帮办代办: received on the applicant's behalf
])
def test_the_outcome_follows_the_rules(web, name, fields, extra, status):
    item = item_named(name)
    client = web.signed_in("clerk")
    html = step_form(web, client, item, **fields).get_data(as_text=True)
    uploads = {f"file_{m['id']}": scan(PDF, f"{m['id']}.pdf") for m in item["materials"] if m.get("required", True)}
    answer = step_materials(client, item, html, {**uploads, **extra})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-2000:]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert f"办理结果：<strong>{status}</strong>" in page


def _county_events(home: Path, case_id: str) -> list[str]:
    from edgenode.node import Node
    from tests.web.backoffice import clock

    with Node.open(home, clock()) as county:
        return [r["type"] for r in county.store.query("SELECT type FROM events WHERE case_id = ?", (case_id,))]


def test_a_case_received_and_an_evaluation_recorded_wake_the_running_sync_loop(tmp_path, monkeypatch):
    """The loop waits an hour between rounds here: only the pages' nudge can make the new work leave."""
    from edgenode.replication.loop import SyncLoop
    from edgenode.replication.peers import set_url
    from tests.http.realnet import NodeProcess, wait_for
    from tests.web.backoffice import build
    from tests.web.conftest import _web

    monkeypatch.setenv("EDGENODE_RUNTIME_DIR", str(tmp_path / "run"))
    pair = build(tmp_path, pending=False)
    county = NodeProcess(pair.county, tmp_path / "logs", "--no-sync").ready()
    web = _web(pair.station)
    loop = SyncLoop(pair.station, web.clock, interval=3600)
    try:
        with web.node() as node:
            set_url(node, pair.county_id, county.url, staff="test")
        loop.start()
        wait_for(lambda: bool(loop.states()) and loop.states()[0].up is True, "the first round with the county")
        item = item_named(ITEM)
        client = web.signed_in("clerk")
        html = step_form(web, client, item).get_data(as_text=True)
        answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "a.pdf"), "file_cbdjb": scan(PNG, "b.png")})
        url = answer.headers["Location"].split("?")[0]
        case_id = url.rsplit("/", 1)[1]
        wait_for(lambda: "CaseAccepted" in _county_events(pair.county, case_id), "the new case at the county")
        page = client.get(url).get_data(as_text=True)
        answer = client.post(url + "/evaluate", data={"csrf_token": csrf_of(page), "level": "满意", "channel": "扫码"})
        assert answer.status_code == 303
        wait_for(lambda: "EvaluationGiven" in _county_events(pair.county, case_id), "the evaluation at the county")
        assert loop.states()[0].failures == 0
    finally:
        loop.stop()
        web.app.extensions["edgenode"].pool.close_current()
        assert county.terminate() == 0, county.stderr()[-2000:]
