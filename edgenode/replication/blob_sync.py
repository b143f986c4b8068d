"""Scans travel upward as content-addressed blobs in encrypted chunks (ADR 0012, docs/protocol.md section 12).

Which blobs: the events a node holds name their scans (`materials.*.blob`: SHA-256, size, media type);
`index_refs` keeps `blob_refs` in step with the event log by a cursor on its rowid. A blob is due to an
upstream that takes scans (a station or township from a field laptop, a county from a station; never the
province, which takes case records and evaluations only) once the upstream holds an event naming it (the
packet carrying it was receipted, or the event came from it) and this node holds the blob itself. A relaying
station therefore sends a field laptop's scan on once the laptop has uploaded it.

How (`upload`, one call per sync round after the packets): ask the hub which of the due blobs it holds and
how many chunks of each it has confirmed (one request for up to `HAVE_BATCH` hashes), then send the missing
chunks one per request from the hub's confirmed count, each sealed to the hub (sync.blob_chunk). Up to
`LANES` blobs go at once, each on its own kept-open connection: while one chunk's answer crosses back, the
other lanes' chunks fill the link, so a 300 ms round trip per chunk does not idle a 2 Mbit/s link (ADR 0012).
A cut costs at most the chunks in flight: the hub stores each chunk durably before it confirms it. A blob the hub holds
is never sent again; every answer that ends a blob's upload is signed by the hub. Receiving is
`blob_intake`. The folder transport carries the same chunk bytes (`export_chunks`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from edgenode.replication import ReplicationError, peers

log = logging.getLogger("edgenode.sync.blobs")
REFS_META = "blob_refs_scan"
SCAN_ROLES = ("station", "township", "county")   # upstream roles that take scans
HAVE_BATCH = 200                                  # hashes per `have` question
MAX_FAILURES = 3                                  # refusals of one blob before a person must look
ROUND_CHUNKS = 256                                # chunks per round (16 MiB): packets get their turn between
LANES = 4                                         # chunk requests in flight, one kept-open connection each


@dataclass
class UploadResult:
    blobs: int = 0          # blobs the hub now holds thanks to this call
    chunks: int = 0
    bytes: int = 0          # chunk bytes put on the wire
    requests: int = 0
    skipped_held: int = 0   # due blobs the hub already held (no chunk sent)
    more: bool = False


# -- the index of blob references ------------------------------------------------------------------------
def _refs_in(payload: dict[str, Any]) -> Iterator[tuple[str, int, str]]:
    materials = payload.get("materials")
    if not isinstance(materials, dict):
        return
    for entry in materials.values():
        if isinstance(entry, dict) and isinstance(entry.get("blob"), str) and len(entry["blob"]) == 64:
            size = entry.get("size")
            yield entry["blob"], size if type(size) is int and size >= 0 else 0, str(entry.get("media_type") or "")


def index_refs(node: Any) -> int:
    """Record the blob references of events added since the last call. Returns how many were new."""
    raw = node.store.get_meta(REFS_META) or "0"
    cursor = int(raw) if raw.isdigit() else 0
    top = node.store.query_one("SELECT COALESCE(max(rowid), 0) AS top FROM events")["top"]
    if top <= cursor:
        if top < cursor:  # the log was renumbered (VACUUM): scan it all again, INSERT OR IGNORE keeps it right
            cursor = 0
        else:
            return 0
    rows = node.store.query("SELECT id, case_id, payload FROM events WHERE rowid > ? AND rowid <= ? "
                            "AND payload LIKE '%\"blob\"%' ORDER BY rowid", (cursor, top))
    added = 0
    with node.store.write():
        for row in rows:
            for sha, size, media_type in _refs_in(json.loads(row["payload"])):
                added += node.store.conn.execute(
                    "INSERT OR IGNORE INTO blob_refs(sha256, size, media_type, case_id, event_id) VALUES(?, ?, ?, ?, ?)",
                    (sha, size, media_type, row["case_id"], row["id"])).rowcount
        node.store.set_meta(REFS_META, str(top))
    return added


def held_locally(node: Any, sha256: str) -> bool:
    row = node.store.query_one("SELECT 1 FROM blobs WHERE sha256 = ?", (sha256,))
    return row is not None and node.blobs.path_of(sha256).is_file()


# -- what is due to whom ------------------------------------------------------------------------------------
def takes_scans(node: Any, peer: Any) -> bool:
    """Scans go up to stations, townships and counties; never to the province, never down (yet)."""
    if node.config.role == "province" or peer.role not in SCAN_ROLES:
        return False
    return peers.row_for(node, peer.node_id)["relation"] == "upstream"


_DUE = """
    SELECT r.sha256, r.size, r.media_type, COALESCE(s.confirmed, 0) AS confirmed FROM blob_refs r
    LEFT JOIN blob_sent s ON s.peer_id = :peer AND s.sha256 = r.sha256
    WHERE (s.state IS NULL OR s.state = 'sending')
      AND EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = r.sha256)
      AND EXISTS (SELECT 1 FROM repl_carried c LEFT JOIN repl_outbox o ON o.packet_id = c.packet_id
                  WHERE c.peer_id = :peer AND c.kind = 'event' AND c.ref = r.event_id
                  AND (c.direction = 'received' OR o.status = 'delivered' OR :unreceipted))
