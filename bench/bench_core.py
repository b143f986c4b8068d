"""Core benchmarks (issue 2): catalog import and search at 5,000 items, intake rate, CLI start-up, idle memory.

    .venv/bin/python bench/bench_core.py [--items 5000] [--cases 1000] [--runs 5]

Prints a table and a Markdown section for docs/benchmarks.md. Measures wall time with
time.perf_counter on this machine; the median of --runs runs is reported (search: p50/p95 over
--queries lookups). Real SQLite files in a temporary folder, real fsync'd commits.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgenode.clock import CHINA_TZ  # noqa: E402

VILLAGE = "350123102206"
QUERIES = ["救助", "证明", "养老", "宅基地", "残疾人", "补贴", "登记", "起步镇", "上长治村", "医疗", "申领", "许可"]


class TickingClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 16, 9, 0, tzinfo=CHINA_TZ)

    def now(self) -> datetime:
        self.at += timedelta(milliseconds=1)
        return self.at


def gen_catalog(items: int, out: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_catalog.py"), "--items", str(items), "--seed", "1",
                    "--out", str(out)], check=True, capture_output=True)


def bench_import(catalog: Path, runs: int) -> list[float]:
    from edgenode.catalog_store import import_release, read_catalog_file
    from edgenode.node import Node

    times = []
    for run in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            node = Node.init(Path(tmp) / "n", role="station", division=VILLAGE, name="基准测试站", clock=TickingClock())
            start = time.perf_counter()
            import_release(node, read_catalog_file(catalog), staff="bench")
            times.append(time.perf_counter() - start)
            node.close()
    return times


def bench_search_and_intake(catalog: Path, cases: int, queries: int) -> dict:
    from edgenode.catalog_store import import_release, read_catalog_file, search_items
    from edgenode.cases.rules import MaterialMarks
    from edgenode.cases.service import Intake, receive_case
    from edgenode.node import Node
    from tests.conftest import fill_form

    with tempfile.TemporaryDirectory() as tmp:
        node = Node.init(Path(tmp) / "n", role="station", division=VILLAGE, name="基准测试站", clock=TickingClock())
        import_release(node, read_catalog_file(catalog), staff="bench")
        lat = []
        for i in range(queries):
            q = QUERIES[i % len(QUERIES)]
            start = time.perf_counter()
            search_items(node.store, q, offered_only=False)
            lat.append(time.perf_counter() - start)
        lat.sort()
        doc = json.loads(catalog.read_text(encoding="utf-8"))
        item = next(i for i in doc["items"] if i["name"] == "城乡居民基本养老保险参保登记")
        form = fill_form(item)
        e_licences = MaterialMarks(e_licence=frozenset({"sfz"}))
        start = time.perf_counter()
        for _ in range(cases):  # the form and an e-licence: what the counter itself costs
            receive_case(node, Intake(item_code=item["code"], form=form, files={}, marks=e_licences), staff="b")
        bare = cases / (time.perf_counter() - start)
        scans = []
        for i in range(cases):  # two distinct 300 KB scans per case, each flushed to disk before the commit
            pair = [Path(tmp) / f"scan-{i}-{k}.pdf" for k in range(2)]
            for path in pair:
                path.write_bytes(b"%PDF-1.4\n" + os.urandom(300_000) + b"\n%%EOF\n")
            scans.append(pair)
        start = time.perf_counter()
        for sfz, form_scan in scans:
            receive_case(node, Intake(item_code=item["code"], form=form, files={"sfz": sfz, "cbdjb": form_scan}),
                         staff="b")
        with_scans = cases / (time.perf_counter() - start)
        node.close()
    return {"search_p50_ms": lat[len(lat) // 2] * 1000, "search_p95_ms": lat[int(len(lat) * 0.95)] * 1000,
            "cases_per_s": bare, "cases_with_scans_per_s": with_scans}


def intake_rates(cases: int) -> dict:
    """A fresh station with the sample catalog receives ``cases`` applications (form + e-licence, no scan) through
    the Python API; cases per second and the p95 of one case, in ms (bench/suite.py's intake row)."""
    from edgenode.cases.rules import MaterialMarks
    from edgenode.cases.service import Intake, receive_case
    from tests.conftest import fill_form, item_named, make_node

    item = item_named("城乡居民基本养老保险参保登记")
    form, marks = fill_form(item), MaterialMarks(e_licence=frozenset({"sfz"}))
    with tempfile.TemporaryDirectory() as tmp:
        node = make_node(Path(tmp) / "n", TickingClock())
        receive_case(node, Intake(item_code=item["code"], form=form, files={}, marks=marks), staff="b")  # warm-up
        each = []
        start = time.perf_counter()
        for _ in range(cases):
            t = time.perf_counter()
            receive_case(node, Intake(item_code=item["code"], form=form, files={}, marks=marks), staff="b")
            each.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        node.close()
    each.sort()
    return {"cases": cases, "per_s": cases / total, "p95_ms": each[int(len(each) * 0.95)] * 1000}


def bench_help(runs: int) -> list[float]:
    exe = str(Path(sys.executable).with_name("edgenode"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def idle_rss_mb() -> float:
    """Resident memory of a process that opened a node and listed its catalog, then sat idle."""
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from edgenode.node import Node\nfrom edgenode.catalog_store import list_items\n"
            "n = Node.open(%r); list_items(n.store); time.sleep(0.3)\n"
            "print(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])")
    with tempfile.TemporaryDirectory() as tmp:
        from edgenode.node import Node

        Node.init(Path(tmp) / "n", role="station", division=VILLAGE, name="基准测试站", clock=TickingClock()).close()
        out = subprocess.run([sys.executable, "-c", code % (str(ROOT), str(Path(tmp) / "n"))],
                             check=True, capture_output=True, text=True).stdout
    return int(out.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(tmp) / "catalog.json"
        gen_catalog(args.items, catalog)
        imports = bench_import(catalog, args.runs)
        intake = bench_search_and_intake(catalog, args.cases, args.queries)
    helps = bench_help(args.runs * 2)
    rows = [
        (f"catalog import, {args.items} items", f"{statistics.median(imports):.2f} s", "< 3 s"),
        (f"search p95 over {args.items} items", f"{intake['search_p95_ms']:.2f} ms (p50 {intake['search_p50_ms']:.2f})", "< 10 ms"),
        ("cases received/s (Python API; form + e-licence)", f"{intake['cases_per_s']:.0f}/s", ">= 200/s"),
        ("cases received/s with two distinct 300 KB scans", f"{intake['cases_with_scans_per_s']:.0f}/s", "(recorded)"),
        ("edgenode --help start-up", f"{statistics.median(helps) * 1000:.0f} ms", "< 400 ms"),
        ("resident memory, node open and idle", f"{idle_rss_mb():.1f} MB", "(recorded)"),
    ]
    print(f"| measure | result (median of {args.runs}) | target |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
