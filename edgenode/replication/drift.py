"""The drift check: each packet carries digests of state both sides should share; a mismatch is repaired.

A packet to a peer (not to or from the province, which sends nothing back) carries an `attestation` item
of type `digest`: for a window of the cases both hold (the cases in this packet plus a rotating window of
`WINDOW` others), the first 16 bytes of SHA-256 over the case's sorted event ids, and the sender's catalog
version and hash. Only **settled** cases are included and compared: none of the case's events is waiting in
an unreceipted or refused packet between the two, or set aside in a refused one, and the sender holds no
event of it not yet packed. The digest also says how far its sender had applied the receiver's packets
(`seen`); the receiver compares a case only if every packet it sent with events of that case was among
them, so packets crossing on the way are not mistaken for drift. For a settled case both sides must then
hold exactly the same events, whatever order they came in.

A mismatch is never silent: the receiver logs it (`repl_repairs`, audit `sync.drift`), treats every event of
the case as not yet exchanged with that peer (so all of it is sent again: events are a set, the other side
keeps what it lacks and skips the rest) and asks the peer, in its next packet (`repair`), to do the same.
A catalog mismatch makes the side that holds the newer signed release send it again (or ask for it).
"""

from __future__ import annotations

import hashlib
from itertools import groupby
from typing import Any, Iterable

from edgenode.replication import routing
from sync.body import Item

WINDOW = 100
CURSOR_META = "repl_digest_cursor:"


def case_digest(node: Any, case_id: str) -> str:
    ids = sorted(r[0] for r in node.store.conn.execute("SELECT id FROM events WHERE case_id = ?", (case_id,)))
    return _digest_of(ids)


def _digest_of(sorted_ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted_ids).encode("ascii")).hexdigest()[:32]


def catalog_digest(node: Any) -> dict[str, Any] | None:
    row = node.store.conn.execute("SELECT version, sha256 FROM catalog_releases ORDER BY version DESC LIMIT 1").fetchone()
    return {"version": row["version"], "sha256": row["sha256"]} if row else None


def state_digest(node: Any, *, per_case: bool = False) -> dict[str, Any]:
    """Digests of what synced nodes share: every case's event set (the same `case_digest` the drift check
    compares), one digest over all cases held, and the catalog release. A county and its province hold every
    case; a station holds its own and those sent to it, each equal to the county's copy once synced."""
    rows = node.store.conn.execute("SELECT case_id, id FROM events ORDER BY case_id, id").fetchall()
    cases = {case_id: _digest_of([r[1] for r in group]) for case_id, group in groupby(rows, key=lambda r: r[0])}
    overall = hashlib.sha256("\n".join(f"{k} {v}" for k, v in cases.items()).encode("utf-8")).hexdigest()[:32]
    catalog = catalog_digest(node) or {"version": None, "sha256": None}
    data = {"digest": overall, "cases": len(cases), "events": len(rows), "catalog_version": catalog["version"],
            "catalog_sha256": catalog["sha256"]}
    return data | ({"per_case": cases} if per_case else {})


def applies_to(node: Any, peer: Any) -> bool:
    return "province" not in (node.config.role, peer["role"]) and peer["relation"] != "known"


def held_back(node: Any, peer_id: str) -> set[str]:
    """Cases with events in packets from the peer that are set aside or half-applied here (rare)."""
    rows = node.store.conn.execute("SELECT case_ids FROM repl_inbox WHERE sender = ? AND status IN "
                                   "('refused', 'applying')", (peer_id,)).fetchall()
    return {case_id for row in rows for case_id in (row[0] or "").split(",") if case_id}


def settled(node: Any, peer_id: str, case_id: str, *, held: set[str], this_packet: str | None = None) -> bool:
    """Nothing of the case is in flight or held back between this node and the peer."""
    conn = node.store.conn
    if case_id in held:
        return False
    unsent = conn.execute(
        "SELECT 1 FROM events e WHERE e.case_id = ? AND NOT EXISTS (SELECT 1 FROM repl_carried c WHERE "
        "c.peer_id = ? AND c.kind = 'event' AND c.ref = e.id) LIMIT 1", (case_id, peer_id)).fetchone()
    if unsent:
        return False
    in_flight = conn.execute(
        "SELECT 1 FROM repl_carried c INDEXED BY repl_carried_by_case JOIN repl_outbox o ON o.packet_id = c.packet_id "
        "WHERE c.peer_id = ? AND c.case_id = ? AND c.direction = 'sent' AND o.status IN ('pending', 'refused') "
        "AND o.packet_id != ? LIMIT 1", (peer_id, case_id, this_packet or "")).fetchone()
    return in_flight is None


