"""Web UI benchmarks (issue 6): argon2id cost, median server time and weight per page, resident memory.

    .venv/bin/python bench/bench_web.py [--items 5000] [--cases 10000] [--conflicts 20] [--repeat 20]

1. argon2id at the node's parameters (19 MiB, t=2, p=1): median hash and verify time of 10.
2. A station enrolled with a county (CA, seal, the county as upstream) with a generated catalog of ``--items``
   items (bench/gen_catalog.py) and ``--cases`` cases received through the Python API (a third of them complex
   receipts, so the home page has deadlines), ``--conflicts`` of them edited at both the station and the
   county while apart (open conflicts on the 冲突 page).
3. Median server time of ``--repeat`` requests per page through the WSGI app in-process (Flask test client:
   routing, session check, queries, templates; no network), each page's size in bytes, and the time of its
   first request (首页 and 冲突 keep folded cases between requests, edgenode/web/kept.py: the first folds them):
   首页, 事项 list, search and guide, 办件 list and a case page, 收件, 同步, 冲突, 印章, 人员 (the pages that exist).
4. The same home served by `edgenode serve --no-sync`: median time per page over real HTTP (httpx on
   127.0.0.1, keep-alive), and VmRSS of the process after the pages were requested ``--repeat`` times each.

Wall-clock figures on a shared machine vary (the load average is printed at the start and the end); run it a few
times. Not a test: tests never time anything.
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
from typing import Any

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


def build_station(tmp: Path, items: int, cases: int, conflicts: int = 0) -> tuple[Path, MovableClock]:
    from edgenode.accounts.staff import add_staff
    from edgenode.cases.edits import edit_case_fields
    from edgenode.cases.exchange import export_events, import_events
    from edgenode.cases.service import Intake, receive_case
    from edgenode.catalog_store import import_release, read_catalog_file
    from edgenode.node import Node
    from tests.sealing.conftest import enrol, make_county

    os.environ.setdefault("EDGENODE_RUNTIME_DIR", str(tmp / "run"))
    catalog = tmp / "catalog.json"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_catalog.py"), "--items", str(items), "--seed", "1",
                    "--out", str(catalog)], check=True, capture_output=True)
    clock = MovableClock(datetime(2026, 11, 16, 9, 0, tzinfo=CHINA_TZ))
    county = make_county(tmp / "county", clock)
    node = Node.init(tmp / "station", role="station", division="350123102206", name="罗源县起步镇上长治村便民服务站",
                     clock=clock)
    release = read_catalog_file(catalog)
    import_release(node, release, staff="bench")
    import_release(county.node, release, staff="bench")
    enrol(node, county, tmp / "enrol")
    add_staff(node, login="admin", display_name="管理员", role="admin", password=PASSWORD, by="bench")
    scans = tmp / "scans"
    scans.mkdir()
    pdf, png = scans / "a.pdf", scans / "b.png"
    pdf.write_bytes(b"%PDF-1.4\n%bench\n%%EOF\n")
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    item = item_named("城乡居民基本养老保险参保登记")
    dibao = item_named("最低生活保障申请")
    started = time.perf_counter()
    contested = [receive_case(node, Intake(item_code=item["code"], form=fill_form(item),
                                           files={"sfz": pdf, "cbdjb": png}), staff="bench")
                 for _ in range(conflicts)]
    if contested:   # the county holds these cases; both edit the phone while apart; the station learns of it
        import_events(county.node, export_events(node), staff="同步")
        for n, state in enumerate(contested):
            edit_case_fields(node, state.case_no, {"phone": f"1390591{n:04d}"}, "申请人更换号码", "bench")
            edit_case_fields(county.node, state.case_no, {"phone": f"1380591{n:04d}"}, "电话核实", "县级")
        import_events(node, export_events(county.node, [s.case_id for s in contested]), staff="同步")
    county.node.close()
    for n in range(cases - conflicts):
        if n % 3 == 0:
            intake = Intake(item_code=dibao["code"], form=fill_form(dibao), files={"sfz": pdf}, complex_=True)
        else:
            intake = Intake(item_code=item["code"], form=fill_form(item), files={"sfz": pdf, "cbdjb": png})
        receive_case(node, intake, staff="bench")
        if n % 200 == 199:
            clock.at = clock.at.replace(day=min(clock.at.day + 1, 20))
    print(f"station: {items} items, {cases} cases ({conflicts} in conflict) received in "
          f"{time.perf_counter() - started:.1f} s")
    node.close()
    return tmp / "station", clock


def _pages(client: Any, get: Any) -> list[str]:
    """The pages to time: those of the menu that exist, plus a guide and a case page found through them."""
    guide = re.search(r'href="(/items/[^"]+)"', get("/items?q=低保")).group(1)
    pages = ["/", "/items", "/items?q=低保", guide]
    cases = get("/cases") if client.get("/cases").status_code == 200 else ""
    if cases:
        found = re.search(r'href="(/cases/[^"/?]+)"', cases)
        pages += ["/cases"] + ([found.group(1)] if found else [])
    pages += [p for p in ("/intake", "/sync", "/conflicts", "/seals", "/staff") if client.get(p).status_code == 200]
    return pages


def bench_pages(home: Path, clock: MovableClock, repeat: int) -> list[str]:
    from edgenode.web.app import create_app

    app = create_app(home, clock=clock)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"login": "admin", "password": PASSWORD, "csrf_token": token}).status_code == 303
    pages = _pages(client, lambda path: client.get(path).get_data(as_text=True))
    print("in-process (Flask test client):")
    for path in pages:
        start = time.perf_counter()
        answer = client.get(path)
        first = (time.perf_counter() - start) * 1000
        assert answer.status_code == 200, (path, answer.status_code)
        ms = median_ms(lambda: client.get(path), repeat)
        print(f"  page {path[:40]:<40} median {ms:7.1f} ms  {len(answer.data):>7} bytes  first {first:7.1f} ms")
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
            print("over HTTP (edgenode serve, httpx on 127.0.0.1):")
            for path in pages:
                assert http.get(path).status_code == 200, path
                ms = median_ms(lambda: http.get(path), repeat)
                print(f"  page {path[:40]:<40} median {ms:7.1f} ms")
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
        print(f"edgenode serve resident memory after {repeat * len(pages)} requests: {rss / 1024:.0f} MB")
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--conflicts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build the nodes in this folder and keep them; if it already "
                                                 "holds them (a previous run), time the pages again without building")
    args = parser.parse_args()
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    bench_argon2()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        base = args.keep or Path(tmp)
        if args.keep and (base / "station" / "config.json").exists():
            home, clock = base / "station", MovableClock(datetime(2026, 11, 20, 9, 0, tzinfo=CHINA_TZ))
            print(f"station: reusing {home}")
        else:
            base.mkdir(parents=True, exist_ok=True)
            home, clock = build_station(base, args.items, args.cases, args.conflicts)
        pages = bench_pages(home, clock, args.repeat)
        bench_rss(home, pages, args.repeat)
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
