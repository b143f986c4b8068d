"""Evaluations (好差评) reach the province with the case record, directly from the station and again through
the county (once), in the next round after they are given; packets to the province carry events and
attestations only, never a scan (docs/adr/0013-evaluations.md)."""

from __future__ import annotations

import json

import pytest

from edgenode.cases import fold as F
from edgenode.cases.evaluation import evaluate, follow_up_bad_rating
from edgenode.cases.service import load_case
from edgenode.replication import engine, routing
from sync.body import Item
from tests.conftest import make_node
from tests.replication.conftest import deliver, event_ids, new_clock, peer, receive
from tests.replication.test_province import register


@pytest.fixture
def province(tmp_path):
    node = make_node(tmp_path / "province", new_clock(), role="province", division="350000", name="福建省网上办事大厅",
                     catalog=None)
    yield node
    node.close()


@pytest.fixture
def linked(net, province):
    """The county registers the province, then introduces it to its station (and the station to it)."""
    register(net.county, province, url="https://sync.fj.example")
    register(province, net.county)
    deliver(net.county, net.station)
    deliver(net.county, province)
    assert {p.role for p in engine.upstreams(net.station)} == {"county", "province"}
    return net, province


def kinds_sent(sender, receiver):
    """Deliver what `sender` has for `receiver`, returning the item kinds each packet carried."""
    from sync.packet import KnownSender, unpack

    known = {sender.config.node_id: KnownSender(peer(receiver, sender).signing_public_raw)}
    kinds = []
    for data in engine.outgoing(sender, peer(sender, receiver)):
        packet = unpack(data, recipient=receiver.keys, recipient_id=receiver.config.node_id, known_senders=known)
        kinds.append([(item.kind, item.data.get("type")) for item in packet.items])
        engine.acknowledge(sender, peer(sender, receiver), engine.accept(receiver, data))
    return kinds


def province_evaluations(province, case_id):
    rows = province.store.query("SELECT id FROM events WHERE case_id = ? AND type = ?", (case_id, F.EVALUATION_GIVEN))
    return sorted(r["id"] for r in rows)


def test_an_evaluation_given_after_the_case_went_up_reaches_the_province_in_the_next_round(linked, scans):
    net, province = linked
    case = receive(net.station, scans)  # with two scans: the events name their blobs
    assert any(m.get("blob") for m in case.materials.values())
    deliver(net.station, province)
    assert event_ids(province, case.case_id) == event_ids(net.station, case.case_id)
    given = evaluate(net.station, case.case_id, level="不满意", channel="现场评价器", comment="排队久", staff="代办员甲")
    sent = kinds_sent(net.station, province)
    assert [t for packet in sent for kind, t in packet if kind == "event"] == [F.EVALUATION_GIVEN]
    assert province_evaluations(province, case.case_id) == [given["event"]]
    state = load_case(province, case.case_id)[0]
    assert [(e["level"], e["code"], e["code_system"]) for e in state.evaluations] == [("不满意", 4, "GB/T 39046")]
    assert state.evaluations[0]["follow_up_due"] == given["follow_up_due"]
    follow_up_bad_rating(net.station, case.case_id, note="电话回访", staff="站长")
    deliver(net.station, province)
    assert load_case(province, case.case_id)[0].evaluations[0]["followed_up"] is not None


def test_the_province_gets_evaluations_through_the_county_once_and_no_scans_either_way(linked, scans):
    net, province = linked
    case = receive(net.station, scans)
    evaluate(net.station, case.case_id, level="非常满意", channel="扫码", staff="代办员甲")
    deliver(net.station, net.county)
    county_kinds = kinds_sent(net.county, province)
    assert F.EVALUATION_GIVEN in [t for packet in county_kinds for kind, t in packet if kind == "event"]
    assert len(province_evaluations(province, case.case_id)) == 1
    station_kinds = kinds_sent(net.station, province)  # the same events again, directly: no-ops there
    assert len(province_evaluations(province, case.case_id)) == 1
    assert event_ids(province, case.case_id) == event_ids(net.station, case.case_id)
    every_kind = {kind for packet in county_kinds + station_kinds for kind, _ in packet}
    assert every_kind <= routing.PROVINCE_KINDS
    assert province.store.query_one("SELECT count(*) AS n FROM blobs")["n"] == 0
    assert not [p for p in (province.home / "blobs").rglob("*") if p.is_file()]


def test_events_to_the_province_go_whole_with_the_case_record(linked, scans):
    """Stripping would change the content an event id names; the province is entitled to the case record."""
    net, province = linked
    case = receive(net.station, scans)
    evaluate(net.station, case.case_id, level="满意", channel="扫码", staff="代办员甲")
    deliver(net.station, province)
    mine = {r["id"]: json.loads(r["payload"]) for r in net.station.store.query("SELECT id, payload FROM events")}
    theirs = {r["id"]: json.loads(r["payload"]) for r in province.store.query("SELECT id, payload FROM events")}
    received = next(p for p in theirs.values() if "applicant" in p)
    assert received["applicant"].get("id_number")  # the applicant as the case record has it
    assert theirs == mine


def test_only_events_and_attestations_may_go_to_the_province(linked):
    net, province = linked
    to_province, to_county = peer(net.station, province).role, peer(net.station, net.county).role
    blob = Item("blob_ref", {"sha256": "0" * 64, "size": 1, "media_type": "application/pdf"})
    release = Item("catalog_release", {"version": 1})
    assert not routing.province_may_carry(to_province, blob)
    assert not routing.province_may_carry(to_province, release)
    assert routing.province_may_carry(to_province, Item("attestation", {"type": "digest"}))
    assert routing.province_may_carry(to_county, blob)