def _window(node: Any, peer_id: str) -> list[str]:
    cursor = node.store.get_meta(CURSOR_META + peer_id) or ""
    rows = [r[0] for r in node.store.conn.execute(
        "SELECT case_id FROM repl_peer_cases WHERE peer_id = ? AND case_id > ? ORDER BY case_id LIMIT ?",
        (peer_id, cursor, WINDOW))]
    node.store.set_meta(CURSOR_META + peer_id, rows[-1] if len(rows) == WINDOW else "")
    return rows


def digest_item(node: Any, peer: Any, packet_cases: Iterable[str], packet_id: str) -> Item:
    """Within the write transaction that builds the packet (the window cursor moves)."""
    wanted = sorted(set(packet_cases) | set(_window(node, peer["node_id"])))
    held = held_back(node, peer["node_id"])
    cases = {c: case_digest(node, c) for c in wanted
             if settled(node, peer["node_id"], c, held=held, this_packet=packet_id)}
    return Item("attestation", {"type": "digest", "cases": cases, "catalog": catalog_digest(node),
                                "seen": routing.contiguous_seen(node, peer["node_id"]),
                                "at": node.now().isoformat(timespec="milliseconds")})


# -- receiving --------------------------------------------------------------------------------------------
def _log(node: Any, peer_id: str, scope: str, ref: str, direction: str) -> None:
    node.store.conn.execute("INSERT INTO repl_repairs(peer_id, scope, ref, direction, at) VALUES(?, ?, ?, ?, ?)",
                            (peer_id, scope, ref, direction, node.now().isoformat()))


def check(node: Any, peer: Any, data: dict[str, Any], *, staff: str) -> dict[str, Any]:
    """Within a write transaction, after the packet's events and repair requests were applied."""
    cases = data.get("cases") if isinstance(data.get("cases"), dict) else {}
    seen = data.get("seen") if isinstance(data.get("seen"), int) else 0
    mismatched = []
    held = held_back(node, peer["node_id"])
    for case_id, theirs in sorted(cases.items()):
        if not settled(node, peer["node_id"], case_id, held=held) \
                or not _they_had_ours(node, peer["node_id"], case_id, seen):
            continue
        if case_digest(node, case_id) != theirs:
            routing.forget_case(node, peer["node_id"], case_id)
            routing.hold_cases(node, peer["node_id"], [case_id])
            _log(node, peer["node_id"], "case", case_id, "found")
            _log(node, peer["node_id"], "case", case_id, "asked")
            mismatched.append(case_id)
    lost = _lost_packets(node, peer["node_id"], seen, data.get("at"))
    catalog = _check_catalog(node, peer, data.get("catalog"))
    if mismatched or catalog or lost:
        node.record(staff, "sync.drift", detail={"peer": peer["node_id"], "cases": mismatched[:50],
                                                 "mismatched": len(mismatched), "catalog": catalog, "lost_packets": lost})
    return {"compared": len(cases), "mismatched": mismatched, "catalog": catalog, "lost_packets": lost}


def _lost_packets(node: Any, peer_id: str, seen: int, at: Any) -> list[int]:
    """Packets the peer receipted before it made this digest, yet says it has not seen: it lost them (restored
    from an old backup, a disk fault). What they carried is sent again."""
    import json
    from datetime import datetime

    try:
        made = datetime.fromisoformat(str(at))
    except ValueError:
        return []
    lost = []
    for row in node.store.conn.execute("SELECT packet_id, seq, receipt FROM repl_outbox WHERE recipient = ? AND "
                                       "status = 'delivered' AND seq > ? ORDER BY seq", (peer_id, seen)).fetchall():
        receipt = bytes(row["receipt"])
        length = int.from_bytes(receipt[6:10], "big")
        receipted = datetime.fromisoformat(json.loads(receipt[10:10 + length])["hub_time"])
        if receipted < made:  # strictly: a receipt of the same millisecond may have come just after
            for case_id in routing.forget_packet(node, row["packet_id"]):
                node.store.conn.execute("INSERT OR IGNORE INTO repl_rescan(peer_id, case_id) VALUES(?, ?)",
                                        (peer_id, case_id))
            _log(node, peer_id, "case", f"packet:{row['seq']}", "found")
            lost.append(row["seq"])
    return lost