"""


def due(node: Any, peer: Any, *, limit: int = HAVE_BATCH, unreceipted: bool = False) -> list[Any]:
    """Blobs the peer should get and may not hold, oldest reference first. `unreceipted`: also those whose
    events are packed for it but not yet receipted (a USB stick carries both together)."""
    if not takes_scans(node, peer):
        return []
    index_refs(node)
    return node.store.query(_DUE + " ORDER BY r.rowid LIMIT :limit",
                            {"peer": peer.node_id, "limit": limit, "unreceipted": int(unreceipted)})


def pending(node: Any, peer: Any) -> dict[str, int]:
    """For `sync status`: blobs due to the peer (whose events it holds) and their bytes not yet confirmed."""
    if not takes_scans(node, peer):
        return {"blobs_pending": 0, "blob_bytes_pending": 0, "blobs_refused": 0}
    index_refs(node)
    from sync.blob_chunk import CHUNK_BYTES

    row = node.store.query_one(f"SELECT count(*) AS n, COALESCE(sum(max(0, d.size - d.confirmed * {CHUNK_BYTES})), 0) "
                               f"AS bytes FROM ({_DUE}) d", {"peer": peer.node_id, "unreceipted": 0})
    refused = node.store.query_one("SELECT count(*) AS n FROM blob_sent WHERE peer_id = ? AND state = 'refused'",
                                   (peer.node_id,))["n"]
    return {"blobs_pending": row["n"], "blob_bytes_pending": row["bytes"], "blobs_refused": refused}


def _set_sent(node: Any, peer_id: str, sha256: str, state: str, confirmed: int, code: str | None = None,
              failed: bool = False) -> None:
    with node.store.write():
        node.store.conn.execute(
            "INSERT INTO blob_sent(peer_id, sha256, state, confirmed, failures, last_code, updated_at) "
            "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(peer_id, sha256) DO UPDATE SET state = excluded.state, "
            "confirmed = excluded.confirmed, failures = blob_sent.failures + excluded.failures, "
            "last_code = COALESCE(excluded.last_code, blob_sent.last_code), updated_at = excluded.updated_at",
            (peer_id, sha256, state, confirmed, int(failed), code, node.now().isoformat()))
        if failed:
            row = node.store.conn.execute("SELECT failures FROM blob_sent WHERE peer_id = ? AND sha256 = ?",
                                          (peer_id, sha256)).fetchone()
            if row["failures"] >= MAX_FAILURES:
                node.store.conn.execute("UPDATE blob_sent SET state = 'refused' WHERE peer_id = ? AND sha256 = ?",
                                        (peer_id, sha256))
                node.record("同步", "sync.blob_refused_by_peer", detail={"peer": peer_id, "blob": sha256, "code": code})


def mark_held(node: Any, peer_id: str, sha256: str) -> None:
    _set_sent(node, peer_id, sha256, "held", 0)


# -- reading and sealing our own blobs --------------------------------------------------------------------
def _verified(node: Any, sha256: str) -> Path | None:
    """Our copy of the blob, read through once to check it, or None (logged, REPL_060) if its bytes no longer
    hash to its name. Chunks are then read from it one at a time: a 20 MB scan is never held whole."""
    path = Path(node.blobs.path_of(sha256))
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != sha256:
        log.error("local blob %s is damaged (REPL_060): not sent", sha256[:16])
        return None
    return path


def sealed_chunks(node: Any, peer: Any, sha256: str, path: Path, *, start: int = 0,
                  chunk_size: int | None = None) -> Iterator[tuple[int, bytes]]:
    """(index, chunk bytes) from `start` on, each sealed to the peer."""
    from sync.blob_chunk import CHUNK_BYTES, chunk_count, chunk_span, seal_chunk

    size, total = chunk_size or CHUNK_BYTES, path.stat().st_size
    for index in range(start, chunk_count(total, size)):
        offset, length = chunk_span(total, size, index)
        with path.open("rb") as source:
            source.seek(offset)
            piece = source.read(length)
        yield index, seal_chunk(piece, blob_sha256=sha256, total=total, chunk_size=size, index=index,
                                sender=node.keys, sender_id=node.config.node_id, recipient_id=peer.node_id,
                                recipient_exchange_public=peer.exchange_public_raw)


# -- the upload (HTTP) -------------------------------------------------------------------------------------
_RETRY_LATER = {"REPL_053", "REPL_054"}           # out of order, not yet referenced: ask again next round


def _refused_code(exc: Any) -> str | None:
    code = exc.context.get("upstream_code") if getattr(exc, "code", "") == "HTTP_105" else None
    return code if isinstance(code, str) and code.startswith("REPL_05") else None


def upload(node: Any, peer: Any, transport: Any, *, max_chunks: int = ROUND_CHUNKS,
           result: UploadResult | None = None) -> UploadResult:
    """Send the peer the due blobs it lacks, resuming each from its confirmed chunk. Raises the transport's
    error when the link fails (what got through is confirmed at the hub and counted in `result`)."""
    result = result if result is not None else UploadResult()
    candidates = [r for r in due(node, peer) if node.blobs.path_of(r["sha256"]).is_file()]
    if not candidates:
        return result
    answers = transport.blobs_have([r["sha256"] for r in candidates])
    result.requests += 1
    todo: deque[tuple[str, int, Any]] = deque()
    for row in candidates:
        answer = answers.get(row["sha256"]) or {}
        state = answer.get("state")
        if state == "held":
            mark_held(node, peer.node_id, row["sha256"])
            result.skipped_held += 1
        elif state in ("absent", "partial"):  # not "unreferenced": the hub has not taken the case's packet yet
            todo.append((row["sha256"], int(answer.get("confirmed", 0)), answer.get("chunk_size")))
    if todo:
        _Lanes(node, peer, transport, todo, max_chunks, result).run()
    return result


class _Lanes:
    """Up to `LANES` chunk requests in flight, each lane sending one blob's chunks in order (the hub takes a
    blob's chunks only in order). Only the requests run in worker threads; reading, sealing and recording
    stay on the caller's thread, which owns the node's store."""

    def __init__(self, node: Any, peer: Any, transport: Any, todo: deque[tuple[str, int, Any]], max_chunks: int,
                 result: UploadResult) -> None:
        self.node, self.peer, self.transport, self.todo = node, peer, transport, todo
        self.max_chunks, self.result = max_chunks, result
        self.submitted = 0

    def run(self) -> None:
        from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=LANES, thread_name_prefix="blob-lane") as pool:
            self.pool, flying = pool, {}
            for _ in range(LANES):
                self._next_blob(flying)
            while flying:
                done, _ = wait(flying, return_when=FIRST_COMPLETED)
                for future in done:
                    sha256, index, size, chunks = flying.pop(future)
                    try:
                        reply = future.result()
                    except BaseException as exc:  # noqa: BLE001 - sorted below: a refusal of this blob, or the link
                        if not self._refused(sha256, exc):
                            failure = failure or exc
                        if failure is None:
                            self._next_blob(flying)
                        continue
                    self._confirmed(sha256, index, size, reply)
                    if failure is None and (reply.get("complete") or not self._submit(flying, sha256, chunks)):
                        self._next_blob(flying)
        if failure is not None:
            raise failure

    def _next_blob(self, flying: dict[Any, Any]) -> None:
        while self.todo and not self._spent():
            sha256, confirmed, chunk_size = self.todo.popleft()
            path = _verified(self.node, sha256)
            if path is None:
                _set_sent(self.node, self.peer.node_id, sha256, "sending", confirmed, "REPL_060", failed=True)
                continue
            size = chunk_size if type(chunk_size) is int and chunk_size > 0 else None
            if self._submit(flying, sha256, sealed_chunks(self.node, self.peer, sha256, path, start=confirmed,
                                                          chunk_size=size)):
                return

    def _spent(self) -> bool:
        """This round's chunks are all sent (what is left waits for the next round, after the packets)."""
        spent = self.submitted >= self.max_chunks
        self.result.more = self.result.more or spent
        return spent

    def _submit(self, flying: dict[Any, Any], sha256: str, chunks: Iterator[tuple[int, bytes]]) -> bool:
        if self._spent():
            return False
        step = next(chunks, None)
        if step is None:
            return False
        index, chunk = step
        self.submitted += 1
        flying[self.pool.submit(self.transport.put_blob_chunk, sha256, index, chunk)] = (sha256, index, len(chunk),
                                                                                        chunks)
        return True

    def _confirmed(self, sha256: str, index: int, size: int, reply: dict[str, Any]) -> None:
        self.result.requests += 1
        self.result.chunks += 1
        self.result.bytes += size
        if reply.get("complete"):
            mark_held(self.node, self.peer.node_id, sha256)
            self.result.blobs += 1
        else:
            _set_sent(self.node, self.peer.node_id, sha256, "sending", int(reply.get("confirmed", index + 1)))

    def _refused(self, sha256: str, exc: BaseException) -> bool:
        """The hub refused this blob's chunk (recorded; the lane moves on) rather than the link failing."""
        from sync.errors import SyncError

        code = _refused_code(exc) if isinstance(exc, SyncError) else None
        if code is None:
            return False
        if code not in _RETRY_LATER:
            log.warning("blob %s refused by %s: %s", sha256[:16], self.peer.node_id, code)
            _set_sent(self.node, self.peer.node_id, sha256, "sending", 0, code, failed=True)
        return True


