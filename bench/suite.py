"""The benchmark suite (issue 5): every row in one run, one table, and the generated section of
docs/benchmarks.md (between ``<!-- suite:begin -->`` and ``<!-- suite:end -->``; the hand-written sections
below it are kept).

    bench/run [--quick] [--only ROW[,ROW]] [--runs N] [--out FILE] [--json]
    .venv/bin/python -m bench ...            (the same)

Rows: intake, sealing, packets, ingest, backlog, quiet, merge, memory, web, pouchdb, lowspec. Each row measures
with the scripts next to this file (bench_core, bench_seals, bench_packets, bench_sync, bench_web,
bench_pouchdb) and reports the median of ``--runs`` runs where a run is cheap enough to repeat (the method
column says how many). ``--quick``: small sizes and one run, a smoke test of the machinery (its figures
mean nothing). Not a test: tests never time anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

BEGIN, END = "<!-- suite:begin -->", "<!-- suite:end -->"
DOC = ROOT / "docs" / "benchmarks.md"


@dataclass
class Row:
    row: str                 # the --only name
    measure: str
    result: str
    target: str = "(recorded)"
    met: bool | None = None  # None: nothing to meet, or not measured
    method: str = ""


@dataclass
class Size:
    quick: bool
    runs: int

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- rows -----------------------------------------------------------------------------------------------------
def row_intake(size: Size) -> list[Row]:
    from bench_core import intake_rates

    cases = size.pick(1000, 50)
    runs = [intake_rates(cases) for _ in range(size.runs)]
    rate = median([r["per_s"] for r in runs])
    p95 = median([r["p95_ms"] for r in runs])
    method = (f"bench_core.intake_rates: a fresh station (sample catalog, real SQLite, synchronous=FULL) receives {cases} "
              f"applications through receive_case (form + e-licence, no scan); cases/s and p95 of one case; median of {size.runs}")
    return [Row("intake", "intake, cases/s (form + e-licence)", f"{rate:,.0f}/s", ">= 200/s", rate >= 200, method),
            Row("intake", "intake, one case p95", f"{p95:.1f} ms", "(recorded)", None, "same runs")]


def row_sealing(size: Size) -> list[Row]:
    from bench_seals import measure

    records, notices = size.pick(2000, 50), size.pick(30, 2)
    runs = [measure(records, notices) for _ in range(size.runs)]
    es256 = median([r["es256_per_s"] for r in runs])
    notice = median([r["notice_ms"] for r in runs])
    method = (f"bench_seals.measure: {records} canonical-JSON records sealed with a PIN-guarded station seal (ES256); "
              f"a 受理通知书 rendered and PAdES-sealed {notices} times after a warm-up, median; median of {size.runs} runs")
    return [Row("sealing", "sealed records/s (ES256)", f"{es256:,.0f}/s", ">= 2,000/s", es256 >= 2000, method),
            Row("sealing", "one-page notice rendered + sealed", f"{notice:.0f} ms", "< 150 ms", notice < 150, "same runs")]


def row_packets(size: Size) -> list[Row]:
    from bench_packets import bench_codec, realistic_events

    events = realistic_events(size.pick(600, 40), seed=1)
    r = bench_codec(events, 100 if not size.quick else 10, size.pick(5, 1))
    method = (f"bench_packets.bench_codec: {len(events)} real case events from intakes on the sample catalog, packed "
              f"(canonical JSON, zlib, HPKE to the hub, Ed25519) and unpacked in packets of {r['batch']}; "
              f"events per CPU second, median of {size.pick(5, 1)}")
    return [Row("packets", "packet pipeline, pack + encrypt + sign", f"{r['pack_per_s']:,.0f} events/s", ">= 5,000/s",
                r["pack_per_s"] >= 5000, method),
            Row("packets", "packet pipeline, verify + decrypt + unpack", f"{r['unpack_per_s']:,.0f} events/s",
                ">= 5,000/s", r["unpack_per_s"] >= 5000, "same runs"),
            Row("packets", "bytes on the wire per event", f"{r['wire_per_event']:,.0f} B", "(recorded)", None, "same runs")]


class SyncNet:
    """A county hub (`edgenode serve`) and an enrolled station in a temporary folder (bench_sync's set-up)."""

    def __enter__(self) -> "SyncNet":
        from bench_sync import make_scans
        from tests.conftest import MovableClock
        from tests.http.realnet import make_real_net

        self._tmp = tempfile.TemporaryDirectory(prefix="bench-suite-")
        tmp = Path(self._tmp.name)
        os.environ["EDGENODE_RUNTIME_DIR"] = str(tmp / "run")
        clock = MovableClock(datetime.fromisoformat("2026-11-16T09:30:00+08:00"))
        self.net = make_real_net(tmp, clock)
        self.scans = make_scans(tmp / "scans")
        self.hub = self.net.start_hub()
        self.net.point_station_at(self.hub.url)
        return self

    def __exit__(self, *exc: object) -> None:
        self.hub.terminate()
        self._tmp.cleanup()


def row_ingest(size: Size) -> list[Row]:
    from bench_sync import bench_ingest

    count, batch = size.pick(2000, 40), size.pick(100, 10)
    runs = []
    for _ in range(size.runs):
        with SyncNet() as s:
            runs.append(bench_ingest(s.net, s.hub, s.scans, count, batch))
    rate = median([r["per_second"] for r in runs])
    method = (f"bench_sync.bench_ingest: {count} packets of one case each posted to `edgenode serve` over 127.0.0.1 in "
              f"requests of {batch}, every signed receipt verified; median of {size.runs}")
    packed = []
    for _ in range(size.runs):
        with SyncNet() as s:
            packed.append(bench_ingest(s.net, s.hub, s.scans, count, batch, one_case_per_packet=False))
    cases = median([r["cases_per_second"] for r in packed])
    return [Row("ingest", "hub ingest with receipts, one case per packet", f"{rate:,.0f} packets/s", ">= 1,000/s",
                rate >= 1000, method),
            Row("ingest", "hub ingest with receipts, a backlog as the outbox packs it",
                f"{cases:,.0f} cases/s ({median([r['packets'] for r in packed]):.0f} packets)", "(recorded)", None,
                f"the same {count} cases packed as a station packs a backlog (up to 500 events, ~900 KB a packet), "
                f"posted the same way; median of {size.runs}")]


def row_scans(size: Size) -> list[Row]:
    from bench_blobs import deliver_packets, make_cases, upload
    from tests.conftest import MovableClock
    from tests.http.realnet import make_real_net

    cases, scan, rate, rtt, cuts = size.pick(25, 2), 300_000, 2_000_000, 0.3, size.pick(5, 1)
    results = {}
    for label, drops in (("clean", 0), ("cut", cuts)):
        with tempfile.TemporaryDirectory(prefix="bench-scans-") as folder:
            tmp = Path(folder)
            os.environ["EDGENODE_RUNTIME_DIR"] = str(tmp / "run")
            net = make_real_net(tmp, MovableClock(datetime.fromisoformat("2026-11-16T09:30:00+08:00")))
            scan_bytes = make_cases(net, cases, scan, tmp / "scans")
            hub = net.start_hub()
            try:
                deliver_packets(net, hub.url)
                results[label] = upload(net, hub, scan_bytes, rate, rtt, drops)
            finally:
                hub.terminate()
    clean, cut = results["clean"], results["cut"]
    ratio, cut_ratio = clean["seconds"] / clean["bound"], cut["seconds"] / cut["bound"]
    wire = clean["wire"] / (2 * cases * scan)
    method = (f"bench/bench_blobs.py: a station with {cases} cases of two incompressible {scan // 1000} KB scans "
              f"({2 * cases * scan / 1e6:.0f} MB; the issue's 1,000 cases scaled down: the link, not the size, sets the "
              f"ratio) uploads them to `edgenode serve` through bench/linkproxy.py at 2 Mbit/s each way with a 300 ms RTT, "
              f"four chunks in flight; bound = scan bytes / bandwidth; drops reset every connection at evenly spaced "
              f"totals; one run each")
    return [Row("scans", f"scan backlog, {2 * cases} scans at 2 Mbit/s, 300 ms RTT",
                f"{clean['seconds']:.1f} s vs bound {clean['bound']:.1f} s ({ratio:.2f}x)", "<= 1.15x bound",
                ratio <= 1.15, method),
            Row("scans", "scan backlog bytes on the wire vs scan bytes", f"{wire:.3f}x", "<= 1.05x", wire <= 1.05,
                "same run"),
            Row("scans", f"scan backlog with {cut['cuts']} link drop(s): time, bytes re-sent per drop",
                f"{cut['seconds']:.1f} s ({cut_ratio:.2f}x), {cut['resent_per_cut'] / 1024:,.0f} KB per drop",
                "only the unconfirmed chunks (at most 4 x 64 KiB in flight)",
                cut["resent_per_cut"] <= 4 * (64 * 1024 + 300), "same set-up")]


def _backlog(s: SyncNet, count: int, rate_bits: float, rtt: float, cut_fractions: tuple[float, ...]) -> dict:
    from bench_sync import sync_until_done
    from edgenode.replication import engine, peers
    from edgenode.replication.loop import Session, open_transport
    from bench_pouchdb import receive_records
    from linkproxy import LinkProxy
    from records import make_records

    net = s.net
    with net.open_station() as station:
        receive_records(station, make_records(count, seed=2))
        peer = peers.get(station, net.county_id)
        packets = engine.outgoing(station, peer)
    payload = sum(len(p) for p in packets)
    rate = rate_bits / 8
    with LinkProxy(s.hub.port, rate=rate, latency=rtt / 2, lifetime=1800) as proxy, net.open_station() as station:
        net.point_station_at(proxy.url)
        peer, session = peers.get(station, net.county_id), Session()
        cuts = list(cut_fractions)
        start, requests, attempts = time.perf_counter(), 0, 0
        while True:
            if cuts:
                proxy.cut_once_at(int(payload * cuts.pop(0)) + proxy.total())
            attempts += 1
            try:
                with open_transport(station, peer) as transport:
                    requests += sync_until_done(station, peer, transport, session)
                break
            except Exception as exc:  # noqa: BLE001 - a cut: go again at once
                if str(getattr(exc, "code", "")).startswith("HTTP_1") and attempts < 20:
                    continue
                raise
        elapsed = time.perf_counter() - start
        wire = proxy.total()
    bound = payload / rate + rtt  # the bytes at the link's rate, and one round trip to learn that they arrived
    return {"payload": payload, "packets": len(packets), "seconds": elapsed, "bound": bound, "wire": wire,
            "requests": requests, "cuts": proxy.counters.cuts, "attempts": attempts}


def row_backlog(size: Size) -> list[Row]:
    count, rate, rtt = size.pick(1000, 30), 2_000_000, 0.3
    clean, cut = [], []
    for _ in range(size.runs):
        with SyncNet() as s:
            clean.append(_backlog(s, count, rate, rtt, ()))
        with SyncNet() as s:
            cut.append(_backlog(s, count, rate, rtt, (0.2, 0.5, 0.8)))
    seconds, bound = median([c["seconds"] for c in clean]), median([c["bound"] for c in clean])
    rtts = median([c["requests"] for c in clean])
    wire_ratio = median([c["wire"] / c["payload"] for c in clean])
    cut_seconds = median([c["seconds"] for c in cut])
    resent = median([c["wire"] - w["wire"] for c, w in zip(cut, clean)])
    payload = median([c["payload"] for c in clean])
    method = (f"a station receives {count} cases offline (bench/records.py forms, no scans: bench_blobs measures scans), then drains through "
              f"bench/linkproxy.py (the project's fault proxy: {rate / 1e6:g} Mbit/s each way, {rtt * 1000:.0f} ms RTT "
              f"paid once per request/response burst) with the real engine and HTTP transport; bound = packet bytes / "
              f"bandwidth + one RTT; with cuts: the link reset at 20/50/80 % of the payload, the client going again at once; "
              f"re-sent = wire bytes beyond the clean run's; median of {size.runs}")
    ratio = seconds / bound
    return [Row("backlog", f"backlog of {count} cases ({payload / 1024:,.0f} KB) at 2 Mbit/s, 300 ms RTT",
                f"{seconds:.2f} s vs bound {bound:.2f} s ({ratio:.2f}x), {rtts:.0f} round trips", "<= 1.15x bound",
                ratio <= 1.15, method),
            Row("backlog", "backlog bytes on the wire vs payload", f"{wire_ratio:.3f}x", "<= 1.05x", wire_ratio <= 1.05,
                "same runs"),
            Row("backlog", "backlog with 3 cuts: time, bytes re-sent", f"{cut_seconds:.2f} s, {resent / 1024:,.1f} KB re-sent",
                "only the batch in flight", None, "same runs")]


def row_quiet(size: Size) -> list[Row]:
    from bench_sync import bench_quiet

    runs = []
    for _ in range(size.runs):
        with SyncNet() as s:
            runs.append(bench_quiet(s.net, s.hub))
    up, down = median([r["up"] for r in runs]), median([r["down"] for r in runs])
    trips = max(r["round_trips"] for r in runs)
    method = (f"bench_sync.bench_quiet: after a full sync, one more sync_once on the open connection through the proxy; "
              f"requests and bytes both ways; median of {size.runs} (worst of 5 syncs in each)")
    return [Row("quiet", "nothing-changed sync", f"{trips} round trip, {up + down:,.0f} B", "1 round trip, < 1 KB",
                trips == 1 and up + down < 1024, method)]


def merge_replicas(events_target: int, seed: int = 1) -> dict:
    """Three replicas holding overlapping thirds of a case history set, merged: union by id, then every case folded
    (edgenode/cases/fold.py: causal index, registers, conflicts), as a hub does after ingesting from three nodes."""
    import random

    from bench_packets import realistic_events
    from edgenode.cases.fold import fold
    from sync.envelope import Event

    base = realistic_events(300, seed)
    by_case: dict[str, list[dict]] = {}
    for e in base:
        by_case.setdefault(e["case_id"], []).append(e)
    histories = list(by_case.values())
    events: list[dict] = []
    copy = 0
    while len(events) < events_target:  # clone whole histories under new case and event ids
        history = histories[copy % len(histories)]
        ids = {e["id"]: f"{e['id'][:-8]}{copy:08x}" for e in history}
        case_id = f"{history[0]['case_id']}-{copy}"
        for e in history:
            events.append({**e, "id": ids[e["id"]], "case_id": case_id,
                           "causal_base": [ids.get(b, b) for b in e.get("causal_base", [])]})
        copy += 1
    rng = random.Random(seed)
    replicas: list[list[dict]] = [[], [], []]
    for e in events:  # each event on two of the three replicas
        for r in rng.sample(range(3), 2):
            replicas[r].append(e)
    start = time.perf_counter()
    union: dict[str, Event] = {}
    for replica in replicas:
        for data in replica:
            if data["id"] not in union:
                union[data["id"]] = Event.from_dict(data)
    cases: dict[str, list[Event]] = {}
    for event in union.values():
        cases.setdefault(event.case_id, []).append(event)
    states = [fold(history) for history in cases.values()]
    seconds = time.perf_counter() - start
    return {"events": len(union), "held": sum(map(len, replicas)), "cases": len(states), "seconds": seconds}


def row_merge(size: Size) -> list[Row]:
    target = size.pick(100_000, 2_000)
    runs = [merge_replicas(target) for _ in range(size.runs)]
    seconds = median([r["seconds"] for r in runs])
    r = runs[0]
    method = (f"three replicas, each event on two of them ({r['held']:,} held), cloned from real intake histories "
              f"(bench_packets.realistic_events) under new ids; union by event id, then edgenode.cases.fold.fold on every "
              f"case ({r['cases']:,} cases; causal index, registers, conflicts), in memory; median of {size.runs}")
    return [Row("merge", f"merge of three replicas, {r['events']:,} events", f"{seconds:.2f} s "
                f"({r['events'] / seconds:,.0f} events/s)", "(recorded)", None, method)]


def _vm(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def row_memory(size: Size) -> list[Row]:
    from bench_sync import bench_ingest

    count = size.pick(2000, 40)
    with SyncNet() as s:
        time.sleep(1.0)
        idle = _vm(s.hub.proc.pid, "VmRSS")
        bench_ingest(s.net, s.hub, s.scans, count, 100)
        busy = _vm(s.hub.proc.pid, "VmHWM")
    method = (f"`edgenode serve` of a county hub: VmRSS a second after start (idle), then VmHWM (peak) after ingesting "
              f"{count} packets in requests of 100 (bench_sync.bench_ingest); one run")
    return [Row("memory", "node memory idle (serve, RSS)", f"{idle:.0f} MB", "(recorded)", None, method),
            Row("memory", "node memory busy (serve, peak RSS while ingesting)", f"{busy:.0f} MB", "< 512 MB", busy < 512,
                "same run")]


def row_web(size: Size) -> list[Row]:
    script = BENCH / "bench_web.py"
    if not script.exists():
        return [Row("web", "UI page times", "not yet (bench/bench_web.py is being written)")]
    args = ["--items", str(size.pick(5000, 100)), "--cases", str(size.pick(1000, 20)), "--repeat", str(size.pick(20, 2))]
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if done.returncode != 0:
        return [Row("web", "UI page times", f"failed: {done.stderr.strip().splitlines()[-1:]}")]
    pages = re.findall(r"page (.+?)\s+median\s+([\d.]+) ms\s+(\d+) bytes", done.stdout)
    if not pages:
        return [Row("web", "UI page times", "no page lines in bench_web.py's output")]
    times = [float(ms) for _, ms, _ in pages]
    slowest = max(pages, key=lambda p: float(p[1]))
    heaviest = max(int(b) for _, _, b in pages)
    rss = re.search(r"resident memory after \d+ requests: (\d+) MB", done.stdout)
    method = (f"bench/bench_web.py {' '.join(args)}: median server time per page over the WSGI app in-process, "
              f"{len(pages)} pages; then `edgenode serve --no-sync` asked for each page, its VmRSS (the issue's 10,000 "
              f"cases: the Web UI section below)")
    rows = [Row("web", "UI page time, median over pages", f"{median(times):.1f} ms", "(recorded)", None, method),
            Row("web", "UI slowest page (its median)", f"{float(slowest[1]):.1f} ms ({slowest[0].strip()})", "< 50 ms",
                float(slowest[1]) < 50, "same run"),
            Row("web", "UI heaviest page", f"{heaviest / 1024:.0f} KB", "< 200 KB", heaviest < 200 * 1024, "same run")]
    if rss:
        rows.append(Row("web", "node memory while serving the UI (RSS)", f"{rss.group(1)} MB", "< 120 MB",
                        int(rss.group(1)) < 120, "same run"))
    return rows


def row_pouchdb(size: Size) -> list[Row]:
    from bench_pouchdb import compare, table, targets_met

    result = compare(size.pick(10_000, 200), 1)
    met = targets_met(result)
    rows = table(result)
    us = result["ours"]
    them = result["theirs"]
    who = them.get("version", "PouchDB")
    method = (f"bench/bench_pouchdb.py: the same {result['records']:,} records (~{result['record_bytes']:.0f} B of Chinese "
              f"JSON, seed 1) pushed through the same byte-counting proxy on 127.0.0.1: {who} `db.replicate.to` to "
              f"pouchdb-server (LevelDB) against edgenode's station → county hub (`edgenode serve`, {us['events']:,} "
              f"events, encrypted and signed, durable SQLite); one run each (set-up of 10,000 cases dominates)")
    out = []
    for (measure, ours_v, theirs_v, target), key in zip(rows, ["speed", "bytes", "requests", None, None]):
        ok = met.get(key) if key in ("speed", "bytes") else None
        if key == "requests":
            ok = met["requests"]  # no more requests than batches at the starting budget (512 KB) + hello, pull, receipts
        out.append(Row("pouchdb", f"vs PouchDB: {measure}", f"ours {ours_v}; PouchDB {theirs_v}", target, ok,
                       method if not out else "same run"))
    return out


def row_lowspec(size: Size) -> list[Row]:
    from lowspec import run_demo_limited

    r = run_demo_limited(memory_mb=512, cpus="0")
    if r.get("unavailable"):
        return [Row("lowspec", "demo under 512 MB and one CPU", f"not measured: {r['unavailable']}")]
    result = "completed" if r["ok"] else f"FAILED (exit {r['returncode']})"
    method = (f"`edgenode demo` (five nodes, real processes) run with {r['how']}; peak = the cgroup's "
              f"peak counter (RSS + page cache) and the largest sum of the RSS of the demo's processes alive at once, polled every 0.1 s (bench/lowspec.py); one run")
    return [Row("lowspec", "demo under 512 MB, one CPU", f"{result} in {r['seconds']:.0f} s, peak {r['cgroup_peak_mb']:.0f} MB "
                f"(cgroup), {r['together_mb']:.0f} MB RSS of live processes at most ({r['processes']} processes, the largest "
                f"{r['max_process_hwm_mb']:.0f} MB)",
                "completes", r["ok"], method)]


ROWS: dict[str, Callable[[Size], list[Row]]] = {
    "intake": row_intake, "sealing": row_sealing, "packets": row_packets, "ingest": row_ingest,
    "backlog": row_backlog, "scans": row_scans, "quiet": row_quiet, "merge": row_merge, "memory": row_memory, "web": row_web,
    "pouchdb": row_pouchdb, "lowspec": row_lowspec,
}


# -- machine, table, document ---------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        kb = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")))
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "unknown"
    try:
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram, "OS": platform.platform(),
            "Python": platform.python_version(), "SQLite": sqlite3.sqlite_version, "load at start": load}  # 1/5/15 min


def mark(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[met]


def render(rows: list[Row], facts: dict[str, str], size: Size, started: datetime, seconds: float) -> str:
    lines = [BEGIN, "## Suite: all rows from one run (generated by `bench/run`; do not edit by hand)", "",
             f"- **When**: {started:%Y-%m-%d %H:%M} UTC, {seconds / 60:.0f} min. "
             f"**Mode**: {'quick (smoke test: sizes too small to mean anything)' if size.quick else 'full'}, "
             f"median of {size.runs} runs where the method says so.",
             "- **Machine**: " + "; ".join(f"{k} {v}" for k, v in facts.items()) + ".", "",
             "| row | measure | result | target | met |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r.row} | {r.measure} | {r.result} | {r.target} | {mark(r.met)} |")
    met = [r for r in rows if r.met is True]
    behind = [r for r in rows if r.met is False]
    lines += ["", f"Where we stand in this run: {len(met)} targets met, {len(behind)} missed."]
    if met:
        lines.append("Met: " + "; ".join(f"{r.measure} ({r.result})" for r in met) + ".")
    if behind:
        lines.append("**Behind**: " + "; ".join(f"{r.measure} ({r.result}; target {r.target})" for r in behind) + ".")
    lines += ["", "Method per row:", ""]
    for r in rows:
        if r.method and r.method != "same runs" and r.method != "same run":
            lines.append(f"- **{r.row}**: {r.method}.")
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        _, _, tail = rest.partition(END)
        text = head + section.rstrip("\n") + tail
    elif text.startswith("# "):
        title, _, body = text.partition("\n\n")  # after the title and the first paragraph
        intro, _, rest = body.partition("\n\n")
        text = f"{title}\n\n{intro}\n\n{section}\n{rest}"
    else:
        text = "# Benchmarks\n\n" + section + ("\n" + text if text else "")
    path.write_text(text, encoding="utf-8")


def print_table(rows: list[Row]) -> None:
    width = max(len(r.measure) for r in rows)
    for r in rows:
        print(f"{r.row:<8} {r.measure:<{width}}  {r.result}  [target {r.target}: {mark(r.met)}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run: a smoke test")
    parser.add_argument("--only", default="", help=f"comma-separated rows: {', '.join(ROWS)}")
    parser.add_argument("--runs", type=int, default=3, help="runs per row where repeated (median)")
    parser.add_argument("--out", type=Path, default=DOC, help="Markdown file whose generated section is written")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(ROWS)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        parser.error(f"unknown rows: {', '.join(unknown)} (rows: {', '.join(ROWS)})")
    size = Size(quick=args.quick, runs=1 if args.quick else max(1, args.runs))
    facts, started, clock = machine(), datetime.now(timezone.utc), time.perf_counter()
    rows: list[Row] = []
    for name in names:
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        t = time.perf_counter()
        try:
            rows += ROWS[name](size)
        except Exception as exc:  # noqa: BLE001 - one broken row must not hide the others
            traceback.print_exc()
            rows.append(Row(name, name, f"FAILED: {type(exc).__name__}: {str(exc)[:200]}", met=False))
        print(f"[bench] {name} done in {time.perf_counter() - t:.0f} s", file=sys.stderr, flush=True)
    facts["load at end"] = machine()["load at start"]
    section = render(rows, facts, size, started, time.perf_counter() - clock)
    write_section(args.out, section)
    saved = ROOT / "bench" / "out" / "suite-last.json"  # gitignored: the rows of the last run, for re-reading
    saved.parent.mkdir(exist_ok=True)
    saved.write_text(json.dumps({"machine": facts, "started": started.isoformat(), "quick": size.quick, "runs": size.runs,
                                 "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.json:
        print(json.dumps({"machine": facts, "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=1))
    else:
        print_table(rows)
        print(f"\nwritten: {args.out}")
    return 0 if all(r.met is not False or not r.result.startswith("FAILED") for r in rows) else 1
