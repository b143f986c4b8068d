"""A county hub run by `edgenode serve` in a subprocess, a station enrolled with it by files, the real
replication engine on both sides: cases with scans reach the hub exactly once over HTTP, directly, through
the fault proxy (latency, 2 Mbit/s, cuts, repeated cuts, stalls) and across a hub restart; a captive portal
is never a delivery; the station's loop keeps the link quiet while it is down."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from edgenode.replication import engine
from edgenode.replication.loop import Session, SyncLoop, open_transport, sync_once
from sync.transport_http import LinkError
from tests.http.faultproxy import FaultProxy
from tests.http.realnet import (  # noqa: F401 (net, hub: fixtures)
    RealNet, hub, net, assert_exactly_once, drained, exactly_once_report, receive_cases, station_pending,
    wait_for,
)
from tests.sealing.conftest import rendered_once, runtime_dir  # noqa: F401 (autouse fixtures)


def upstream(station: Any, net: RealNet) -> Any:
    return next(p for p in engine.upstreams(station) if p.node_id == net.county_id)


def test_cases_with_scans_reach_the_hub_exactly_once_and_a_quiet_sync_is_one_request(net, hub, scans):
    cases = receive_cases(net, scans, 6)
    net.point_station_at(hub.url)
    session = Session()
    with net.open_station() as station:
        peer = upstream(station, net)
        with open_transport(station, peer) as transport:
            first = sync_once(station, engine, peer, transport, session=session)
            second = sync_once(station, engine, peer, transport, session=session)
            quiet = sync_once(station, engine, peer, transport, session=session)
            sent = transport.bytes_sent
    assert first.sent >= 1 and len(cases) == 6
    assert quiet.requests == 1 and quiet.sent == quiet.pulled == 0 and second.sent == 0
    assert_exactly_once(net, 6)
    assert station_pending(net) == 0 and sent > 0
    with net.open_county() as county:                         # our receipts for its packets reached the hub
        mine = [p for p in engine.status(county)["peers"] if p["node_id"] == net.station_id]
        assert mine and mine[0]["packets_pending"] == 0 and mine[0]["last_contact"]


def test_a_quiet_sync_from_a_new_process_is_one_request_under_1_kb(net, hub, scans):
    """`edgenode sync now` runs each round in a new process (a new Session): how far the hub holds our
    receipts is kept in the store, so they are not handed back again and nothing new stays one hello."""
    receive_cases(net, scans, 2)
    net.point_station_at(hub.url)
    with net.open_station() as station:
        peer = upstream(station, net)
        for _ in range(2):                                     # settle: cases up, what the hub sends down
            with open_transport(station, peer) as transport:
                sync_once(station, engine, peer, transport, session=Session())
        with open_transport(station, peer) as transport:
            quiet = sync_once(station, engine, peer, transport, session=Session())
            sent = transport.bytes_sent
    assert (quiet.requests, quiet.sent, quiet.pulled) == (1, 0, 0)
    assert 0 < sent < 1024


def test_a_captive_portal_is_a_failed_attempt_never_a_delivery(net, hub, scans, portal):
    receive_cases(net, scans, 2)
    net.point_station_at(portal)
    with net.open_station() as station:
        peer = upstream(station, net)
        with open_transport(station, peer) as transport, pytest.raises(LinkError) as failed:
            sync_once(station, engine, peer, transport)
        pending = engine.outgoing(station, peer)
        with open_transport(station, peer) as transport, pytest.raises(LinkError):
            transport.send_packets(pending)                   # a portal that hijacks only the upload, too
    assert failed.value.code == "HTTP_104"
    assert pending and station_pending(net) == len(pending)
    report = exactly_once_report(net)
    assert report["hub_events"] == set() and report["hub_packets"] == 0


def test_a_receipt_lost_on_the_way_back_is_made_good_by_sending_the_same_bytes_again(net, hub, scans):
    with FaultProxy(hub.port, lifetime=120) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url)
        peer, session = upstream(station, net), Session()
        with open_transport(station, peer) as transport:
            sync_once(station, engine, peer, transport, session=session)     # settle what the hub sends down
            before = proxy.counters.down
            assert sync_once(station, engine, peer, transport, session=session).requests == 1
            hello_reply = proxy.counters.down - before                       # one hello answer on the wire
        receive_cases(net, scans, 3)
        proxy.cut_connections(hello_reply + 40, direction="down")          # inside the receipts' answer
        with open_transport(station, peer) as transport, pytest.raises(LinkError):
            sync_once(station, engine, peer, transport, session=session)
        lost = exactly_once_report(net)
        assert lost["station_events"] <= lost["hub_events"] and station_pending(net) == 1  # applied, unreceipted
        with open_transport(station, peer) as transport:
            again = sync_once(station, engine, peer, transport, session=session)
    assert again.sent == 1 and proxy.counters.cuts == 1
    assert_exactly_once(net, 3)


def run_loop(net: RealNet, *, timeout: float = 2.0) -> SyncLoop:
    loop = SyncLoop(net.station_home, net.clock, engine=engine, interval=0.05, backoff_base=0.05,
                    backoff_cap=0.3, rescan=0.05, rand=random.Random(11).random,
                    transport_factory=lambda node, peer: open_transport(node, peer, timeout=timeout))
    loop.start()
    return loop


def test_a_backlog_drains_exactly_once_through_a_bad_link(net, hub, scans):
    cases = 120
    receive_cases(net, scans, cases)
    with FaultProxy(hub.port, latency=0.005, rate=2_000_000 / 8, lifetime=120) as proxy:
        net.point_station_at(proxy.url)
        proxy.stall_connections((400, 3.0))                                # then silence: the client times out
        proxy.cut_connections(900, 3_000, 9_000, 2_500, 12_000, 1_200)     # the backlog is about 14 KB
        loop = run_loop(net, timeout=0.5)
        try:
            wait_for(lambda: drained(net) and not proxy.cut_plan, "the backlog to drain", 90, step=0.2)
        finally:
            loop.stop()
    report = assert_exactly_once(net, cases)
    assert proxy.counters.cuts >= 4 and proxy.counters.stalls == 1, proxy.counters
    assert report["packets_built"] >= 1


def test_the_hub_restarted_mid_sync_loses_and_doubles_nothing(net, hub, scans):
    receive_cases(net, scans, 150)
    with FaultProxy(hub.port, rate=40_000, lifetime=120) as proxy:         # the backlog is about 17 KB
        net.point_station_at(proxy.url)
        loop = run_loop(net)
        try:
            wait_for(lambda: proxy.counters.up > 4_000, "the upload to be under way", step=0.002)
            hub.kill()                                         # mid-upload, no goodbye
            assert exactly_once_report(net)["hub_events"] == set()           # it had not got the batch yet
            wait_for(lambda: loop.states() and loop.states()[0].up is False, "the station to notice")
            restarted = net.start_hub()
            proxy.retarget(restarted.port)
            proxy.rate = None
            wait_for(lambda: drained(net), "the backlog to drain after the restart", 90, step=0.2)
        finally:
            loop.stop()
        assert restarted.terminate() == 0
    assert_exactly_once(net, 150)


def test_the_station_killed_at_random_moments_during_sync_loses_and_doubles_nothing(net, hub, scans):
    rng, cases = random.Random(20261116), 0
    with FaultProxy(hub.port, rate=60_000, lifetime=120) as proxy:    # slow: every kill lands in some sync
        net.point_station_at(proxy.url)
        for round_ in range(8):
            cases += len(receive_cases(net, scans, 12))
            station = net.start_station().ready()
            if round_ % 2:                                             # at a random moment after start-up
                time.sleep(rng.uniform(0.0, 0.8))
            else:                                                      # or a random number of bytes into the sync
                until = proxy.total() + rng.randint(200, 2_500 * (round_ + 2))
                wait_for(lambda: proxy.total() > until, "the sync to be under way", 30, step=0.005)
            station.kill()
        proxy.rate = None
        station = net.start_station().ready()
        try:
            wait_for(lambda: drained(net), "the backlog to drain after the last restart", 90, step=0.2)
        finally:
            assert station.terminate() == 0
    report = assert_exactly_once(net, cases)
    assert report["hub_cases"] == 96
