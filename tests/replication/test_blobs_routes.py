"""Where scans go: field laptop -> station -> county over real HTTP (both served in threads), by USB stick the
same chunks, and never to the province (it neither gets them offered nor takes them)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from edgenode.replication import ReplicationError, blob_intake, blob_sync, engine
from edgenode.replication.loop import open_transport, sync_once
from edgenode.replication.peers import set_url
from tests.conftest import make_node
from tests.http.conftest import Served
from tests.replication.conftest import deliver, make_field, new_clock, pair, peer, receive, usb_trip
from tests.replication.test_province import register


def blobs_of(node: Any) -> dict[str, str]:
    """sha256 -> hash of the stored file, for every blob the node holds."""
    rows = node.store.query("SELECT sha256 FROM blobs")
    return {r["sha256"]: hashlib.sha256(node.blobs.path_of(r["sha256"]).read_bytes()).hexdigest() for r in rows
            if node.blobs.path_of(r["sha256"]).is_file()}


def case_scans(node: Any, case_id: str) -> set[str]:
    blob_sync.index_refs(node)
    return {r["sha256"] for r in node.store.query("SELECT sha256 FROM blob_refs WHERE case_id = ?", (case_id,))}


@pytest.fixture
def big_scans(tmp_path: Path) -> dict[str, Path]:
    import os

    folder = tmp_path / "big"
    folder.mkdir()
    pdf, png = folder / "sfz.pdf", folder / "cbdjb.png"
    pdf.write_bytes(b"%PDF-1.5\n" + os.urandom(140_000))
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(90_000))
    return {"pdf": pdf, "png": png}


def test_a_field_scan_reaches_the_county_through_the_station_over_http(net, big_scans, tmp_path):
    field = make_field(tmp_path, net)
    pair(net.station, field, tmp_path)
    served_station = Served(net.station.home, net.station.clock, engine)
    served_county = Served(net.county.home, net.county.clock, engine)
    try:
        set_url(field, net.station.config.node_id, served_station.url, staff="上门服务员")
        set_url(net.station, net.county.config.node_id, served_county.url, staff="站长")
        case = receive(field, big_scans)
        scans = case_scans(field, case.case_id)
        assert len(scans) == 2
        to_station = peer(field, net.station)
        with open_transport(field, to_station) as transport:
            first = sync_once(field, engine, to_station, transport)
        assert first.blobs == 2 and first.blob_chunks == 3 + 2
        assert scans <= set(blobs_of(net.station))                       # checked at the station
        to_county = peer(net.station, net.county)
        with open_transport(net.station, to_county) as transport:
            relayed = sync_once(net.station, engine, to_county, transport)
        assert relayed.blobs == 2
        held = blobs_of(net.county)
        assert scans <= set(held) and all(held[s] == s for s in scans)  # the county holds both, each checked
        assert blob_sync.pending(net.station, to_county)["blobs_pending"] == 0
        assert blob_sync.pending(field, to_station)["blobs_pending"] == 0
    finally:
        served_station.stop()
        served_county.stop()
        field.close()


def test_usb_export_and_import_carry_the_scans_and_the_held_note_comes_back(net, big_scans, tmp_path):
    case = receive(net.station, big_scans)
    scans = case_scans(net.station, case.case_id)
    stick = tmp_path / "usb"
    taken = usb_trip(net.station, net.county, stick)                     # export, import at the county, receipts back
    assert taken["scans"]["blobs"] == 2 and taken["scans"]["errors"] == []
    assert scans <= set(blobs_of(net.county))
    from edgenode.replication.folder import export, import_folder

    assert import_folder(net.station, stick)["scans"]["held_notes"] == 0   # already taken by usb_trip
    to_county = peer(net.station, net.county)
    assert blob_sync.pending(net.station, to_county)["blobs_pending"] == 0
    again = export(net.station, tmp_path / "usb2", peer_ids=[net.county.config.node_id])
    assert again["peers"][0]["blobs"] == 0                               # held: never written again


def test_a_half_copied_chunk_file_is_left_for_a_new_copy(net, big_scans, tmp_path):
    from edgenode.replication.folder import export, import_folder

    receive(net.station, big_scans)
    stick = tmp_path / "usb"
    export(net.station, stick, peer_ids=[net.county.config.node_id])
    first = sorted(stick.glob("*.enblk"))[0]
    first.write_bytes(first.read_bytes()[:1000])                         # the copy broke off
    report = import_folder(net.county, stick)
    assert "REPL_059" in [e["code"] for e in report["scans"]["errors"]]
    assert report["scans"]["blobs"] == 1                                 # the other scan came through whole


def test_the_province_never_receives_a_scan(net, scans, tmp_path):
    province = make_node(tmp_path / "province", new_clock(), role="province", division="350000",
                         name="福建省网上办事大厅", catalog=None)
    try:
        register(net.county, province)
        register(province, net.county)
        deliver(net.county, net.station)
        deliver(net.county, province)
        case = receive(net.station, scans)
        to_province, to_county = peer(net.station, province), peer(net.station, net.county)
        deliver(net.station, province)
        deliver(net.station, net.county)
        assert case_scans(net.station, case.case_id) and province.store.query("SELECT id FROM events")
        assert blob_sync.due(net.station, to_province, unreceipted=True) == []     # never offered
        assert len(blob_sync.due(net.station, to_county)) == 2
        assert blob_sync.pending(net.station, to_province)["blobs_pending"] == 0
        exported = blob_sync.export_chunks(net.station, tmp_path / "usb", to_province)
        assert exported["blobs"] == 0
        sha = sorted(case_scans(net.station, case.case_id))[0]              # and chunks sealed to it anyway are refused
        _, chunk = next(blob_sync.sealed_chunks(net.station, to_province, sha, net.station.blobs.path_of(sha)))
        with pytest.raises(ReplicationError) as refused:
            blob_intake.take_chunk(province, chunk, sha256=sha, index=0)
        assert refused.value.code == "REPL_058"
        assert province.store.query("SELECT sha256 FROM blobs") == [] and not list(province.blobs.root.glob("*/*"))
    finally:
        province.close()
