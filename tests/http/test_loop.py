"""The sync loop in process (fake engine, hub served in a thread, the fault proxy between): a backlog drains
exactly once through latency, a 2 Mbit/s limit, repeated cuts and stalls; while the link is down the loop
says so once, and says once when it is back; pending packets go at once when it returns."""

from __future__ import annotations

import logging
import os
import random
import time
from typing import Any, Callable

from edgenode.replication.loop import SyncLoop, open_transport
from tests.http.faultproxy import FaultProxy


def wait_for(predicate: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    """Bounded wait for a condition (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.02)


def start_loop(station: Any, clock: Any, engine: Any, *, timeout: float = 2.0, interval: float = 0.05) -> SyncLoop:
    loop = SyncLoop(station.home, clock, engine=engine, interval=interval, backoff_base=0.02, backoff_cap=0.2,
                    rescan=0.05, rand=random.Random(7).random,
                    transport_factory=lambda node, peer: open_transport(node, peer, timeout=timeout))
    loop.start()
    return loop


def backlog(engine: Any, station: Any, hub: Any, packets: int, items: int, pad: int = 0) -> list[str]:
    values = [f"c{p:04d}-{i:02d}" + os.urandom(pad // 2).hex() for p in range(packets) for i in range(items)]
    for p in range(packets):
        engine.queue(station, hub.config.node_id, values[p * items:(p + 1) * items])
    return values


def test_a_backlog_drains_exactly_once_through_latency_limits_cuts_and_stalls(station, hub, linked, served_hub, clock):
    engine, hub_id, me = linked, hub.config.node_id, station.config.node_id
    expected = backlog(engine, station, hub, packets=60, items=20, pad=400)
    with FaultProxy(served_hub.port, latency=0.002, rate=2_000_000 / 8, lifetime=120) as proxy:
        engine.set_url(me, hub_id, proxy.url)
        proxy.stall_connections((300, 5.0))                                 # silent link: the client times out
        proxy.cut_connections(700, 5_000, 40_000, 90_000, 150_000, 1_500)  # then each new connection is cut once
        loop = start_loop(station, clock, engine, timeout=1.0)
        try:
            wait_for(lambda: not engine.pending(me, hub_id), "the backlog to drain")
        finally:
            loop.stop()
    assert engine.applied[hub_id] == expected                            # all of it, once, in order
    assert not proxy.cut_plan and not proxy.stall_plan
    assert proxy.counters.cuts == 5 and proxy.counters.stalls == 1      # the first connection stalled before its cut
    assert loop.states()[0].up is True and loop.states()[0].sent == 60


def test_link_down_is_logged_once_and_its_return_once_then_everything_goes(station, hub, linked, served_hub, clock,
                                                                         caplog):
    engine, hub_id, me = linked, hub.config.node_id, station.config.node_id
    caplog.set_level(logging.INFO, logger="edgenode.sync")
    with FaultProxy(served_hub.port, lifetime=120) as proxy:
        engine.set_url(me, hub_id, proxy.url)
        proxy.refuse = True
        loop = start_loop(station, clock, engine)
        try:
            wait_for(lambda: loop.states() and loop.states()[0].failures >= 8, "repeated failed attempts")
            expected = backlog(engine, station, hub, packets=5, items=3)
            proxy.refuse = False
            wait_for(lambda: not engine.pending(me, hub_id), "the backlog to go once the link is back")
        finally:
            loop.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "edgenode.sync"]
    assert sum("中断" in line for line in lines) == 1, lines
    assert sum("已恢复" in line for line in lines) == 1, lines
    assert engine.applied[hub_id] == expected


def test_a_captive_portal_never_delivers_and_the_loop_keeps_the_backlog(station, hub, linked, portal, clock):
    engine, hub_id, me = linked, hub.config.node_id, station.config.node_id
    backlog(engine, station, hub, packets=3, items=2)
    engine.set_url(me, hub_id, portal)
    loop = start_loop(station, clock, engine)
    try:
        wait_for(lambda: loop.states() and loop.states()[0].failures >= 3, "attempts against the portal")
    finally:
        loop.stop()
    assert loop.states()[0].last_error == "HTTP_104" and loop.states()[0].sent == 0
    assert len(engine.pending(me, hub_id)) == 3 and engine.applied[hub_id] == []


def test_nudge_syncs_at_once_and_stop_is_prompt(station, hub, linked, clock):
    engine, hub_id, me = linked, hub.config.node_id, station.config.node_id
    loop = start_loop(station, clock, engine, interval=3600)
    try:
        wait_for(lambda: loop.states() and loop.states()[0].rounds >= 1, "the first round")
        backlog(engine, station, hub, packets=2, items=1)
        loop.nudge()
        wait_for(lambda: not engine.pending(me, hub_id), "the nudged round")
    finally:
        loop.stop(timeout=10)
    assert not any(worker.is_alive() for worker in loop.workers.values())


def test_a_new_upstream_url_is_taken_while_running(station, hub, linked, served_hub, portal, clock):
    engine, hub_id, me = linked, hub.config.node_id, station.config.node_id
    expected = backlog(engine, station, hub, packets=2, items=2)
    engine.set_url(me, hub_id, portal)
    loop = start_loop(station, clock, engine)
    try:
        wait_for(lambda: loop.states() and loop.states()[0].last_error == "HTTP_104", "a failed attempt")
        engine.set_url(me, hub_id, served_hub.url)               # `edgenode sync peer url …` while serving
        wait_for(lambda: not engine.pending(me, hub_id), "the backlog to go to the new URL")
    finally:
        loop.stop()
    assert engine.applied[hub_id] == expected and loop.states()[0].url == served_hub.url


def test_an_internal_error_is_logged_once_and_never_ends_the_loop(station, hub, linked, clock, caplog):
    engine, hub_id, me = linked, hub.config.node_id, station.config.node_id
    expected = backlog(engine, station, hub, packets=1, items=1)
    real, failures = engine.outgoing, []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if len(failures) < 3:
            failures.append(1)
            raise RuntimeError("a bug")
        return real(*args, **kwargs)

    engine.outgoing = flaky
    caplog.set_level(logging.INFO, logger="edgenode.sync")
    loop = start_loop(station, clock, engine)
    try:
        wait_for(lambda: not engine.pending(me, hub_id), "the backlog to go after the bug stops biting")
    finally:
        loop.stop()
    assert engine.applied[hub_id] == expected
    assert sum("internal error" in r.getMessage() for r in caplog.records) == 1


def test_the_batch_budget_doubles_after_a_delivered_batch_up_to_1_mib_and_halves_after_a_cut():
    from edgenode.replication.loop import MAX_REQUEST_BYTES, MIN_REQUEST_BYTES, START_REQUEST_BYTES, Batcher

    batcher = Batcher()
    packets = [bytes(100_000)] * 30
    assert len(batcher.take(packets)) == START_REQUEST_BYTES // 100_004          # whole packets within the budget
    sizes = []
    for _ in range(5):
        batcher.delivered()
        sizes.append(batcher.budget)
    assert sizes == [2 * START_REQUEST_BYTES] + [MAX_REQUEST_BYTES] * 4        # a cut never costs more than 1 MiB
    for _ in range(10):
        batcher.broken()
    assert batcher.budget == MIN_REQUEST_BYTES
    assert len(batcher.take([bytes(MIN_REQUEST_BYTES * 2)])) == 1                 # one packet always goes
