"""The scanner folder on the materials step, and sealed notices served by case and number: names that try to
leave the folder, links, hidden files, non-scans and oversized files are never offered or taken; a taken scan
moves into the case's blobs; a notice PDF is served only if it still hashes to what was sealed, and verifies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from tests.conftest import item_named
from tests.web.conftest import _web
from tests.web.counter_support import sealed_home, verify_pdf
from tests.web.test_counter_pages import ITEM, PDF, PNG, cases_count, scan, step_form, step_materials

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200


@pytest.fixture
def scans(web, tmp_path: Path):
    from edgenode.web import scanner

    folder = tmp_path / "scanner"
    folder.mkdir()
    made = scanner.install(web.app, folder, settle_seconds=0, max_bytes=4096).watch_without_thread()
    yield made
    made._watcher.stop()


def _fill(folder: Path, outside: Path) -> None:
    (folder / "身份证.pdf").write_bytes(PDF)
    (folder / "photo-without-suffix").write_bytes(JPEG)
    (folder / "fake.pdf").write_bytes(b"this is text, not a scan")
    (folder / "big.png").write_bytes(PNG + b"\x00" * 5000)
    (folder / ".hidden.pdf").write_bytes(PDF)
    (folder / "sub").mkdir()
    (folder / "sub" / "x.pdf").write_bytes(PDF)
    outside.write_bytes(PDF)
    os.symlink(outside, folder / "link.pdf")


def test_only_real_scans_within_the_limit_are_offered_by_their_content(web, scans, tmp_path):
    _fill(scans.folder, tmp_path / "outside.pdf")
    scans.poll_once()
    assert sorted(o.name for o in scans.offers()) == ["photo-without-suffix", "身份证.pdf"]
    assert {o.name: o.kind for o in scans.offers()}["photo-without-suffix"] == "JPEG"
    client = web.signed_in("clerk")
    html = step_form(web, client, item_named(ITEM)).get_data(as_text=True)
    assert "身份证.pdf（PDF" in html and "photo-without-suffix（JPEG" in html
    assert "fake.pdf" not in html and "link.pdf" not in html and "big.png" not in html


def test_a_scan_taken_from_the_folder_moves_into_the_case(web, scans):
    (scans.folder / "身份证.pdf").write_bytes(PDF)
    (scans.folder / "登记表.png").write_bytes(PNG)
    scans.poll_once()
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"scan_sfz": "身份证.pdf", "scan_cbdjb": "登记表.png"})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-2000:]
    assert not (scans.folder / "身份证.pdf").exists() and not (scans.folder / "登记表.png").exists()
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "身份证.pdf" in page and "登记表.png" in page and "已受理" in page
    node = web.node()
    try:
        import hashlib

        assert node.blobs.path_of(hashlib.sha256(PDF).hexdigest()).read_bytes() == PDF
    finally:
        node.close()


@pytest.mark.parametrize("name", ["../outside.pdf", "OUTSIDE", "link.pdf", "sub/x.pdf", "sub", "..", ".", "",
                                  "fake.pdf", ".hidden.pdf", "big.png", "..\\outside.pdf", "身份证.pdf/../../outside.pdf",
                                  "nosuch.pdf", "身份证.pdf\x00.png"])
def test_names_that_are_not_an_offered_scan_in_the_folder_are_refused(web, scans, tmp_path, name):
    outside = tmp_path / "outside.pdf"
    _fill(scans.folder, outside)
    scans.poll_once()
    name = str(outside) if name == "OUTSIDE" else name
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"m_sfz": "provided", "scan_sfz": name,
                                                 "file_cbdjb": scan(PNG, "b.png")})
    body = answer.get_data(as_text=True)
    if name == "":
        assert "WEB_055" in body
    else:
        assert answer.status_code == 400 and "WEB_054" in body and "扫描文件夹中已没有这个文件" in body
    assert cases_count(web) == 0
    assert outside.read_bytes() == PDF and (scans.folder / "身份证.pdf").exists() and (scans.folder / "sub" / "x.pdf").exists()


@pytest.mark.parametrize("filename", ["../../../evil.pdf", "..\\..\\evil.pdf", "/tmp/evil.pdf", "C:\\evil.pdf"])
def test_upload_names_with_path_tricks_are_only_labels(web, tmp_path, filename):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, filename), "file_cbdjb": scan(PNG, "b.png")})
    assert answer.status_code == 303, answer.get_data(as_text=True)[-1500:]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    import re

    [label] = re.findall(r">([^<>]*evil\.pdf)</a>", page)   # the name is a label: its last component only
    assert "/" not in label and "\\" not in label and label.endswith("evil.pdf")
    strays = [p for p in tmp_path.rglob("evil.pdf")] + list(Path("/tmp").glob("evil.pdf"))
    assert strays == []


def test_an_upload_that_is_not_a_scan_is_refused_in_chinese(web):
    item = item_named(ITEM)
    client = web.signed_in("clerk")
    html = step_form(web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(b"<html><script>x</script>", "id.pdf"),
                                                 "file_cbdjb": scan(b"", "empty.png")})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400 and body.count("不是 PDF、JPEG 或 PNG 文件（按文件内容识别），未收下") == 2
    assert cases_count(web) == 0


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_a_plain_name_never_leaves_the_folder(name):
    from edgenode.web.scanner import plain_name

    folder = Path("/srv/scans")
    if plain_name(name):
        assert os.path.normpath(folder / name).startswith(str(folder) + "/")
        assert Path(os.path.normpath(folder / name)).parent == folder


# -- sealed notices ------------------------------------------------------------------------------------------
@pytest.fixture
def sealed_web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    runtime = tmp_path / "run"
    monkeypatch.setenv("EDGENODE_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("EDGENODE_SEAL_PIN", raising=False)
    made = _web(sealed_home(tmp_path / "sealed", runtime))
    yield made
    made.app.extensions["edgenode"].pool.close_current()


def test_a_received_case_prints_its_sealed_notice_which_verifies_and_a_tampered_file_is_refused(sealed_web):
    # In a thread of its own, as under `edgenode serve`: in this pytest process the browser tests' Playwright
    # may hold an event loop in the main thread, and sealing (pyHanko) runs its own loop.
    from concurrent.futures import ThreadPoolExecutor

    def in_thread() -> None:
        try:
            _print_and_tamper(sealed_web)
        finally:
            sealed_web.app.extensions["edgenode"].pool.close_current()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(in_thread).result()


def _print_and_tamper(sealed_web) -> None:
    item = item_named(ITEM)
    client = sealed_web.signed_in("clerk")
    html = step_form(sealed_web, client, item).get_data(as_text=True)
    answer = step_materials(client, item, html, {"file_sfz": scan(PDF, "a.pdf"), "file_cbdjb": scan(PNG, "b.png")})
    assert answer.status_code == 303 and "seal=" not in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "打印受理通知书" in page and "尚未盖章" not in page
    url = answer.headers["Location"].split("?")[0]
    pdf = client.get(url + "/notices/1.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    check = verify_pdf(sealed_web.home, pdf.data)
    assert check.valid and check.data.kind == "acceptance"
    assert client.get(url + "/notices/2.pdf").status_code == 404
    assert client.get(url + "/notices/..%2f..%2fconfig.pdf").status_code == 404
    [path] = list((sealed_web.home / "notices").glob("*.pdf"))
    path.write_bytes(pdf.data[:-10] + b"tampered!\n")
    refused = client.get(url + "/notices/1.pdf")
    assert refused.status_code == 500 and "WEB_062" in refused.get_data(as_text=True)
