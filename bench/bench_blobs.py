"""Scan transfer benchmark (issue 4, point 6): a backlog of cases with scans, uploaded in encrypted chunks.

    .venv/bin/python bench/bench_blobs.py [--cases 1000] [--scan-bytes 300000] [--rate 2000000] [--rtt 0.3]
                                          [--cuts 5] [--unlimited-cases 0]

Real nodes in a temporary folder: a county run by `edgenode serve` in a subprocess, a station enrolled with
it by files. The station receives ``--cases`` cases with two distinct scans of ``--scan-bytes`` each (a PDF
and a PNG by signature, random bodies: incompressible, like real scans). The cases' packets go first,
directly (not timed here: bench_sync.py measures packets). Then the scans go through the project's fault
proxy (bench/linkproxy.py) at ``--rate`` bit/s each way with ``--rtt`` seconds of round trip paid once per
request/response burst, the link dropped ``--cuts`` times (every connection reset at evenly spaced totals of
the bytes carried, landing inside chunks), the client starting a new connection at once after each cut (no backoff), until the
station has nothing pending. Reported: time against the link's lower bound (scan bytes / bandwidth), bytes
on the wire against scan bytes, chunk requests, and chunk bytes sent more than once (each cut should cost
at most the chunks in flight: blob_sync.LANES of 64 KiB + 249 bytes of chunk overhead). Then one more round: the hub holds
everything, so no chunk is sent.

``--unlimited-cases N`` adds a run of N cases without a rate limit or cuts (hub and client time only: HPKE,
signatures, a durable write per chunk; directly, without the proxy).

Wall-clock figures on a shared machine vary; run it a few times. Not a test: tests never time anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from edgenode.replication import blob_sync, engine, peers  # noqa: E402
from edgenode.replication.loop import Session, open_transport, sync_once  # noqa: E402
from sync.blob_chunk import CHUNK_BYTES, OVERHEAD  # noqa: E402
from tests.conftest import MovableClock  # noqa: E402
from linkproxy import LinkProxy  # noqa: E402
from tests.http.realnet import make_real_net  # noqa: E402
from tests.replication.conftest import receive  # noqa: E402


class Counting:
    def __init__(self, inner: Any, attempts: list[tuple[str, int, int]]) -> None:
        self.inner, self.attempts = inner, attempts

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put_blob_chunk(self, sha256: str, index: int, chunk: bytes) -> dict[str, Any]:
        self.attempts.append((sha256, index, len(chunk)))
        return self.inner.put_blob_chunk(sha256, index, chunk)


def make_cases(net: Any, count: int, size: int, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    with net.open_station() as station:
        for n in range(count):
            pdf, png = folder / f"sfz-{n}.pdf", folder / f"cbdjb-{n}.png"
            pdf.write_bytes(b"%PDF-1.4\n" + os.urandom(size - 9))
            png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(size - 8))
            receive(station, {"pdf": pdf, "png": png})
            pdf.unlink()
            png.unlink()
            total += 2 * size
    return total


def deliver_packets(net: Any, url: str) -> None:
    net.point_station_at(url)
    with net.open_station() as station:
        peer, session = peers.get(station, net.county_id), Session()
        with open_transport(station, peer) as transport:
            for _ in range(200):
                result = sync_once(station, engine, peer, transport, session=session, blobs=None)
                if not result.more and not engine.outgoing(station, peer):
                    return
    raise RuntimeError("packets did not drain")


def upload(net: Any, hub: Any, scan_bytes: int, rate_bits: float | None, rtt: float, cuts: int) -> dict[str, Any]:
    rate = rate_bits / 8 if rate_bits else None
    attempts: list[tuple[str, int, int]] = []
    with LinkProxy(hub.port, rate=rate, latency=rtt / 2, lifetime=24 * 3600) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url if rate or cuts else hub.url)  # unlimited: no proxy in the way
        proxy.drop_link_at(*(scan_bytes * (k + 1) // (cuts + 1) + 7919 * (k + 1) for k in range(cuts)))
        peer, session = peers.get(station, net.county_id), Session()
        start, requests, failures = time.perf_counter(), 0, 0
        while blob_sync.pending(station, peer)["blobs_pending"]:
            try:
                with open_transport(station, peer) as transport:
                    requests += sync_once(station, engine, peer, Counting(transport, attempts), session=session).requests
            except Exception as exc:  # noqa: BLE001 - a cut: count it and go again at once
                if getattr(exc, "code", "").startswith("HTTP_1") and failures < cuts + 5:
                    failures += 1
                    continue
                raise
        elapsed = time.perf_counter() - start
        wire = proxy.counters.up + proxy.counters.down
        before = len(attempts)
        with open_transport(station, peer) as transport:
            session.receipts_upto = None
            held = sync_once(station, engine, peer, Counting(transport, attempts), session=session)
    unique = {(s, i): n for s, i, n in attempts}
    sent = sum(n for *_, n in attempts)
    resent = sent - sum(unique.values())
    bound = scan_bytes / rate if rate else 0.0
    return {"seconds": elapsed, "bound": bound, "wire": wire if rate or cuts else None, "chunks": len(unique),
            "requests": requests, "attempts": before,
            "cuts": proxy.counters.cuts, "failures": failures, "resent": resent,
            "resent_per_cut": resent / proxy.counters.cuts if proxy.counters.cuts else 0.0,
            "chunks_after_held": len(attempts) - before, "held_round_requests": held.requests}


def report(label: str, cases: int, scan_bytes: int, rate: float | None, rtt: float, r: dict[str, Any]) -> None:
    link = f"{rate / 1e6:g} Mbit/s, {rtt * 1000:.0f} ms RTT" if rate else "no limit"
    wire = f"wire {r['wire']:,} B ({r['wire'] / scan_bytes:.3f}x scan bytes); " if r["wire"] is not None else ""
    versus = f" vs bound {r['bound']:.1f} s ({r['seconds'] / r['bound']:.2f}x)" if r["bound"] else ""
    print(f"{label}: {cases} cases, {2 * cases} scans, {scan_bytes:,} B, {link}, {r['cuts']} cuts: "
          f"{r['seconds']:.1f} s{versus}; {wire}{r['chunks']} chunks, {r['attempts']} chunk requests "
          f"({r['failures']} failed on a cut); re-sent {r['resent']:,} B "
          f"({r['resent_per_cut']:,.0f} B per cut; in flight at most {blob_sync.LANES} chunks of "
          f"{CHUNK_BYTES + OVERHEAD:,} B); "
          f"next round with everything held: {r['chunks_after_held']} chunks, {r['held_round_requests']} request(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--scan-bytes", type=int, default=300_000)
    parser.add_argument("--rate", type=float, default=2_000_000)
    parser.add_argument("--rtt", type=float, default=0.3)
    parser.add_argument("--cuts", type=int, default=5)
    parser.add_argument("--unlimited-cases", type=int, default=0)
    args = parser.parse_args()
    runs = [("unlimited", args.unlimited_cases, None, 0)] if args.unlimited_cases else []
    runs.append(("limited", args.cases, args.rate, args.cuts))
    for label, cases, rate, cuts in runs:
        with tempfile.TemporaryDirectory(prefix="bench-blobs-") as folder:
            tmp = Path(folder)
            os.environ["EDGENODE_RUNTIME_DIR"] = str(tmp / "run")
            clock = MovableClock(__import__("datetime").datetime.fromisoformat("2026-11-16T09:30:00+08:00"))
            net = make_real_net(tmp, clock)
            scan_bytes = make_cases(net, cases, args.scan_bytes, tmp / "scans")
            hub = net.start_hub()
            try:
                deliver_packets(net, hub.url)
                report(label, cases, scan_bytes, rate, args.rtt, upload(net, hub, scan_bytes, rate, args.rtt, cuts))
            finally:
                hub.terminate()


if __name__ == "__main__":
    main()