# -- the folder transport (USB stick) -----------------------------------------------------------------------
HELD_FORMAT = "edgenode.blob-held/1"
HELD_CONTEXT = b"edgenode blob held v1 signature\x00"


def export_chunks(node: Any, folder: Path, peer: Any) -> dict[str, int]:
    """Write every chunk of the scans due to the peer whose events are packed for it (on this stick or
    delivered before) and that it has not said it holds."""
    from sync import transport_folder as tf

    blobs = chunks = size = 0
    for row in due(node, peer, limit=100_000, unreceipted=True):
        if not node.blobs.path_of(row["sha256"]).is_file():
            continue
        path = _verified(node, row["sha256"])
        if path is None:
            continue
        sealed = [(row["sha256"], index, chunk) for index, chunk in sealed_chunks(node, peer, row["sha256"], path)]
        tf.write_blob_chunks(folder, sealed)
        blobs, chunks, size = blobs + 1, chunks + len(sealed), size + sum(len(c) for *_, c in sealed)
    return {"blobs": blobs, "blob_chunks": chunks, "blob_bytes": size}


def _held_note(node: Any, sha256: str, sender: str) -> bytes:
    from seals.canonical import b64encode, canonical_json

    body = {"format": HELD_FORMAT, "sha256": sha256, "holder": node.config.node_id, "sender": sender}
    return canonical_json({**body, "signature": b64encode(node.keys.sign(HELD_CONTEXT + canonical_json(body)))})


