"""The inbox: every packet checked, recorded by id and hash, applied once, answered with a signed receipt.

Order (docs/protocol.md sections 5 and 6):
1. The clear header is read; before that there is no packet to answer about (SyncError to the transport).
2. A packet id already recorded with the same hash gets its stored receipt again, byte for byte.
3. `sync.packet.unpack` with the peers' registered keys and their standing now. Refused at steps 1-13 the
   packet is unauthenticated: answered, logged (`repl_unauthenticated`), its id not recorded. Refused at
   14-18 it is authenticated: recorded as refused, kept, answered.
4. The same id with other bytes is refused (SYNC_023); the same sender and sequence number with another
   packet is a fork, recorded and shown, and the packet is still applied (events are a set).
5. Applying: the row is stored as `applying` with the bytes, the items are checked (a signed release
   verified, downstream items only from an upstream), the events imported with
   `edgenode.cases.exchange.import_events` (idempotent, future events beyond `MAX_DRIFT_MS` refused),
   releases, CRLs and calendars applied (each idempotent), then the record of what was received, the
   attestations (number blocks, introductions, audit heads, repair requests, digests) and the row marked
   `accepted` with its receipt. Every step is a savepoint in the batch's one write transaction (`accept_batch`:
   a whole framed HTTP batch or a folder's packets, `accept` being the batch of one), committed before any
   receipt is returned: a SIGKILL leaves none of the batch, and the sender sends it again. An unexpected error
   mid-packet commits what came before and leaves that packet `applying`: the next batch finishes it first,
   and every step above is a no-op the second time.
6. A refusal for the content (a CASE_, CATALOG_, REPL_, SEAL_ code) sets the packet aside (`refused`, bytes
   kept) with its reason; packets behind it are applied as usual. A person may later retry it (`release`)
   or dismiss it (`dismiss`); nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edgenode.errors import EdgeNodeError
from edgenode.replication import MAX_DRIFT_MS, STAFF, ReplicationError, drift, heads, numbers, peers, releases, routing
from seals.errors import SealError
from sync.errors import SyncError

UNAUTHENTICATED = {f"SYNC_{n:03d}" for n in range(1, 12)}
DOWNSTREAM_KINDS = ("catalog_release", "crl", "calendar")
KEEP_UNAUTHENTICATED = 500


def _receipt(node: Any, header: Any, digest: bytes, status: str, code: str | None) -> bytes:
    from sync.receipt import issue_receipt

    return issue_receipt(hub=node.keys, packet_id=header.packet_id, packet_hash=digest, sender=header.sender,
                         recipient=node.config.node_id, seq=header.seq, status=status, reason_code=code,
                         hub_time=node.now())


def _log_unauthenticated(node: Any, header: Any, code: str) -> None:
    with node.store.write():
        node.store.conn.execute("INSERT INTO repl_unauthenticated(at, sender, packet_id, code) VALUES(?, ?, ?, ?)",
                                (node.now().isoformat(), header.sender[:32], header.packet_id, code))
        node.store.conn.execute("DELETE FROM repl_unauthenticated WHERE id <= (SELECT max(id) FROM "
                                "repl_unauthenticated) - ?", (KEEP_UNAUTHENTICATED,))


def _open(node: Any, data: bytes, trust: Any = None) -> Any:
    from sync.packet import unpack

    return unpack(data, recipient=node.keys, recipient_id=node.config.node_id,
                  known_senders=trust if trust is not None else peers.known_senders(node))


def accept(node: Any, data: bytes) -> bytes:
    """Take one packet (the batch of one); return the signed receipt bytes (see the module docstring).
    SyncError for bytes that are not an identifiable packet."""
    [answer] = _take(node, [data])
    if isinstance(answer, SyncError):
        raise answer
    return answer


def accept_batch(node: Any, batch: Sequence[bytes]) -> list[bytes]:
    """Take a batch of packets (a framed `POST /sync/v1/packets`, a folder of files): one answer per packet,
    in order: its signed receipt, or the SyncError code in ASCII for bytes that are not an identifiable packet.

    One write transaction for the batch (one commit, before any receipt is returned); each packet's steps are
    savepoints in it, so a packet refused for its content is set aside without undoing the others. A SIGKILL
    before the commit leaves none of the batch: the sender still holds the packets and sends them again. An
    unexpected error (not a refusal) keeps what was done before it, the packet it hit `applying` (finished by
    the next delivery, as after a crash of the step-by-step path) and is raised."""
    return [a.code.encode("ascii") if isinstance(a, SyncError) else a for a in _take(node, batch)]


def _identify(data: bytes) -> Any:
    from sync.errors import refusal
    from sync.packet import DEFAULT_MAX_PACKET_BYTES, read_header

    if len(data) > DEFAULT_MAX_PACKET_BYTES:
        raise refusal("SYNC_004", "数据包超过本节点的接收上限，已拒收。", f"oversized packet: {len(data)} bytes",
                      length=len(data))
    return read_header(data)


def _take(node: Any, batch: Sequence[bytes]) -> list[bytes | SyncError]:
    from sync.packet import packet_hash

    answers: list[bytes | SyncError | None] = [None] * len(batch)
    todo = []
    for index, raw in enumerate(batch):
        data = bytes(raw)
        try:
            header = _identify(data)
        except SyncError as exc:
            answers[index] = exc
            continue
        todo.append((index, data, header, packet_hash(data)))
    if not todo:
        return answers  # type: ignore[return-value]
    trust = peers.known_senders(node)  # the peers once per batch; certificate verdicts cached (peers.standing)
    # Decrypting and verifying is most of the work: done before the write lock is taken (other requests write
    # meanwhile), except for packets already held with these bytes (answered from the store).
    opened = [_open_unless_held(node, data, header, digest, trust) for _, data, header, digest in todo]
    failure: Exception | None = None
    with node.store.batch():
        trust_changed = _finish_interrupted(node, trust) > 0
        if trust_changed:
            trust.forget()
        for (index, data, header, digest), packet in zip(todo, opened):
            if trust_changed or isinstance(packet, SyncError):
                packet = None  # opened again in the transaction: the trust store may have changed since
            try:
                answers[index], packet = _take_one(node, trust, data, header, digest, packet)
            except Exception as exc:  # noqa: BLE001 - kept: what came before is committed, then it is raised
                failure = exc
                break
            if packet is not None and _changes_trust(packet):
                trust_changed = True
                trust.forget()
    if failure is not None:
        raise failure
    return answers  # type: ignore[return-value]


def _open_unless_held(node: Any, data: bytes, header: Any, digest: bytes, trust: Any) -> Any:
    held = node.store.query_one("SELECT hash FROM repl_inbox WHERE packet_id = ?", (header.packet_id,))
    if held is not None and held["hash"] == digest.hex():
        return None
    try:
        return _open(node, data, trust)
    except SyncError as exc:
        return exc


def _changes_trust(packet: Any) -> bool:
    """A CRL or an introduction: the packets behind it in the batch are checked against the new state."""
    return any(item.kind == "crl" or (item.kind == "attestation" and item.data.get("type") == "introduce")
               for item in packet.items)


def _take_one(node: Any, trust: Any, data: bytes, header: Any, digest: bytes,
              packet: Any = None) -> tuple[bytes, Any]:
    """The receipt, and the packet if it was applied (or set aside for its content)."""
    from sync.receipt import duplicate_status

    held = node.store.query_one("SELECT hash, receipt FROM repl_inbox WHERE packet_id = ?", (header.packet_id,))
    if held is not None and held["hash"] == digest.hex():
        return bytes(held["receipt"]), None
    try:
        packet = packet if packet is not None else _open(node, data, trust)
    except SyncError as exc:
        if exc.code in UNAUTHENTICATED or held is not None:
            _log_unauthenticated(node, header, exc.code)
            return _receipt(node, header, digest, "refused", exc.code), None
        return _set_aside_unopened(node, header, data, digest, exc), None
    if held is not None:
        try:
            duplicate_status(bytes.fromhex(held["hash"]), digest, packet_id=header.packet_id)
        except SyncError as exc:
            _log_unauthenticated(node, header, exc.code)
            return _receipt(node, header, digest, "refused", exc.code), None
    _record_fork(node, header)
    case_ids = ",".join(sorted({e.case_id for e in packet.events()}))
    with node.store.write():
        node.store.conn.execute(
            "INSERT INTO repl_inbox(packet_id, sender, seq, hash, size, received_at, status, data, case_ids) "
            "VALUES(?, ?, ?, ?, ?, ?, 'applying', ?, ?)",
            (header.packet_id, header.sender, header.seq, digest.hex(), len(data), node.now().isoformat(), data,
             case_ids))
    return _apply(node, packet), packet


def _set_aside_unopened(node: Any, header: Any, data: bytes, digest: bytes, exc: SyncError) -> bytes:
    """Authenticated but unreadable (SYNC_012..015): bind the id, keep the bytes, answer refused."""
    receipt = _receipt(node, header, digest, "refused", exc.code)
    with node.store.write():
        node.store.conn.execute(
            "INSERT INTO repl_inbox(packet_id, sender, seq, hash, size, received_at, status, reason_code, reason, "
            "data, receipt) VALUES(?, ?, ?, ?, ?, ?, 'refused', ?, ?, ?, ?)",
            (header.packet_id, header.sender, header.seq, digest.hex(), len(data), node.now().isoformat(), exc.code,
             exc.message[:500], data, receipt))
        node.record(_staff(header.sender), "sync.refuse", detail={"packet_id": header.packet_id,
                                                                       "sender": header.sender, "code": exc.code})
    return receipt


def _record_fork(node: Any, header: Any) -> None:
    other = node.store.query_one("SELECT packet_id FROM repl_inbox WHERE sender = ? AND seq = ? AND packet_id != ?",
                                 (header.sender, header.seq, header.packet_id))
    if other is None:
        return
    with node.store.write():
        node.store.conn.execute("INSERT OR IGNORE INTO repl_forks(sender, seq, packet_id, other_packet_id, detected_at) "
                                "VALUES(?, ?, ?, ?, ?)", (header.sender, header.seq, header.packet_id,
                                                          other["packet_id"], node.now().isoformat()))
        node.record(_staff(header.sender), "sync.fork", detail={"sender": header.sender, "seq": header.seq,
                                                                "packets": [other["packet_id"], header.packet_id]})


def _staff(sender: str) -> str:
    return f"同步:{sender}"


def finish_interrupted(node: Any) -> int:
    """Apply packets a crash left half-applied (status `applying`). Returns how many."""
    with node.store.batch():
        return _finish_interrupted(node, peers.known_senders(node))


def _finish_interrupted(node: Any, trust: Any) -> int:
    rows = node.store.query("SELECT packet_id, data FROM repl_inbox INDEXED BY repl_inbox_unsettled "
                            "WHERE status IN ('refused', 'applying') AND status = 'applying'")  # once per batch
    for row in rows:
        try:
            packet = _open(node, bytes(row["data"]), trust)
        except SyncError as exc:
            _refuse(node, row["packet_id"], exc.code, exc.message)
            continue
        _apply(node, packet)
    return len(rows)


# -- applying -------------------------------------------------------------------------------------------
def _check_items(node: Any, sender: Any, packet: Any) -> None:
    """Before anything is written: downstream items only from an upstream, releases verified."""
    for item in packet.items:
        if item.kind in DOWNSTREAM_KINDS and sender["relation"] != "upstream":
            raise ReplicationError("REPL_020", f"节点 {sender['node_id']} 不是本节点的上级，不能下发{item.kind}",
                                   context={"sender": sender["node_id"], "kind": item.kind})
        if item.kind == "catalog_release":
            releases.verify(node, dict(item.data))
            held = node.store.query_one("SELECT sha256 FROM catalog_releases WHERE version = ?",
                                        (item.data.get("version"),))
            if held is not None and held["sha256"] != item.data.get("sha256"):
                from edgenode.errors import CatalogError

                raise CatalogError("CATALOG_029", f"目录版本 {item.data['version']} 已导入过，但内容不同，未导入")
        if item.kind == "calendar":
            from edgenode.workdays import WorkCalendar

            WorkCalendar.from_table(dict(item.data.get("table") or {}))


def _apply_downstream(node: Any, packet: Any, staff: str) -> None:
    from edgenode.calendars import current_calendar, import_calendar
    from edgenode.sealing.trust import import_crl, newest_crl

    for item in packet.items:
        if item.kind == "catalog_release":
            releases.apply(node, dict(item.data), staff=staff, superseded_ok=True)
        elif item.kind == "crl":
            newest = newest_crl(node)
            if newest is None or int(item.data.get("number", 0)) > newest["number"]:
                import_crl(node, str(item.data.get("pem", "")).encode("ascii"), staff=staff)
        elif item.kind == "calendar":
            table = dict(item.data.get("table") or {})
            if int(table.get("version", 0)) > current_calendar(node.store).version:
                import_calendar(node, table, staff)


def _attestation(node: Any, sender: Any, packet: Any, data: dict[str, Any], staff: str) -> None:
    kind = data.get("type")
    relation = sender["relation"]
    if kind == "audit_head" and relation == "child":
        heads.take_head(node, sender, data, packet.header.packet_id, packet.header.seq, staff=staff)
    elif kind == "numbers" and relation == "child":
        numbers.on_report(node, sender["node_id"], data)
    elif kind == "number_block" and relation == "upstream":
        numbers.take_block(node, sender["node_id"], data)
    elif kind == "introduce":
        _introduction(node, sender, data)
    elif kind == "repair" and drift.applies_to(node, sender):
        drift.on_repair(node, sender, data, staff=staff)


def _introduction(node: Any, sender: Any, data: dict[str, Any]) -> None:
    facts = {k: data.get(k) for k in ("node_id", "role", "division", "name", "url", "signing_public",
                                      "exchange_public")}
    facts["cert_pem"] = data.get("cert")
    own = node.config.role
    if not all(isinstance(facts[k], str) for k in ("node_id", "role", "division", "signing_public", "exchange_public")):
        return
    facts["name"] = str(facts["name"] or facts["node_id"])[:60]
    if own in ("station", "township") and sender["role"] == "county" and sender["relation"] == "upstream":
        if facts["role"] == "province":
            facts["cert_pem"] = None
        elif not (facts["role"] == "field" and facts["division"] == node.config.division
                  and peers.anchored(node, facts)):
            return  # a field laptop of our village, certified by our own county CA, or nothing
    elif not (own == "province" and sender["role"] == "county" and facts["division"].startswith(sender["division"])):
        return
    if peers.introduce(node, sender["node_id"], facts):
        node.record(STAFF, "sync.peer_introduced", detail={"node_id": facts["node_id"], "role": facts["role"],
                                                                 "by": sender["node_id"]})



def _apply(node: Any, packet: Any) -> bytes:
    from edgenode.cases.exchange import import_events

    header = packet.header
    staff = _staff(header.sender)
    sender = peers.row_for(node, header.sender)
    events = packet.events()
    try:
        _check_items(node, sender, packet)
        if events:
            import_events(node, events, staff=staff, max_drift_ms=MAX_DRIFT_MS)
        _apply_downstream(node, packet, staff)
    except (EdgeNodeError, SealError) as exc:
        return _refuse(node, header.packet_id, exc.code, exc.message)
    receipt = _receipt(node, header, packet.hash, "accepted", None)
    with node.store.write():
        routing.mark_events(node, header.sender, events, header.packet_id, direction="received")
        routing.hold_cases(node, header.sender, {e.case_id for e in events})
        attestations = [dict(item.data) for item in packet.items if item.kind == "attestation"]
        for data in sorted(attestations, key=lambda d: d.get("type") == "digest"):  # digests last
            if data.get("type") == "digest" and drift.applies_to(node, sender):
                drift.check(node, sender, data, staff=staff)
            else:
                _attestation(node, sender, packet, data, staff)
        for item in packet.items:
            if item.kind in DOWNSTREAM_KINDS:
                ref = str(item.data.get("version") if item.kind != "crl" else item.data.get("number"))
                routing.mark(node, header.sender, item.kind, ref, header.packet_id, direction="received")
        node.store.conn.execute("UPDATE repl_inbox SET status = 'accepted', data = NULL, receipt = ? "
                                "WHERE packet_id = ?", (receipt, header.packet_id))
        node.store.conn.execute("UPDATE repl_peers SET last_contact = ? WHERE node_id = ?",
                                (node.now().isoformat(), header.sender))
        node.record(staff, "sync.receive", detail={"packet_id": header.packet_id, "seq": header.seq,
                                                   "events": len(events), "items": len(packet.items)})
    return receipt


def _refuse(node: Any, packet_id: str, code: str, message: str) -> bytes:
    """Set an applying packet aside with its reason and answer `refused`."""
    from sync.packet import read_header

    row = node.store.query_one("SELECT * FROM repl_inbox WHERE packet_id = ?", (packet_id,))
    header = read_header(bytes(row["data"]))
    receipt = _receipt(node, header, bytes.fromhex(row["hash"]), "refused", code)
    with node.store.write():
        node.store.conn.execute("UPDATE repl_inbox SET status = 'refused', reason_code = ?, reason = ?, receipt = ? "
                                "WHERE packet_id = ?", (code, message[:500], receipt, packet_id))
        node.record(_staff(header.sender), "sync.refuse", detail={"packet_id": packet_id, "sender": header.sender,
                                                                  "seq": header.seq, "code": code})
    return receipt


# -- a person acts on a packet set aside -----------------------------------------------------------------
def _held(node: Any, packet_id: str) -> Any:
    row = node.store.query_one("SELECT * FROM repl_inbox WHERE packet_id = ?", (packet_id,))
    if row is None or row["status"] != "refused":
        raise ReplicationError("REPL_030", f"没有被搁置的收到的数据包 {packet_id[:40]}",
                               hint="可用 edgenode sync refused list 查看")
    return row


def release(node: Any, packet_id: str, *, staff: str) -> dict[str, Any]:
    """Try a set-aside packet again (its cause fixed: a clock corrected, a catalog imported…)."""
    row = _held(node, packet_id)
    try:
        packet = _open(node, bytes(row["data"]))
    except SyncError as exc:
        raise ReplicationError("REPL_031", f"数据包仍无法读取（{exc.code}），保持搁置", context={"code": exc.code}) from None
    with node.store.write():
        node.store.conn.execute("UPDATE repl_inbox SET status = 'applying', acted_by = ?, acted_at = ? "
                                "WHERE packet_id = ?", (staff, node.now().isoformat(), packet_id))
        node.record(staff, "sync.release", detail={"packet_id": packet_id, "was": row["reason_code"]})
    original = bytes(row["receipt"])
    _apply(node, packet)
    after = node.store.query_one("SELECT status, reason_code FROM repl_inbox WHERE packet_id = ?", (packet_id,))
    applied = after["status"] == "accepted"
    with node.store.write():  # a duplicate still gets the original receipt, byte for byte
        node.store.conn.execute("UPDATE repl_inbox SET receipt = ?, status = ? WHERE packet_id = ?",
                                (original, "released" if applied else "refused", packet_id))
    return {"packet_id": packet_id, "applied": applied, "reason_code": None if applied else after["reason_code"]}


def dismiss(node: Any, packet_id: str, *, note: str, staff: str) -> dict[str, Any]:
    """A person decides not to apply a set-aside packet; it stays kept, marked, with the note."""
    row = _held(node, packet_id)
    with node.store.write():
        node.store.conn.execute("UPDATE repl_inbox SET status = 'dismissed', acted_by = ?, acted_at = ?, note = ? "
                                "WHERE packet_id = ?", (staff, node.now().isoformat(), note[:200], packet_id))
        node.record(staff, "sync.dismiss", detail={"packet_id": packet_id, "was": row["reason_code"]})
    return {"packet_id": packet_id, "dismissed": True}


def requeue(node: Any, packet_id: str, *, staff: str) -> dict[str, Any]:
    """An outgoing packet the peer refused: after the cause is fixed there, send what it carried again."""
    row = node.store.query_one("SELECT * FROM repl_outbox WHERE packet_id = ?", (packet_id,))
    if row is None or row["status"] != "refused":
        raise ReplicationError("REPL_030", f"没有被对方拒收的发出的数据包 {packet_id[:40]}",
                               hint="可用 edgenode sync refused list 查看")
    with node.store.write():
        cases = routing.forget_packet(node, packet_id)
        for case_id in cases:
            node.store.conn.execute("INSERT OR IGNORE INTO repl_rescan(peer_id, case_id) VALUES(?, ?)",
                                    (row["recipient"], case_id))
        node.store.conn.execute("UPDATE repl_outbox SET status = 'requeued' WHERE packet_id = ?", (packet_id,))
        node.record(staff, "sync.requeue", detail={"packet_id": packet_id, "peer": row["recipient"],
                                                   "was": row["reason_code"]})
    return {"packet_id": packet_id, "requeued": True, "cases": len(cases)}
