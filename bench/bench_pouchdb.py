"""Side by side with PouchDB (issue 5, point 3): the same records pushed by PouchDB and by edgenode.

    .venv/bin/python bench/bench_pouchdb.py [--records 10000] [--json]

Theirs: `pouchdb` and `pouchdb-server` from the npm registry, installed into bench/.scratch/pouchdb
(gitignored; never a product dependency) with `npm install --no-audit --no-fund` on first use. pouchdb-server
(LevelDB in a scratch folder) on 127.0.0.1; a PouchDB client in node (bench/pouchdb/push.js, its local db
LevelDB too) loads the records, then `db.replicate.to(remote)`, timed inside node; requests counted by
wrapping PouchDB's fetch.

Ours: a county hub run by `edgenode serve` and a station enrolled with it (tests/http/realnet.py). The
station receives each record as a case of 城乡居民基本养老保险参保登记 through the intake API (the record is the
form; materials marked as e-licences or seen on paper, so no scans), then drains its outbox with the real engine and HTTP
transport (`sync_once`): events packed, compressed, encrypted to the hub (HPKE) and signed (Ed25519), the
hub verifying, storing durably and answering with signed receipts. Timed from the first request to the
last receipt.

Both go through the project's byte-counting proxy (tests/http/faultproxy.py, no faults unless cut), which
counts bytes both ways (HTTP headers and bodies: TCP payload). Per side: records/s, bytes on the wire per
record, requests; a nothing-changed sync from a fresh client (a new process for PouchDB, a new transport
and session for ours); and the waste after a cut: a fresh remote, the link cut (RST) once half-way through
a clean run's bytes (bench/linkproxy.py), the client going again until done, and the bytes on the wire
beyond the clean run's. The records are the same for both (bench/records.py, seed 1).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SCRATCH = ROOT / "bench" / ".scratch" / "pouchdb"
PUSH_JS = ROOT / "bench" / "pouchdb" / "push.js"


class Unavailable(Exception):
    """PouchDB could not be installed or started here: the row says so instead of a figure."""


# -- theirs ---------------------------------------------------------------------------------------------------
def ensure_pouchdb() -> Path:
    modules = SCRATCH / "node_modules"
    if (modules / "pouchdb").is_dir() and (modules / "pouchdb-server").is_dir():
        return modules
    if not shutil.which("node") or not shutil.which("npm"):
        raise Unavailable("node/npm not installed here")
    SCRATCH.mkdir(parents=True, exist_ok=True)
    package = SCRATCH / "package.json"
    if not package.exists():
        package.write_text('{"name": "bench-pouchdb-scratch", "private": true}\n', encoding="utf-8")
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "pouchdb", "pouchdb-server"], cwd=SCRATCH,
                          capture_output=True, text=True, timeout=1200)
    if done.returncode != 0 or not (modules / "pouchdb-server").is_dir():
        raise Unavailable(f"npm install failed (registry unreachable?): {done.stderr.strip()[-300:]}")
    return modules


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PouchServer:
    def __init__(self, modules: Path, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = open(folder / "server.log", "wb")
        self.proc = subprocess.Popen(["node", str(modules / "pouchdb-server" / "bin" / "pouchdb-server"),
                                      "-p", str(self.port), "-o", "127.0.0.1", "-d", str(folder),
                                      "-c", str(folder / "config.json"), "-n"],
                                     cwd=folder, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, "NODE_PATH": str(modules)})
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise Unavailable(f"pouchdb-server exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise Unavailable("pouchdb-server did not start within 60 s")
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(20)
        self.log.close()


def node_js(modules: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(["node", str(PUSH_JS), *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "NODE_PATH": str(modules)})
    if done.returncode != 0:
        raise RuntimeError(f"push.js {args[0]} failed: {done.stderr[-1000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def theirs(records: list[dict], runs: int, tmp: Path) -> dict[str, Any]:
    from linkproxy import LinkProxy as FaultProxy

    modules = ensure_pouchdb()
    source = tmp / "records.jsonl"
    source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    local = tmp / "pouch-local"
    node_js(modules, "load", str(local), str(source))
    server = PouchServer(modules, tmp / "pouch-server")
    try:
        clean = []
        for run in range(runs):
            with FaultProxy(server.port, lifetime=1800) as proxy:
                out = node_js(modules, "push", str(local), f"{proxy.url}/bench{run}")
                assert out["ok"] and out["docs_written"] == len(records), out
                clean.append({**out, "wire": proxy.total(), "biggest": max(u + d for u, d in proxy.counters.per_connection or [(0, 0)]),
                              "connections": proxy.counters.connections})
            if run == 0:
                with FaultProxy(server.port, lifetime=600) as proxy:
                    again = node_js(modules, "push", str(local), f"{proxy.url}/bench0")
                quiet = {"requests": again["requests"], "bytes": proxy.total(), "docs_written": again["docs_written"]}
        wire = statistics.median(c["wire"] for c in clean)
        with FaultProxy(server.port, lifetime=1800) as proxy:
            proxy.cut_once_at(clean[0]["wire"] // 2)
            attempts, written = 0, 0
            while written < len(records) and attempts < 10:
                out = node_js(modules, "push", str(local), f"{proxy.url}/benchcut")
                attempts += 1
                written += out["docs_written"]
                if out["ok"]:
                    break
            cut = {"attempts": attempts, "wire": proxy.total(), "cuts": proxy.counters.cuts}
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/benchcut", timeout=30) as answer:
            cut["remote_docs"] = json.loads(answer.read())["doc_count"]  # all there after the cut and the resume?
        version = json.loads((modules / "pouchdb" / "package.json").read_text())["version"]
    finally:
        server.stop()
    seconds = statistics.median(c["seconds"] for c in clean)
    return {"version": f"pouchdb {version}", "records": len(records), "seconds": seconds,
            "per_second": len(records) / seconds, "wire": wire, "bytes_per_record": wire / len(records),
            "requests": statistics.median(c["requests"] for c in clean), "quiet": quiet,
            "cut": {**cut, "waste": cut["wire"] - clean[0]["wire"]}, "runs": runs}


# -- ours -----------------------------------------------------------------------------------------------------
def receive_records(station: Any, records: list[dict]) -> None:
    """Each record received as a case of 城乡居民基本养老保险参保登记 (the record is the form; materials marked as
    e-licences or seen on paper, so no scans travel)."""
    from edgenode.cases.rules import MaterialMarks
    from edgenode.cases.service import Intake, receive_case
    from tests.conftest import item_named

    item = item_named("城乡居民基本养老保险参保登记")
    marks = MaterialMarks(e_licence=frozenset(m["id"] for m in item["materials"] if m.get("e_licence")),
                          provided=frozenset(m["id"] for m in item["materials"] if not m.get("e_licence")))
    for record in records:
        receive_case(station, Intake(item_code=item["code"], form=dict(record), files={}, marks=marks), staff="代办员甲")


def _station_with_records(tmp: Path, records: list[dict]):
    from datetime import datetime

    from tests.conftest import MovableClock
    from tests.http.realnet import make_real_net

    clock = MovableClock(datetime.fromisoformat("2026-11-16T09:30:00+08:00"))
    net = make_real_net(tmp, clock)
    with net.open_station() as station:
        receive_records(station, records)
        events = station.store.query_one("SELECT count(*) AS n FROM events")["n"]
    return net, events


def drain(net: Any, proxy: Any, *, fresh: bool = True) -> dict[str, Any]:
    """Sync the station with the hub through the proxy until nothing is pending; a cut: go again at once."""
    from bench_sync import sync_until_done
    from edgenode.replication import peers
    from edgenode.replication.loop import Session, open_transport

    from edgenode.replication import blob_sync, engine  # noqa: F401 - imported before the clock starts

    requests, failures = 0, 0
    with net.open_station() as station:
        peer, session = peers.get(station, net.county_id), Session()
        engine.hello(station, peer.node_id)
        start = time.perf_counter()
        while True:
            try:
                with open_transport(station, peer) as transport:
                    requests += sync_until_done(station, peer, transport, session)
                break
            except Exception as exc:  # noqa: BLE001 - a cut link: count it and go again
                if str(getattr(exc, "code", "")).startswith("HTTP_1") and failures < 20:
                    failures += 1
                    continue
                raise
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "requests": requests, "attempts": failures + 1}


def quiet_sync(net: Any, proxy: Any) -> dict[str, Any]:
    from edgenode.replication import engine, peers
    from edgenode.replication.loop import Session, open_transport, sync_once

    before = proxy.total()
    with net.open_station() as station:
        peer = peers.get(station, net.county_id)
        with open_transport(station, peer) as transport:
            result = sync_once(station, engine, peer, transport, session=Session())
    return {"requests": result.requests, "bytes": proxy.total() - before}


def vm(pid: int, key: str) -> float:
    """VmRSS/VmHWM of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def ours(records: list[dict], runs: int, tmp: Path) -> dict[str, Any]:
    from linkproxy import LinkProxy as FaultProxy

    os.environ.setdefault("EDGENODE_RUNTIME_DIR", str(tmp / "run"))
    clean, quiet, memory, events = [], None, {}, 0
    for run in range(runs + 1):  # the last one is the cut run
        net, events = _station_with_records(tmp / f"ours-{run}", records)
        hub = net.start_hub()
        try:
            memory.setdefault("idle_mb", vm(hub.proc.pid, "VmRSS"))
            with FaultProxy(hub.port, lifetime=1800) as proxy:
                net.point_station_at(proxy.url)
                if run == runs:
                    proxy.cut_once_at(clean[0]["wire"] // 2)
                out = drain(net, proxy)
                wire, up = proxy.total(), proxy.counters.up
                biggest = max(u + d for u, d in proxy.counters.per_connection or [(0, 0)])
                if run == 0:
                    memory["busy_peak_mb"] = vm(hub.proc.pid, "VmHWM")
                    quiet = quiet_sync(net, proxy)
            if run < runs:
                clean.append({**out, "wire": wire, "up": up, "biggest": biggest})
            else:
                cut = {"attempts": out["attempts"], "wire": wire, "waste": wire - clean[0]["wire"], "cuts": proxy.counters.cuts}
        finally:
            hub.terminate()
        shutil.rmtree(tmp / f"ours-{run}", ignore_errors=True)
    seconds = statistics.median(c["seconds"] for c in clean)
    wire = statistics.median(c["wire"] for c in clean)
    return {"version": "edgenode", "records": len(records), "events": events, "seconds": seconds,
            "per_second": len(records) / seconds, "wire": wire, "bytes_per_record": wire / len(records),
            "requests": statistics.median(c["requests"] for c in clean), "quiet": quiet, "cut": cut,
            "up": statistics.median(c["up"] for c in clean),
            "hub_memory": memory, "runs": runs}


# -- both -----------------------------------------------------------------------------------------------------
def compare(count: int = 10_000, runs: int = 1) -> dict[str, Any]:
    from records import make_records, record_bytes

    records = make_records(count, seed=1)
    with tempfile.TemporaryDirectory(prefix="bench-pouch-") as folder:
        tmp = Path(folder)
        try:
            them: dict[str, Any] = theirs(records, runs, tmp)
        except Unavailable as exc:
            them = {"unavailable": str(exc)}
        us = ours(records, runs, tmp)
    return {"records": count, "record_bytes": record_bytes(records), "theirs": them, "ours": us}


def table(result: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(measure, ours, PouchDB, target) rows."""
    us, them = result["ours"], result["theirs"]
    gone = them.get("unavailable")

    def t(fn) -> str:
        return f"not measured: {gone}" if gone else fn(them)

    rows = [
        ("records/s (push to the hub, 127.0.0.1)", f"{us['per_second']:,.0f}/s", t(lambda m: f"{m['per_second']:,.0f}/s"),
         ">= 3x PouchDB"),
        ("bytes on the wire per record (both ways)", f"{us['bytes_per_record']:,.0f} B",
         t(lambda m: f"{m['bytes_per_record']:,.0f} B"), "<= half PouchDB's"),
        (f"HTTP requests for {result['records']:,} records", f"{us['requests']:.0f}", t(lambda m: f"{m['requests']:.0f}"),
         "one per batch (+ hello, pull, receipts)"),
        ("nothing-changed sync (fresh client)", f"{us['quiet']['requests']} req, {us['quiet']['bytes']:,} B",
         t(lambda m: f"{m['quiet']['requests']} req, {m['quiet']['bytes']:,} B"), "(recorded)"),
        ("waste after one cut (bytes beyond a clean run)", f"{us['cut']['waste']:,} B ({us['cut']['cuts']} cut, {us['cut']['attempts']} attempts)",
         t(lambda m: f"{m['cut']['waste']:,} B ({m['cut']['cuts']} cut, {m['cut']['attempts']} attempts, "
                           f"{m['cut']['remote_docs']:,} docs arrived)"), "(recorded)"),
    ]
    return rows


def targets_met(result: dict[str, Any]) -> dict[str, bool | None]:
    us, them = result["ours"], result["theirs"]
    from sync.transport_http import MAX_BATCH_BYTES  # noqa: F401 - the budget grows from START_REQUEST_BYTES
    from edgenode.replication.loop import START_REQUEST_BYTES

    batches = -(-int(us["up"]) // START_REQUEST_BYTES)  # at most this many batches at the starting budget
    requests_ok = us["requests"] <= batches + 3
    if "unavailable" in them:
        return {"speed": None, "bytes": None, "requests": requests_ok}
    return {"requests": requests_ok, "speed": us["per_second"] >= 3 * them["per_second"], "bytes": us["bytes_per_record"] <= them["bytes_per_record"] / 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = compare(args.records, args.runs)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=1))
        return
    print(f"{args.records:,} records of {result['record_bytes']:.0f} B; ours: {result['ours'].get('events')} events")
    print("| measure | edgenode | PouchDB | target |\n| --- | --- | --- | --- |")
    for row in table(result):
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