def import_chunks(node: Any, folder: Path) -> dict[str, Any]:
    """Take the chunks addressed to this node, blob by blob in index order; a complete blob gets a signed
    "held" note in the folder for its sender. Refusals are listed with their codes, never raised."""
    from edgenode.replication import blob_intake
    from sync import transport_folder as tf
    from sync.blob_chunk import ChunkError, parse_chunk

    report: dict[str, Any] = {"blobs": 0, "blob_chunks": 0, "errors": []}
    for sha256, paths in tf.blob_chunk_files(folder).items():
        for path in paths:
            data = tf.read_bounded(path, 2 * 1024 * 1024)
            try:
                header = parse_chunk(data)
            except ChunkError:
                report["errors"].append({"file": path.name, "code": "REPL_059", "error": "扫描件分块文件不完整，请重新拷贝"})
                break
            if header.recipient != node.config.node_id:
                break  # for another node on the same stick
            try:
                answer = blob_intake.take_chunk(node, data, sha256=sha256, index=header.index)
            except ReplicationError as exc:
                report["errors"].append({"file": path.name, "code": exc.code, "error": exc.message})
                break
            report["blob_chunks"] += 1
            if answer["complete"]:
                report["blobs"] += 1
                tf.write_held(folder, sha256, node.config.node_id, _held_note(node, sha256, header.sender))
                break
    return report


def take_held_notes(node: Any, folder: Path) -> int:
    """Our peers' signed notes that they hold blobs we sent: those are not exported to them again. Returns
    how many were new."""
    from seals.canonical import b64decode, canonical_json, loads_strict
    from seals.keys import verify_node_signature
    from sync import transport_folder as tf

    taken = 0
    for path in tf.held_files(folder):
        try:
            doc = loads_strict(tf.read_bounded(path, tf.MAX_HELD_BYTES))
            body = {k: doc[k] for k in ("format", "sha256", "holder", "sender")}
            signature = b64decode(doc["signature"], "signature")
        except Exception:  # noqa: BLE001 - not a note of ours: left alone
            continue
        if body["format"] != HELD_FORMAT or body["sender"] != node.config.node_id:
            continue
        row = node.store.query_one("SELECT signing_public FROM repl_peers WHERE node_id = ?", (body["holder"],))
        if row is None or not verify_node_signature(bytes.fromhex(row["signing_public"]),
                                                    HELD_CONTEXT + canonical_json(body), signature):
            continue
        if node.store.query_one("SELECT 1 FROM blob_sent WHERE peer_id = ? AND sha256 = ? AND state = 'held'",
                                (body["holder"], body["sha256"])) is None:
            mark_held(node, body["holder"], str(body["sha256"]))
            taken += 1
    return taken
