"""Batched ingest (`engine.accept_batch`): one durable transaction per batch, with every guarantee of the
one-packet path: a refusal sets one packet aside without undoing the others, a duplicate (within a batch or
across batches) gets the original receipt byte for byte, a SIGKILL mid-batch loses nothing and duplicates
nothing, and a certificate revoked between batches is refused (the cached verdict does not outlive its CRL)."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from edgenode.audit import verify
from edgenode.replication import engine, outbox, peers as peers_mod
from sync.packet import packet_hash, read_header
from sync.receipt import verify_receipt
from tests.conftest import ROOT
from tests.replication.conftest import audit_count, event_ids, peer, receive
from tests.replication.test_refusals import _payload, craft, inbox_rows


def one_packet_per_case(net, scans, count: int) -> list[bytes]:
    """The station receives `count` cases and packs each into its own packet as it goes."""
    row = peers_mod.row_for(net.station, net.county.config.node_id)
    for _ in range(count):
        receive(net.station, scans)
        outbox.build(net.station, row)
    return outbox.pending(net.station, net.county.config.node_id)


def statuses(node, packets, answers) -> list[str]:
    return [verify_receipt(a, expected_packet_id=read_header(p).packet_id, expected_packet_hash=packet_hash(p),
                           hub_signing_public=node.keys.signing_public_raw()).status for p, a in zip(packets, answers)]


def test_a_refused_packet_mid_batch_is_set_aside_and_the_others_are_applied(net, scans):
    good = one_packet_per_case(net, scans, 4)
    net.station.clock.at += timedelta(hours=1)  # this case's events are an hour ahead of the county: CASE_047
    late = receive(net.station, scans)
    outbox.build(net.station, peers_mod.row_for(net.station, net.county.config.node_id))
    ahead = outbox.pending(net.station, net.county.config.node_id)
    ahead = [p for p in ahead if p not in good]
    assert len(ahead) == 1
    batch = [*good[:2], ahead[0], *good[2:]]
    answers = engine.accept_batch(net.county, batch)
    assert statuses(net.county, batch, answers) == ["accepted", "accepted", "refused", "accepted", "accepted"]
    assert _payload(answers[2])["reason_code"] == "CASE_047"
    rows = inbox_rows(net.county)
    assert rows[read_header(ahead[0]).packet_id]["status"] == "refused" and rows[read_header(ahead[0]).packet_id]["kept"]
    assert sorted(r["status"] for r in rows.values()) == ["accepted"] * 4 + ["refused"]
    assert event_ids(net.county, late.case_id) == []  # nothing of the refused packet, everything of the others
    others = {e for e in event_ids(net.station) if e not in set(event_ids(net.station, late.case_id))}
    assert set(event_ids(net.county)) == others
    assert audit_count(net.county, "sync.receive") == 4 and audit_count(net.county, "sync.refuse") == 1
    assert verify(net.county.store).ok


def test_duplicates_within_a_batch_and_across_batches_get_the_original_receipt(net, scans):
    packets = one_packet_per_case(net, scans, 3)
    first = engine.accept_batch(net.county, [packets[0], packets[1], packets[0], packets[0]])
    assert first[2] == first[0] and first[3] == first[0]
    assert statuses(net.county, [packets[0], packets[1]], first[:2]) == ["accepted", "accepted"]
    again = engine.accept_batch(net.county, [packets[2], packets[1], packets[0]])
    assert again[1] == first[1] and again[2] == first[0]
    assert engine.accept(net.county, packets[2]) == again[0]
    assert audit_count(net.county, "sync.receive") == 3 and audit_count(net.county, "case.import") == 3
    assert event_ids(net.county) == event_ids(net.station)
    # the same id with other bytes is refused (SYNC_023), the original stands; junk gets its code, no receipt
    same_id = craft(net.station, net.county, [], seq=7, packet_id=read_header(packets[0]).packet_id)
    answers = engine.accept_batch(net.county, [b"<html>portal</html>", same_id, packets[0]])
    assert answers[0].startswith(b"SYNC_0") and len(answers[0]) == 8
    assert _payload(answers[1])["reason_code"] == "SYNC_023" and answers[2] == first[0]
    assert inbox_rows(net.county)[read_header(packets[0]).packet_id]["status"] == "accepted"


def test_a_certificate_revoked_between_batches_is_refused(net, scans):
    from edgenode.sealing.authority import issue_crl, revoke

    packets = one_packet_per_case(net, scans, 3)
    assert statuses(net.county, packets[:2], engine.accept_batch(net.county, packets[:2])) == ["accepted"] * 2
    serial = net.county.store.query_one("SELECT serial FROM ca_certificates WHERE kind = 'node' AND node_id = ?",
                                        (net.station.config.node_id,))["serial"]
    revoke(net.county, serial, reason="key_compromise", staff="县级管理员")
    issue_crl(net.county, net.ca.ca, staff="县级管理员")
    [answer] = engine.accept_batch(net.county, packets[2:])
    assert _payload(answer)["reason_code"] == "SYNC_008"
    assert read_header(packets[2]).packet_id not in inbox_rows(net.county)  # unauthenticated: not recorded


WORKER = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from datetime import datetime
from edgenode.clock import FixedClock
from edgenode.node import Node
from edgenode.replication import engine
node = Node.open(Path({home!r}), FixedClock(datetime.fromisoformat({now!r})))
packets = [Path(p).read_bytes() for p in json.loads({files!r})]
print("ready", flush=True)
for at in range(0, len(packets), {batch}):
    if sys.stdin.readline().strip() != "go":  # one batch per "go": the test decides how far it may get
        sys.exit(0)
    engine.accept_batch(node, packets[at:at + {batch}])
    print("batch", at, flush=True)
print("all", flush=True)
"""


