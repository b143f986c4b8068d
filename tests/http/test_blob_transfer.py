"""Scans over real HTTP (county hub by `edgenode serve` in its own process, the station's real engine, the fault
proxy between): a backlog of scans drains through repeated cuts re-sending only the chunks each cut caught; a
blob the hub holds is never sent again; a tampered chunk and a blob whose hash does not match are refused
with their codes, the bad blob discarded and asked for again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from edgenode.replication import blob_sync, engine
from edgenode.replication.loop import Session, open_transport, sync_once
from sync.blob_chunk import CHUNK_BYTES, chunk_count
from sync.transport_http import LinkError
from tests.http.faultproxy import FaultProxy
from tests.http.realnet import RealNet, hub, net, wait_for  # noqa: F401 (net, hub: fixtures)
from tests.sealing.conftest import rendered_once, runtime_dir  # noqa: F401 (autouse fixtures)


def scan_pair(folder: Path, n: int, size: int) -> dict[str, Path]:
    """Two distinct scans (a PDF and a PNG by their signatures) of `size` bytes each."""
    folder.mkdir(parents=True, exist_ok=True)
    pdf, png = folder / f"sfz-{n}.pdf", folder / f"cbdjb-{n}.png"
    pdf.write_bytes(b"%PDF-1.4\n" + os.urandom(size - 9))
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8))
    return {"pdf": pdf, "png": png}


def cases_with_scans(net: RealNet, count: int, size: int) -> list[str]:
    from tests.replication.conftest import receive

    with net.open_station() as station:
        return [receive(station, scan_pair(net.tmp / "scans", n, size)).case_id for n in range(count)]


def upstream(station: Any, net: RealNet) -> Any:
    return next(p for p in engine.upstreams(station) if p.node_id == net.county_id)


class Counting:
    """The HTTP transport, with every chunk attempt counted (one that fails on the wire too)."""

    def __init__(self, inner: Any, attempts: list[tuple[str, int, int]]) -> None:
        self.inner, self.attempts = inner, attempts

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_blob_chunk(self, sha256: str, index: int, chunk: bytes) -> dict[str, Any]:
        self.attempts.append((sha256, index, len(chunk)))
        return self.inner.put_blob_chunk(sha256, index, chunk)


def deliver_packets(net: RealNet, url: str) -> None:
    """The cases' packets first, scans not yet (the hub takes a scan only for a case it holds)."""
    net.point_station_at(url)
    with net.open_station() as station:
        peer = upstream(station, net)
        with open_transport(station, peer) as transport:
            for _ in range(3):
                sync_once(station, engine, peer, transport, blobs=None)


def hub_blobs(net: RealNet) -> dict[str, str]:
    """sha256 -> the hash of the file the hub stores under that name."""
    with net.open_county() as county:
        rows = county.store.query("SELECT sha256 FROM blobs")
        return {r["sha256"]: hashlib.sha256(county.blobs.path_of(r["sha256"]).read_bytes()).hexdigest()
                for r in rows if county.blobs.path_of(r["sha256"]).is_file()}


def station_blobs(net: RealNet) -> set[str]:
    with net.open_station() as station:
        return {r["sha256"] for r in station.store.query("SELECT sha256 FROM blobs")}


