"""Counter page benchmarks (issue 6, part B): median server time and weight of the 收件 and 办件 pages.

    .venv/bin/python bench/bench_counter.py [--items 5000] [--cases 10000] [--repeat 20] [--keep DIR]

--keep DIR builds the station under DIR once and reuses it on later runs (building 10,000 cases takes minutes;
each run adds --repeat cases by timing the receipt).

Builds the station of bench/bench_web.py (generated catalog of --items items, --cases cases received through
the Python API, enrolled with a county; the seal stays locked, so a receipt's notice is left pending and
sealing is not in these figures: see bench/bench_notices*.py for that), signs a clerk in, then times through
the WSGI app in-process (Flask test client: routing, session and CSRF check, queries, templates; no network):
the intake form of an item with every kind of field, the form step's validation (POST), the whole receipt
(POST of the materials step with two uploaded scans: validation, blobs, events, audit), the 办件 list plain,
filtered and on a far page, and a case page. Wall-clock figures vary on a shared machine; not a test.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_web import PASSWORD, build_station, median_ms  # noqa: E402
from tests.conftest import fill_form, item_named  # noqa: E402

PDF = b"%PDF-1.4\n%bench\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def form_data(item: dict) -> dict:
    data = {}
    for name, value in fill_form(item).items():
        value = ("true" if value else "false") if isinstance(value, bool) else value
        data["f_" + name] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-counter-") as tmp:
        from datetime import datetime

        from edgenode.accounts.staff import add_staff
        from edgenode.clock import CHINA_TZ
        from edgenode.node import Node
        from edgenode.web.app import create_app
        from tests.conftest import MovableClock

        base = args.keep or Path(tmp)
        if args.keep is not None and (base / "station").exists():
            import os

            os.environ.setdefault("EDGENODE_RUNTIME_DIR", str(base / "run"))
            home, clock = base / "station", MovableClock(datetime(2026, 11, 20, 9, 0, tzinfo=CHINA_TZ))
        else:
            base.mkdir(parents=True, exist_ok=True)
            home, clock = build_station(base, args.items, args.cases, 0)
            node = Node.open(home, clock)
            add_staff(node, login="clerk", display_name="代办员", role="clerk", password=PASSWORD, by="bench")
            node.close()
        app = create_app(home, clock=clock)
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"login": "clerk", "password": PASSWORD, "csrf_token": token}).status_code == 303
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
        dibao, pension = item_named("最低生活保障申请"), item_named("城乡居民基本养老保险参保登记")
        listing = client.get("/cases").get_data(as_text=True)
        case_url = re.search(r'href="(/cases/[^"/?]+)"', listing).group(1)
        case_no = re.search(r'<a href="/cases/[^"]+">([^<]+)</a>', listing).group(1)
        pages = ["/intake", "/intake?q=低保", f"/intake/{dibao['code']}", "/cases", "/cases?status=accepted",
                 f"/cases?q={case_no[-10:]}", "/cases?page=200", "/cases?from=2026-11-18&to=2026-11-18", case_url]
        print(f"in-process (Flask test client), {args.items} items, {args.cases} cases, median of {args.repeat}:")
        for path in pages:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            ms = median_ms(lambda: client.get(path), args.repeat)
            print(f"  GET  {path[:44]:<44} median {ms:7.1f} ms  {len(answer.data):>7} bytes")

        def form_step() -> None:
            answer = client.post(f"/intake/{dibao['code']}", data={"csrf_token": token, "step": "form",
                                                                    **form_data(dibao)})
            assert answer.status_code == 200, answer.status_code

        ms = median_ms(form_step, args.repeat)
        print(f"  POST 收件 form step (validate, render materials)       median {ms:7.1f} ms")

        def receive() -> None:
            data = {"csrf_token": token, "step": "materials", **form_data(pension),
                    "file_sfz": (io.BytesIO(PDF), "sfz.pdf"), "file_cbdjb": (io.BytesIO(PNG), "b.png")}
            answer = client.post(f"/intake/{pension['code']}", data=data, content_type="multipart/form-data")
            assert answer.status_code == 303, answer.get_data(as_text=True)[-500:]

        ms = median_ms(receive, args.repeat)
        print(f"  POST 收件 materials step (the whole receipt)           median {ms:7.1f} ms")
        app.extensions["edgenode"].pool.close_current()


if __name__ == "__main__":
    main()
