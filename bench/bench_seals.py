"""Seal benchmarks (issue 3): sealed records/s, one-page notice rendered and sealed, notice verification,
resident memory while sealing.

    .venv/bin/python bench/bench_seals.py [--records 2000] [--notices 30]

A real county CA, a real PIN-guarded seal (production scrypt, unlocked once for a working session), a
real case received at a real station node; wall time with time.perf_counter, medians reported. The
first notice in a process also pays the font parse and the pyHanko import: reported apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgenode.clock import CHINA_TZ  # noqa: E402

T0 = datetime(2026, 11, 16, 9, 30, tzinfo=CHINA_TZ)
PIN = "river-2468-bench"


def setup(tmp: Path):
    from seals.appearance import render_seal
    from seals.ca import CountyCA
    from seals.custody import SealCustody
    from seals.names import seal_name_for

    ca = CountyCA.generate("350123", "罗源县", T0 - timedelta(days=30))
    custody = SealCustody.create(tmp / "seal-1", "seal-1", PIN)
    name = seal_name_for("village", county="罗源县", township="起步镇", village="上长治村")
    image = render_seal(name)
    cert = ca.issue_seal_cert(seal_id="seal-1", level="village", body=name.body, purpose=name.purpose,
                              division="350123102206", node_id="stn", public_key_pem=custody.public_key_pem(),
                              appearance_png_sha256=image.png_sha256, appearance_svg_sha256=image.svg_sha256,
                              now=T0 - timedelta(days=1))
    crl = ca.issue_crl([], number=1, now=T0 - timedelta(hours=1))
    seal = custody.unlock(PIN, T0)
    return ca, seal, image, [cert, ca.cert_pem], crl


def a_case(tmp: Path):
    from edgenode.cases.service import Intake, receive_case
    from tests.conftest import fill_form, item_named, make_node

    class Clock:
        def now(self):
            return T0

    node = make_node(tmp / "station", Clock())
    item = item_named("城乡居民基本养老保险待遇申领")
    scan = tmp / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
    files = {m["id"]: scan for m in item["materials"] if m.get("required", True)}
    state = receive_case(node, Intake(item_code=item["code"], form=fill_form(item), files=files), staff="代办员甲")
    return node, state, item


def measure(records: int = 2000, notices: int = 30) -> dict:
    """Every figure of this script as a dict (bench/suite.py's sealing row; main() prints them)."""
    from seals.keys import create_node_keys
    from seals.record import seal_record, verify_record

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca, seal, image, chain, crl = setup(tmp)
        record = {"case_no": "350123102206-abcdef-2026000001", "kind": "acceptance", "item": "城乡居民基本养老保险待遇申领",
                  "accepted_on": "2026-11-16", "applicant": "林秀英", "id": "350123********1234"}
        start = time.perf_counter()
        for i in range(records):
            sealed = seal_record({**record, "seq": i}, seal, chain, T0)
        es256 = records / (time.perf_counter() - start)
        node_keys = create_node_keys(tmp / "keys")
        node_cert = ca.issue_node_cert(node_id="350123102206-abcdef", division="350123102206", role="station",
                                       signing_public_raw=node_keys.signing_public_raw(),
                                       exchange_public_raw=node_keys.exchange_public_raw(),
                                       display_name="罗源县起步镇上长治村便民服务站", now=T0 - timedelta(days=1))
        start = time.perf_counter()
        for i in range(records):
            seal_record({**record, "seq": i}, node_keys, [node_cert, ca.cert_pem], T0)
        ed25519 = records / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(200):
            verify_record(sealed.envelope, [ca.cert_pem], [crl], T0 + timedelta(minutes=1))
        record_verify_ms = (time.perf_counter() - start) / 200 * 1000

        from edgenode.notices import issue_notice, notice_from_case, verify_notice

        node, state, item = a_case(tmp)
        issuer = {"node_name": node.config.name, "division": node.config.division,
                  "seal_name": "罗源县起步镇上长治村民委员会", "handler": "林代办", "phone": "0591-26801234"}
        data = notice_from_case(state, "acceptance", issuer=issuer, doc_no=state.notices[-1]["doc_no"],
                                issued_at=T0, item=item)
        start = time.perf_counter()
        first = issue_notice(data, seal, chain, image.png, T0)
        first_ms = (time.perf_counter() - start) * 1000
        seal_times, verify_times = [], []
        for _ in range(notices):
            start = time.perf_counter()
            issued = issue_notice(data, seal, chain, image.png, T0)
            seal_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            check = verify_notice(issued.pdf, [ca.cert_pem], [crl], T0 + timedelta(minutes=1))
            verify_times.append(time.perf_counter() - start)
            assert check.valid, check.verdict.reason_codes
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        node.close()
    return {"es256_per_s": es256, "ed25519_per_s": ed25519, "record_verify_ms": record_verify_ms,
            "notice_ms": statistics.median(seal_times) * 1000, "first_notice_ms": first_ms,
            "notice_verify_ms": statistics.median(verify_times) * 1000, "peak_mb": peak_mb,
            "notice_kb": len(first.pdf) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--notices", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    m = measure(args.records, args.notices)
    if args.json:
        print(json.dumps(m, indent=1))
        return
    rows = [
        ("sealed records/s, ES256 (station seal)", f"{m['es256_per_s']:.0f}/s", ">= 2,000/s"),
        ("sealed records/s, Ed25519 (node key)", f"{m['ed25519_per_s']:.0f}/s", "(recorded)"),
        ("sealed record verification", f"{m['record_verify_ms']:.2f} ms", "(recorded)"),
        ("one-page notice rendered + sealed (median, warm)", f"{m['notice_ms']:.0f} ms", "< 150 ms"),
        ("first notice in a process (font + pyHanko load)", f"{m['first_notice_ms']:.0f} ms", "(recorded)"),
        ("notice verification (median)", f"{m['notice_verify_ms']:.0f} ms", "< 50 ms"),
        ("peak resident memory while sealing", f"{m['peak_mb']:.0f} MB", "(recorded)"),
        ("sealed notice size", f"{m['notice_kb']:.0f} KB", "(recorded)"),
    ]
    print(f"| measure | result | target |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