def test_scans_drain_through_repeated_cuts_resending_only_the_chunks_each_cut_caught(net, hub):
    cases_with_scans(net, 4, 150_000)                                  # 8 scans of 3 chunks each
    deliver_packets(net, hub.url)
    mine = station_blobs(net)
    assert len(mine) == 8 and hub_blobs(net) == {}
    attempts: list[tuple[str, int, int]] = []
    drops = (2_000, 90_000, 230_000, 400_000, 560_000, 700_000, 900_000)  # the link goes at these totals carried
    failures = 0
    with FaultProxy(hub.port, lifetime=120) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url)
        proxy.drop_link_at(*drops)
        peer = upstream(station, net)
        for _ in range(40):
            with open_transport(station, peer) as transport:
                try:
                    sync_once(station, engine, peer, Counting(transport, attempts), session=Session())
                except LinkError:
                    failures += 1
                    continue
            if blob_sync.pending(station, peer)["blobs_pending"] == 0:
                break
        # a drop between requests costs nothing (the next request opens a new connection); one mid-request fails it
        assert proxy.counters.cuts == len(drops) and 0 < failures <= len(drops)
    stored = hub_blobs(net)
    assert set(stored) == mine and all(sha == digest for sha, digest in stored.items())   # each one checked
    chunks = {(sha, index) for sha, index, _ in attempts}
    assert len(chunks) == 8 * chunk_count(150_000, CHUNK_BYTES)
    resent = len(attempts) - len(chunks)
    assert resent <= failures * blob_sync.LANES                        # at most the chunks in flight per failure
    resent_bytes = sum(size for *_, size in attempts) - sum({(s, i): n for s, i, n in attempts}.values())
    assert resent_bytes <= failures * blob_sync.LANES * (CHUNK_BYTES + 300)
    with net.open_station() as station:
        assert blob_sync.pending(station, upstream(station, net)) == {"blobs_pending": 0, "blob_bytes_pending": 0,
                                                                      "blobs_refused": 0}


def test_a_blob_the_hub_holds_is_never_sent_again(net, hub):
    cases_with_scans(net, 2, 70_000)
    deliver_packets(net, hub.url)
    with net.open_station() as station, net.open_county() as county:
        first = station.store.query("SELECT sha256 FROM blobs ORDER BY sha256")[0]["sha256"]
        county.blobs.root.mkdir(parents=True, exist_ok=True)            # the hub holds one already (another copy)
        ref = county.blobs.put_file(station.blobs.path_of(first), "sfz")
        with county.store.write():
            county.store.conn.execute("INSERT INTO blobs(sha256, size, media_type, stored_at) VALUES(?, ?, ?, 'x')",
                                      (ref.sha256, ref.size, ref.media_type))
        peer, attempts, session = upstream(station, net), [], Session()
        with open_transport(station, peer) as transport:
            done = sync_once(station, engine, peer, Counting(transport, attempts), session=session)
        assert done.blobs == 3 and {sha for sha, *_ in attempts} == station_blobs(net) - {first}
        station.store.conn.execute("DELETE FROM blob_sent")              # we forgot what we sent: ask, send nothing
        station.store.conn.commit()
        attempts.clear()
        with open_transport(station, peer) as transport:
            again = sync_once(station, engine, peer, Counting(transport, attempts), session=session)
            quiet = sync_once(station, engine, peer, Counting(transport, attempts), session=session)
        assert attempts == [] and again.blobs == 0 and again.requests == 2      # hello, one blobs/have
        assert quiet.requests == 1                                              # nothing due: hello alone


def test_a_tampered_chunk_and_a_blob_whose_hash_does_not_match_are_refused_and_asked_for_again(net, hub):
    cases_with_scans(net, 1, 100_000)
    deliver_packets(net, hub.url)
    with net.open_station() as station:
        peer = upstream(station, net)
        sha = sorted(station_blobs(net))[0]
        data = station.blobs.path_of(sha).read_bytes()
        with open_transport(station, peer) as transport:
            index, chunk = next(blob_sync.sealed_chunks(station, peer, sha, station.blobs.path_of(sha)))
            flipped = bytearray(chunk)
            flipped[200] ^= 0x01                                         # one bit of the ciphertext
            with pytest.raises(LinkError) as tampered:
                transport.put_blob_chunk(sha, index, bytes(flipped))
            forged = net.tmp / "forged.pdf"                                 # same length and type, other bytes
            forged.write_bytes(data[:9] + bytes(len(data) - 9))
            answers = [transport.put_blob_chunk(sha, i, c)
                       for i, c in list(blob_sync.sealed_chunks(station, peer, sha, forged))[:-1]]
            assert [a["confirmed"] for a in answers] == [1]
            last_index, last = list(blob_sync.sealed_chunks(station, peer, sha, forged))[-1]
            with pytest.raises(LinkError) as mismatch:
                transport.put_blob_chunk(sha, last_index, last)
            assert transport.blobs_have([sha])[sha] == {"state": "absent", "confirmed": 0}   # asked for again
        assert tampered.value.context["upstream_code"] == "REPL_051" and tampered.value.context["status"] == 403
        assert mismatch.value.context["upstream_code"] == "REPL_055" and mismatch.value.context["status"] == 422
        with net.open_county() as county:
            assert [r["code"] for r in county.store.query("SELECT code FROM blob_discarded")] == ["REPL_055"]
            assert not county.blobs.path_of(sha).exists()
        with open_transport(station, peer) as transport:                 # the real bytes then go through
            assert sync_once(station, engine, peer, transport).blobs == 2
    assert sha in hub_blobs(net)
    assert "REPL_055" in hub.stderr()                                                # logged with its code


