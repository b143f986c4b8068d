"""The outbox: packets built per recipient, stored before they leave, resent byte for byte until receipted.

Each recipient has its own sequence 1, 2, 3 … and hash chain (`prev_hash` = SHA-256 of the previous
packet to it, refused ones included). A packet is built, packed and stored in one write transaction with
the record of what it carried (`repl_carried`), so a crash either leaves the whole packet or none of it;
the same stored bytes are returned on every call until a valid signed receipt ends their life: `accepted`
or `duplicate` make it delivered (the bytes are dropped, the row and receipt kept), `refused` keeps
bytes, receipt and reason for a person (`edgenode sync refused`), never resent by itself.

Packets hold at most `PACKET_ITEMS` items and about `PACKET_PLAIN` bytes of plaintext (the protocol's
"about 1 MiB"). With nothing new to send, a packet of attestations only (audit head, number report,
digests, repair requests) is built when `ATTEST_INTERVAL` has passed since the last packet to that peer
or a repair request is owed, so drift is checked even on quiet links.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from edgenode.replication import drift, heads, numbers, routing
from sync.body import Item, canonical_bytes
from sync.header import ZERO_HASH

PACKET_ITEMS = 500
PACKET_PLAIN = 900_000
ATTEST_INTERVAL = timedelta(hours=1)


def _chain(node: Any, recipient: str) -> tuple[int, bytes]:
    last = node.store.conn.execute("SELECT seq, hash FROM repl_outbox WHERE recipient = ? ORDER BY seq DESC LIMIT 1",
                                   (recipient,)).fetchone()
    return (last["seq"] + 1, bytes.fromhex(last["hash"])) if last else (1, ZERO_HASH)


def _size(item: Item) -> int:
    return len(canonical_bytes(item.to_dict()))


def _payload(node: Any, peer: Any, limit: int) -> tuple[list[tuple[str, str, str | None, Item]], bool]:
    """(kind, ref, case id, item) to carry, within the packet limits, and whether more is left."""
    chosen: list[tuple[str, str, str | None, Item]] = []
    size = 0
    for kind, ref, item in routing.downstream_due(node, peer):
        if not routing.province_may_carry(peer["role"], item):
            continue
        chosen.append((kind, ref, None, item))
        size += _size(item)
    rows, more = routing.events_due(node, peer, limit - len(chosen))
    for index, row in enumerate(rows):
        item = Item.event(routing.event_from_row(row))
        size += _size(item)
        if chosen and size > PACKET_PLAIN:
            for left in rows[index:]:  # not packed now: look at their cases again next time
                node.store.conn.execute("INSERT OR IGNORE INTO repl_rescan(peer_id, case_id) VALUES(?, ?)",
                                        (peer["node_id"], left["case_id"]))
            return chosen, True
        chosen.append(("event", row["id"], row["case_id"], item))
    return chosen, more


def _reports_numbers(node: Any, peer: Any) -> bool:
    return (peer["relation"] == "upstream" and peer["role"] in ("county", "station", "township")
            and node.config.role in ("station", "township", "field"))


def _attestation_due(node: Any, peer: Any) -> bool:
    if _reports_numbers(node, peer) and numbers.report_due(node, peer["node_id"]):
        return True
    owed = node.store.conn.execute("SELECT 1 FROM repl_repairs WHERE peer_id = ? AND direction = 'asked' "
                                   "AND sent_in IS NULL LIMIT 1", (peer["node_id"],)).fetchone()
    if owed:
        return True
    if not drift.applies_to(node, peer):
        return False
    last = node.store.conn.execute("SELECT max(created_at) FROM repl_outbox WHERE recipient = ?",
                                   (peer["node_id"],)).fetchone()[0]
    return last is None or node.now() - datetime.fromisoformat(last) >= ATTEST_INTERVAL


def _attestations(node: Any, peer: Any, packet_id: str, cases: set[str]) -> list[Item]:
    items = []
    if peer["relation"] == "upstream" and peer["role"] in ("county", "station", "township"):
        items.append(heads.head_item(node, peer["node_id"]))
    if _reports_numbers(node, peer):
        items.append(numbers.report_item(node, peer["node_id"]))
    repair = drift.repair_item(node, peer["node_id"], packet_id)
    if repair is not None:
        items.append(repair)
    if drift.applies_to(node, peer):
        items.append(drift.digest_item(node, peer, cases, packet_id))
    return items


def _build_one(node: Any, peer: Any, limit: int) -> tuple[int | None, bool]:
    """Within a write transaction: build and store one packet. Returns (payload items or None, more left)."""
    from sync.envelope import new_event_id
    from sync.packet import pack, packet_hash

    chosen, more = _payload(node, peer, limit)
    if not chosen and not _attestation_due(node, peer):
        return None, False
    now = node.now()
    packet_id = new_event_id(int(now.timestamp() * 1000))
    cases = {case_id for _, _, case_id, _ in chosen if case_id}
    items = [item for *_, item in chosen] + _attestations(node, peer, packet_id, cases)
    seq, prev = _chain(node, peer["node_id"])
    data = pack(items, sender=node.keys, sender_id=node.config.node_id, recipient_id=peer["node_id"],
                recipient_exchange_public=bytes.fromhex(peer["exchange_public"]), seq=seq, prev_hash=prev,
                packet_id=packet_id)
    node.store.conn.execute(
        "INSERT INTO repl_outbox(packet_id, recipient, seq, hash, prev_hash, data, size, items, created_at, status) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
        (packet_id, peer["node_id"], seq, packet_hash(data).hex(), prev.hex(), data, len(data), len(items),
         now.isoformat()))
    for kind, ref, case_id, _ in chosen:
        routing.mark(node, peer["node_id"], kind, ref, packet_id, direction="sent", case_id=case_id)
    routing.hold_cases(node, peer["node_id"], cases)
    return len(chosen), more


def build(node: Any, peer: Any, *, max_items: int = 2000) -> int:
    """Pack what the peer lacks into new stored packets (at most `max_items` payload items this call)."""
    built, budget = 0, max_items
    while budget > 0:
        with node.store.write():
            carried, more = _build_one(node, peer, min(PACKET_ITEMS, budget))
        if carried is None:
            break
        built += 1
        budget -= max(carried, 1)
        if not more:
            break
    return built


def pending(node: Any, peer_id: str, *, after_seq: int = 0) -> list[bytes]:
    rows = node.store.query("SELECT data FROM repl_outbox WHERE recipient = ? AND status = 'pending' AND seq > ? "
                            "ORDER BY seq", (peer_id, after_seq))
    return [bytes(r["data"]) for r in rows]


# -- receipts ------------------------------------------------------------------------------------------
def _claimed(receipt: bytes, peer: Any) -> str:
    """The packet id a receipt names, after every check but the one against our packet (SyncError if bad)."""
    from sync.errors import SyncError
    from sync.receipt import verify_receipt

    try:
        verify_receipt(receipt, expected_packet_id="", expected_packet_hash=bytes(32),
                       hub_signing_public=peer.signing_public_raw)
    except SyncError as exc:
        if exc.code != "SYNC_021":
            raise
        return str(exc.context.get("receipt_packet_id"))
    raise AssertionError("unreachable: no packet has the empty id")


def acknowledge(node: Any, peer: Any, receipt: bytes, *, staff: str) -> str:
    """Verify a receipt against the peer's key and the exact packet; mark the packet. Returns its status."""
    from sync.errors import refusal
    from sync.receipt import verify_receipt

    receipt = bytes(receipt)
    packet_id = _claimed(receipt, peer)
    row = node.store.query_one("SELECT * FROM repl_outbox WHERE packet_id = ? AND recipient = ?",
                               (packet_id, peer.node_id))
    if row is None:
        raise refusal("SYNC_021", "回执对应的数据包不在本节点发给该节点的发件箱中。",
                      "receipt is for a packet this node never sent to that peer", receipt_packet_id=packet_id[:40])
    verified = verify_receipt(receipt, expected_packet_id=row["packet_id"],
                              expected_packet_hash=bytes.fromhex(row["hash"]), hub_signing_public=peer.signing_public_raw)
    if row["status"] != "pending":
        return verified.status
    delivered = verified.status in ("accepted", "duplicate")
    with node.store.write():
        node.store.conn.execute(
            "UPDATE repl_outbox SET status = ?, receipt = ?, reason_code = ?, acknowledged_at = ?, "
            "data = CASE WHEN ? THEN NULL ELSE data END WHERE packet_id = ?",
            ("delivered" if delivered else "refused", receipt, verified.reason_code, node.now().isoformat(),
             int(delivered), packet_id))
        node.store.conn.execute("UPDATE repl_peers SET last_contact = ? WHERE node_id = ?",
                                (node.now().isoformat(), peer.node_id))
        if not delivered:
            node.record(staff, "sync.refused_by_peer", detail={"peer": peer.node_id, "packet_id": packet_id,
                                                               "seq": row["seq"], "reason": verified.reason_code})
    return verified.status
