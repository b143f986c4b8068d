"""Web UI benchmarks (issue 6): argon2id cost, median server time and weight per page, resident memory.

    .venv/bin/python bench/bench_web.py [--items 5000] [--cases 1000] [--repeat 20]

1. argon2id at the node's parameters (19 MiB, t=2, p=1): median hash and verify time of 10.
2. A station with a generated catalog of ``--items`` items (bench/gen_catalog.py) and ``--cases`` cases
   received through the intake API (a third of them complex receipts, so the home page has deadlines):
   median server time of ``--repeat`` requests per page through the WSGI app in-process (Flask test
   client: routing, session check, queries, templates; no network), and each page's size in bytes.
3. The same home served by `edgenode serve --no-sync`: VmRSS of the process after the pages were
   requested ``--repeat`` times each over HTTP.

Wall-clock figures on a shared machine vary; run it a few times. Not a test: tests never time anything.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgenode.clock import CHINA_TZ  # noqa: E402
from tests.conftest import MovableClock, fill_form, item_named  # noqa: E402

PASSWORD = "Counter2026x"
EDGENODE = str(Path(sys.executable).with_name("edgenode"))


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_argon2() -> None:
    from edgenode.accounts import staff

    hashed = staff.hash_password(PASSWORD)
    h = median_ms(lambda: staff.hash_password(PASSWORD), 10)
    v = median_ms(lambda: staff._verify(hashed, PASSWORD), 10)
    print(f"argon2id m={staff.ARGON2_MEMORY_KIB} KiB t={staff.ARGON2_TIME_COST} p={staff.ARGON2_PARALLELISM}: "
          f"hash {h:.1f} ms, verify {v:.1f} ms (median of 10)")


def build_station(tmp: Path, items: int, cases: int) -> tuple[Path, MovableClock]:
    from edgenode.accounts.staff import add_staff
    from edgenode.cases.service import Intake, receive_case
    from edgenode.catalog_store import import_release, read_catalog_file
    from edgenode.node import Node

    catalog = tmp / "catalog.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_catalog.py"), "--items", str(items), "--seed", "1",
                    "--out", str(catalog)], check=True, capture_output=True)
    clock = MovableClock(datetime(2026, 11, 16, 9, 0, tzinfo=CHINA_TZ))
    node = Node.init(tmp / "station", role="station", division="350123102206", name="罗源县起步镇上长治村便民服务站",
                     clock=clock)
    import_release(node, read_catalog_file(catalog), staff="bench")
    add_staff(node, login="admin", display_name="管理员", role="admin", password=PASSWORD, by="bench")
    scans = tmp / "scans"
    scans.mkdir()
    pdf, png = scans / "a.pdf", scans / "b.png"
    pdf.write_bytes(b"%PDF-1.4\n%bench\n%%EOF\n")
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    item = item_named("城乡居民基本养老保险参保登记")
    dibao = item_named("最低生活保障申请")
    started = time.perf_counter()
    for n in range(cases):
        if n % 3 == 0:
            intake = Intake(item_code=dibao["code"], form=fill_form(dibao), files={"sfz": pdf}, complex_=True)
        else:
            intake = Intake(item_code=item["code"], form=fill_form(item), files={"sfz": pdf, "cbdjb": png})
        receive_case(node, intake, staff="bench")
        if n % 200 == 199:
            clock.at = clock.at.replace(day=min(clock.at.day + 1, 20))
    print(f"station: {items} items, {cases} cases received in {time.perf_counter() - started:.1f} s")
    node.close()
    return tmp / "station", clock


def bench_pages(home: Path, clock: MovableClock, repeat: int) -> list[str]:
    from edgenode.web.app import create_app

    app = create_app(home, clock=clock)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"login": "admin", "password": PASSWORD, "csrf_token": token}).status_code == 303
    guide = re.search(r'href="(/items/[^"]+)"', client.get("/items?q=低保").get_data(as_text=True)).group(1)
    pages = ["/", "/items", "/items?q=低保", guide, "/staff"]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        ms = median_ms(lambda: client.get(path), repeat)
        print(f"page {path[:40]:<40} median {ms:7.1f} ms  {len(answer.data):>7} bytes")
    app.extensions["edgenode"].pool.close_current()
    return pages


def bench_rss(home: Path, pages: list[str], repeat: int) -> None:
    import httpx

    env = {**os.environ, "EDGENODE_HOME": str(home), "EDGENODE_NOW": "2026-11-20T10:00:00"}
    out = home.parent / "serve.out"
    with open(out, "wb") as handle:
        proc = subprocess.Popen([EDGENODE, "serve", "--port", "0", "--no-sync", "--json"], stdout=handle,
                                stderr=subprocess.DEVNULL, env=env)
    try:
        while not out.read_bytes().endswith(b"\n"):
            time.sleep(0.05)
        import json

        url = json.loads(out.read_text(encoding="utf-8").splitlines()[0])["url"].rstrip("/")
        with httpx.Client(base_url=url, follow_redirects=False) as http:
            token = re.search(r'name="csrf_token" value="([^"]+)"', http.get("/login").text).group(1)
            http.post("/login", data={"login": "admin", "password": PASSWORD, "csrf_token": token})
            for path in pages:
                for _ in range(repeat):
                    assert http.get(path).status_code == 200
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        print(f"edgenode serve resident memory after {repeat * len(pages)} requests: {rss / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    bench_argon2()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        home, clock = build_station(Path(tmp), args.items, args.cases)
        pages = bench_pages(home, clock, args.repeat)
        bench_rss(home, pages, args.repeat)


if __name__ == "__main__":
    main()