def test_the_sync_loop_drains_cases_and_their_scans_through_a_slow_link_that_breaks(net, hub):
    import random

    from edgenode.replication.loop import SyncLoop

    cases_with_scans(net, 3, 100_000)                                  # 6 scans of 2 chunks each
    mine = station_blobs(net)
    with FaultProxy(hub.port, rate=2_000_000 / 8, lifetime=120) as proxy:
        net.point_station_at(proxy.url)
        proxy.drop_link_at(3_000, 150_000, 400_000)                     # in the packets, then in the scans
        loop = SyncLoop(net.station_home, net.clock, engine=engine, interval=0.05, backoff_base=0.05,
                        backoff_cap=0.3, rescan=0.05, rand=random.Random(5).random,
                        transport_factory=lambda node, peer: open_transport(node, peer, timeout=5.0))
        loop.start()
        try:
            wait_for(lambda: set(hub_blobs(net)) == mine, "every scan at the hub", 90, step=0.2)
        finally:
            loop.stop()
        assert proxy.counters.cuts == 3
    state = loop.states()[0]
    assert state.blobs_sent == 6 and state.failures >= 3 and state.up is True
    with net.open_station() as station:
        assert blob_sync.pending(station, upstream(station, net))["blobs_pending"] == 0


def test_scans_go_several_at_once_and_a_damaged_local_copy_does_not_hold_up_the_others(net, hub):
    cases_with_scans(net, 4, 150_000)                                  # 8 scans of 3 chunks each
    deliver_packets(net, hub.url)
    mine = sorted(station_blobs(net))
    with net.open_station() as station:
        damaged = station.blobs.path_of(mine[3])
        damaged.chmod(0o600)
        damaged.write_bytes(bytes(damaged.stat().st_size))              # our own copy rotted on disk
    with FaultProxy(hub.port, lifetime=60) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url)
        peer = upstream(station, net)
        with open_transport(station, peer) as transport:
            done = sync_once(station, engine, peer, transport, session=Session())
        assert done.blobs == 7 and set(hub_blobs(net)) == set(mine) - {mine[3]}
        assert 2 <= proxy.counters.connections <= blob_sync.LANES         # lanes at once, a connection each
        row = station.store.query_one("SELECT state, failures, last_code FROM blob_sent WHERE sha256 = ?", (mine[3],))
        assert (row["state"], row["failures"], row["last_code"]) == ("sending", 1, "REPL_060")


def test_a_round_sends_at_most_its_chunks_and_the_next_round_goes_on(net, hub):
    cases_with_scans(net, 2, 150_000)                                  # 4 scans of 3 chunks each
    deliver_packets(net, hub.url)
    with net.open_station() as station:
        peer = upstream(station, net)
        with open_transport(station, peer) as transport:
            first = blob_sync.upload(station, peer, transport, max_chunks=5)
            assert first.more and first.chunks == 5 and first.blobs <= 1
            second = blob_sync.upload(station, peer, transport, max_chunks=100)
        assert not second.more and first.chunks + second.chunks == 12 and first.blobs + second.blobs == 4
    assert set(hub_blobs(net)) == station_blobs(net)