def _consistent(home: Path, now, station_events: dict[str, set[str]]) -> int:
    """Checked after every kill: each packet recorded is applied in full, none in part. Returns packets held."""
    from edgenode.node import Node
    from tests.conftest import MovableClock

    with Node.open(home, MovableClock(now)) as county:
        rows = county.store.query("SELECT status, case_ids FROM repl_inbox")
        assert {r["status"] for r in rows} <= {"accepted"}, [r["status"] for r in rows]
        cases = set().union(*(r["case_ids"].split(",") for r in rows))
        held = {r["id"] for r in county.store.query("SELECT id FROM events")}
        assert held == set().union(*(station_events[c] for c in cases)) if cases else held == set()
        assert audit_count(county, "sync.receive") == len(rows)
        assert audit_count(county, "case.import") == len(cases)
        assert county.store.query_one("SELECT count(*) AS n FROM cases")["n"] == len(cases)
        assert verify(county.store).ok
        return len(rows)


def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(net, scans, tmp_path):
    packets = one_packet_per_case(net, scans, 60)
    station_events = {case: set(event_ids(net.station, case)) for case in
                      {r["case_id"] for r in net.station.store.query("SELECT case_id FROM events")}}
    files = []
    for index, data in enumerate(packets):
        path = tmp_path / f"p{index:03d}.bin"
        path.write_bytes(data)
        files.append(str(path))
    home, now = net.county.home, net.county.now()
    net.county.close()
    script = WORKER.format(root=str(ROOT), home=str(home), now=now.isoformat(), files=json.dumps(files), batch=10)
    rnd = random.Random(11)
    held = [0]
    for round_ in range(5):  # at most 50 of the 60 packets before the final run
        proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready", proc.stderr.read()
        # the batches it took before come back as duplicates; then it may take exactly one new batch and is
        # killed: on even rounds just after that batch reported, on odd rounds some moment into it (in the
        # middle of the batch, of its commit, or just after)
        for _ in range(held[-1] // 10 + 1):
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
        if round_ % 2 == 0:
            for _ in range(held[-1] // 10 + 1):
                assert proc.stdout.readline().startswith(b"batch"), proc.stderr.read()
        else:
            time.sleep(rnd.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        held.append(_consistent(home, now, station_events))
        assert held[-1] in (held[-2], held[-2] + 10), held  # whole batches only, never undone, never more than it was let take
        if round_ % 2 == 0:
            assert held[-1] == held[-2] + 10, held
    assert 0 < held[-1] < len(packets), held
    done = subprocess.run([sys.executable, "-c", script], input=b"go\n" * 6, capture_output=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith(b"all"), done.stderr.decode()
    assert _consistent(home, now, station_events) == len(packets)
    from edgenode.node import Node
    from tests.conftest import MovableClock

    with Node.open(home, MovableClock(now)) as county:
        assert event_ids(county) == event_ids(net.station)  # every packet once: nothing lost
        answers = engine.accept_batch(county, packets)  # the sender retries all: the original receipts
        assert statuses(county, packets, answers) == ["accepted"] * len(packets)
        assert audit_count(county, "sync.receive") == len(packets)
