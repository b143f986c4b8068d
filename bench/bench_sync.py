"""Sync over HTTP benchmarks (issue 4): hub ingest with receipts, a nothing-changed sync, a backlog at 2 Mbit/s.

    .venv/bin/python bench/bench_sync.py [--ingest 2000] [--batch 100] [--backlog 1000] [--rate 2000000]
                                         [--rtt 0.3] [--only ingest|quiet|backlog]

Real nodes in a temporary folder: a county with its CA run by `edgenode serve` in a subprocess (Waitress,
Flask, the replication engine, SQLite with synchronous=FULL), and a station enrolled with it by files.

1. Ingest: the station receives ``--ingest`` cases (intake API, a material scan each) and packs each case
   into its own packet as it goes (the engine's outbox, one packet per case, as a station that syncs after
   every case would); the client then posts them in batches of ``--batch`` (one request each) and checks
   every receipt's signature and packet hash. Packets per wall-clock second from the first byte to the last
   receipt: hub decryption, verification, event import, receipt signing and durable commits included.
2. Nothing changed: after a full sync, one more sync through the fault proxy (no faults): round trips and
   bytes on the wire both ways (HTTP headers, TCP payload; the connection is already open).
3. Backlog: the station receives ``--backlog`` cases while offline, then syncs through the proxy limited to
   ``--rate`` bit/s with ``--rtt`` seconds of round-trip time. Time against the link's lower bound (bytes /
   bandwidth: the packets, the compressed, encrypted payload, plus the scan chunks uploaded) and against the
   floor a request-response protocol cannot beat (that bound plus one RTT per request); bytes on the wire
   against payload; then the same with the link cut three times mid-way. The latency is modelled as a link
   does it (`Link` below: every byte arrives one-way delay after it was serialised, chunks pipelined), not
   as the test proxy's per-chunk wait, which charges the RTT once per 5 KB chunk. The bench's scans are the
   same two files for every case (content-addressed: two blobs in all), so the backlog is mostly case events.

Wall-clock figures on a shared machine vary; run it a few times. Not a test: tests never time anything.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgenode.replication import engine, outbox, peers  # noqa: E402
from edgenode.replication.loop import Session, open_transport, sync_once  # noqa: E402
from sync.packet import packet_hash, read_header  # noqa: E402
from sync.receipt import verify_receipt  # noqa: E402
from tests.conftest import MovableClock  # noqa: E402
from tests.http.faultproxy import FaultProxy  # noqa: E402
from tests.http.realnet import make_real_net  # noqa: E402
from tests.replication.conftest import receive  # noqa: E402


class Link(FaultProxy):
    """The fault proxy with a link's latency: bytes leave the sender's side serialised at `rate` and arrive
    `latency` later, chunks in flight overlapping (FaultProxy waits `latency` per chunk, one after another,
    which is a latency per 5 KB chunk at 2 Mbit/s). Cuts as FaultProxy's; no stalls."""

    def _pump(self, client, target, moved, cut, stall) -> None:  # noqa: ANN001 - FaultProxy's signature
        import queue
        import select
        import threading

        lines = {"up": queue.Queue(), "down": queue.Queue()}
        broken = threading.Event()

        def deliver(sock, line) -> None:  # noqa: ANN001
            while True:
                item = line.get()
                if item is None:
                    return
                due, chunk = item
                wait = due - time.monotonic()
                if wait > 0:
                    self._stop.wait(wait)
                try:
                    sock.sendall(chunk)
                except OSError:
                    broken.set()
                    return

        writers = [threading.Thread(target=deliver, args=(target, lines["up"]), daemon=True),
                   threading.Thread(target=deliver, args=(client, lines["down"]), daemon=True)]
        for writer in writers:
            writer.start()
        ends = {client: "up", target: "down"}
        try:
            while self._running() and not broken.is_set():
                readable, _, _ = select.select(list(ends), [], [], 0.05)
                done = False
                for sock in readable:
                    direction = ends[sock]
                    chunk = self._read(sock)
                    if not chunk:
                        done = True
                        break
                    if cut is not None and cut[1] in ("both", direction):
                        chunk = chunk[:max(0, cut[0] - (moved["up"] + moved["down"] if cut[1] == "both"
                                                        else moved[direction]))]
                    with self._lock:
                        now = time.monotonic()
                        start = max(now, self._next_free[direction])
                        self._next_free[direction] = start + (len(chunk) / self.rate if self.rate else 0.0)
                        due = self._next_free[direction] + self.latency
                        setattr(self.counters, direction, getattr(self.counters, direction) + len(chunk))
                    lines[direction].put((due, chunk))
                    moved[direction] += len(chunk)
                    if cut is not None and (moved["up"] + moved["down"] if cut[1] == "both"
                                            else moved[cut[1]]) >= cut[0]:
                        with self._lock:
                            self.counters.cuts += 1
                        done = True
                        break
                if done:
                    break
        finally:
            for line in lines.values():
                line.put(None)
            for writer in writers:
                writer.join(timeout=30)