def _they_had_ours(node: Any, peer_id: str, case_id: str, seen: int) -> bool:
    """The peer had applied every packet of ours carrying this case when it made its digest."""
    top = node.store.conn.execute(
        "SELECT max(o.seq) FROM repl_carried c INDEXED BY repl_carried_by_case JOIN repl_outbox o "
        "ON o.packet_id = c.packet_id WHERE c.peer_id = ? AND c.case_id = ? AND c.direction = 'sent'", (peer_id, case_id)).fetchone()[0]
    return top is None or top <= seen


def _check_catalog(node: Any, peer: Any, theirs: Any) -> str | None:
    ours = catalog_digest(node)
    if ours == theirs or not isinstance(theirs, (dict, type(None))):
        return None
    their_version = (theirs or {}).get("version") or 0
    if peer["relation"] == "child":
        newest = node.store.conn.execute("SELECT version, sha256 FROM repl_releases ORDER BY version DESC LIMIT 1").fetchone()
        if newest is None or (newest["version"] == their_version and newest["sha256"] == (theirs or {}).get("sha256")):
            return None
        if newest["version"] < their_version or not _release_settled(node, peer["node_id"]):
            return None
        routing.forget_kind(node, peer["node_id"], "catalog_release")
        _log(node, peer["node_id"], "catalog", str(newest["version"]), "found")
        return "resend"
    if peer["relation"] == "upstream" and ours is not None and their_version > ours["version"]:
        _log(node, peer["node_id"], "catalog", str(their_version), "asked")
        return "asked"
    return None


def _release_settled(node: Any, peer_id: str) -> bool:
    row = node.store.conn.execute(
        "SELECT 1 FROM repl_carried c JOIN repl_outbox o ON o.packet_id = c.packet_id WHERE c.peer_id = ? "
        "AND c.kind = 'catalog_release' AND o.status IN ('pending', 'refused') LIMIT 1", (peer_id,)).fetchone()
    return row is None


def repair_item(node: Any, peer_id: str, packet_id: str) -> Item | None:
    """Within the building transaction: the repair request owed to the peer, if any (then marked sent)."""
    rows = node.store.conn.execute("SELECT id, scope, ref FROM repl_repairs WHERE peer_id = ? AND direction = 'asked' "
                                   "AND sent_in IS NULL ORDER BY id", (peer_id,)).fetchall()
    if not rows:
        return None
    node.store.conn.execute(f"UPDATE repl_repairs SET sent_in = ? WHERE id IN ({', '.join('?' for _ in rows)})",
                            (packet_id, *[r["id"] for r in rows]))
    return Item("attestation", {"type": "repair", "cases": sorted({r["ref"] for r in rows if r["scope"] == "case"}),
                                "catalog": any(r["scope"] == "catalog" for r in rows)})


def on_repair(node: Any, peer: Any, data: dict[str, Any], *, staff: str) -> None:
    """Within a write transaction: the peer found a mismatch; send it the cases (or the release) again."""
    cases = [c for c in data.get("cases") or [] if isinstance(c, str)][:10_000]
    for case_id in cases:
        routing.forget_case(node, peer["node_id"], case_id)
        routing.hold_cases(node, peer["node_id"], [case_id])
    if data.get("catalog") is True and peer["relation"] == "child":
        routing.forget_kind(node, peer["node_id"], "catalog_release")
    if cases or data.get("catalog"):
        node.record(staff, "sync.repair", detail={"peer": peer["node_id"], "cases": cases[:50],
                                                  "catalog": bool(data.get("catalog"))})