def make_scans(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    pdf, png = folder / "sfz.pdf", folder / "cbdjb.png"
    pdf.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + os.urandom(2000))
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    return {"pdf": pdf, "png": png}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): the hub's own work, whatever the load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_ingest(net, hub, scans, count: int, batch: int, *, one_case_per_packet: bool = True) -> dict:
    """`count` cases posted to the hub in requests of `batch` packets: each case in its own packet (the worst
    case: a station that syncs after every case), or packed as the outbox packs a backlog."""
    with net.open_station() as station:
        row = peers.row_for(station, net.county_id)
        for _ in range(count):
            receive(station, scans)
            if one_case_per_packet:
                outbox.build(station, row)
        while outbox.build(station, row):
            pass
        packets = outbox.pending(station, net.county_id)
        peer = peers.get(station, net.county_id)
        with open_transport(station, peer) as transport:
            transport.hello(engine.hello(station, net.county_id))
            start, cpu = time.perf_counter(), cpu_seconds(hub.proc.pid)
            answers = []
            for at in range(0, len(packets), batch):
                answers += transport.send_packets(packets[at:at + batch])
            elapsed, cpu = time.perf_counter() - start, cpu_seconds(hub.proc.pid) - cpu
        statuses = [verify_receipt(a, expected_packet_id=read_header(p).packet_id, expected_packet_hash=packet_hash(p),
                                   hub_signing_public=peer.signing_public_raw).status for a, p in zip(answers, packets)]
        for answer in answers:
            engine.acknowledge(station, peer, answer)
    assert statuses.count("accepted") == len(packets), statuses[:5]
    sizes = sorted(len(p) for p in packets)
    return {"packets": len(packets), "cases": count, "seconds": elapsed, "per_second": len(packets) / elapsed,
            "cases_per_second": count / elapsed, "hub_cpu": cpu,
            "per_cpu_second": len(packets) / cpu, "load": os.getloadavg()[0],
            "median_packet_bytes": sizes[len(sizes) // 2], "requests": -(-len(packets) // batch)}


def sync_until_done(station, peer, transport, session, totals: dict | None = None) -> int:
    requests = 0
    totals = totals if totals is not None else {}
    for _ in range(100):
        result = sync_once(station, engine, peer, transport, session=session)
        requests += result.requests
        totals["blob_bytes"] = totals.get("blob_bytes", 0) + getattr(result, "blob_bytes", 0)
        totals["rounds"] = totals.get("rounds", 0) + 1
        if not outbox.pending(station, peer.node_id) and not result.more:
            return requests
    raise RuntimeError("backlog did not drain in 100 rounds")


def bench_quiet(net, hub) -> dict:
    with FaultProxy(hub.port, lifetime=600) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url)
        peer, session = peers.get(station, net.county_id), Session()
        figures = []
        with open_transport(station, peer) as transport:
            sync_until_done(station, peer, transport, session)
            sync_once(station, engine, peer, transport, session=session)
            for _ in range(5):
                up, down = proxy.counters.up, proxy.counters.down
                result = sync_once(station, engine, peer, transport, session=session)
                figures.append((result.requests, proxy.counters.up - up, proxy.counters.down - down))
        return {"round_trips": max(f[0] for f in figures), "up": max(f[1] for f in figures),
                "down": max(f[2] for f in figures), "connections": proxy.counters.connections}


def bench_backlog(net, hub, scans, count: int, rate_bits: float | None, rtt: float,
                  cuts: tuple[float, ...] = ()) -> dict:
    rate = rate_bits / 8 if rate_bits else None
    with net.open_station() as station:
        for _ in range(count):
            receive(station, scans)
        peer = peers.get(station, net.county_id)
        packets = engine.outgoing(station, peer)
    packet_bytes = sum(len(p) for p in packets)
    with Link(hub.port, rate=rate, latency=rtt / 2, lifetime=900) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url)
        if cuts:
            proxy.cut_connections(*(max(500, int(packet_bytes * f)) for f in cuts))
        peer, session, totals = peers.get(station, net.county_id), Session(), {}
        start, requests, failures = time.perf_counter(), 0, 0
        hub_cpu, own_cpu = cpu_seconds(hub.proc.pid), time.process_time()
        while True:
            try:
                with open_transport(station, peer) as transport:
                    requests += sync_until_done(station, peer, transport, session, totals)
                break
            except Exception as exc:  # noqa: BLE001 - a cut: count it and go again at once (no backoff here)
                if getattr(exc, "code", "").startswith("HTTP_1") and failures < 20:
                    failures += 1
                    continue
                raise
        elapsed = time.perf_counter() - start
        hub_cpu, own_cpu = cpu_seconds(hub.proc.pid) - hub_cpu, time.process_time() - own_cpu
        wire = proxy.counters.up + proxy.counters.down
    payload = packet_bytes + totals.get("blob_bytes", 0)
    bound = payload / rate if rate else 0.0
    floor = bound + requests * rtt
    return {"cases": count, "packets": len(packets), "payload": payload, "packet_bytes": packet_bytes,
            "blob_bytes": totals.get("blob_bytes", 0), "seconds": elapsed, "bound": bound, "floor": floor,
            "time_ratio": elapsed / bound if bound else 0.0, "floor_ratio": elapsed / floor if floor else 0.0,
            "wire": wire, "wire_ratio": wire / payload, "requests": requests, "rounds": totals.get("rounds", 0),
            "cuts": proxy.counters.cuts, "hub_cpu": hub_cpu, "station_cpu": own_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ingest", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=2_000_000)
    parser.add_argument("--rtt", type=float, default=0.3, help="round-trip time of the limited link, seconds")
    parser.add_argument("--only", choices=("ingest", "quiet", "backlog"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
        tmp = Path(folder)
        os.environ["EDGENODE_RUNTIME_DIR"] = str(tmp / "run")
        clock = MovableClock(__import__("datetime").datetime.fromisoformat("2026-11-16T09:30:00+08:00"))
        net = make_real_net(tmp, clock)
        scans = make_scans(tmp / "scans")
        hub = net.start_hub()
        net.point_station_at(hub.url)
        try:
            if args.only in (None, "ingest"):
                ingest = bench_ingest(net, hub, scans, args.ingest, args.batch)
                print(f"hub ingest: {ingest['packets']} packets (one case each, median {ingest['median_packet_bytes']} B) "
                      f"in {ingest['requests']} requests: {ingest['seconds']:.2f} s, {ingest['per_second']:,.0f} "
                      f"packets/s with verified receipts; hub CPU {ingest['hub_cpu']:.2f} s = "
                      f"{ingest['per_cpu_second']:,.0f} packets per hub CPU-second (load average "
                      f"{ingest['load']:.1f} on {os.cpu_count()} CPUs)", flush=True)
            if args.only in (None, "quiet"):
                quiet = bench_quiet(net, hub)
                print(f"nothing changed: {quiet['round_trips']} round trip, {quiet['up']} B up + {quiet['down']} B down "
                      f"= {quiet['up'] + quiet['down']} B on the wire (kept-open connection)", flush=True)
            if args.only in (None, "backlog"):
                for rate, rtt, cuts in ((None, 0.0, ()), (args.rate, 0.0, ()), (args.rate, args.rtt, ()),
                                        (args.rate, args.rtt, (0.2, 0.5, 0.8))):
                    b = bench_backlog(net, hub, scans, args.backlog, rate, rtt, cuts)
                    link = f"{rate / 1e6:g} Mbit/s, RTT {rtt * 1000:.0f} ms" if rate else "no limit (hub and client time only)"
                    label = f"{len(cuts)} cuts" if cuts else "no cuts"
                    versus = (f" vs bound {b['bound']:.2f} s ({b['time_ratio']:.2f}x), vs bound + {b['requests']} RTT "
                              f"{b['floor']:.2f} s ({b['floor_ratio']:.2f}x)") if rate else ""
                    print(f"backlog {b['cases']} cases, {b['packets']} packets {b['packet_bytes']:,} B + scans "
                          f"{b['blob_bytes']:,} B, {link}, {label}: {b['seconds']:.2f} s{versus}, wire {b['wire']:,} B "
                          f"({b['wire_ratio']:.3f}x payload), {b['requests']} requests in {b['rounds']} rounds; "
                          f"CPU: hub {b['hub_cpu']:.2f} s, station and proxy {b['station_cpu']:.2f} s", flush=True)
        finally:
            hub.terminate()


if __name__ == "__main__":
    main()
