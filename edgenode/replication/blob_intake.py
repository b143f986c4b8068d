"""Taking scans in: chunks from a child, stored durably one by one, assembled, checked, then into the BlobStore.

`have(node, sender, hashes)` answers, for each hash: `held` (in the BlobStore), `partial` (with the number
of chunks confirmed and the chunk size), `absent` (a case we hold names it; send it from chunk 0) or
`unreferenced` (no case we hold names it: send the case's packets first).

`take_chunk` takes the chunks of a blob in order. Each is checked (form, sender a registered child, its key,
signature, decryption; the blob named by a case we hold, its size that case's), written at its offset in
`blobs/.partial-<sha256>`, flushed to disk, and only then counted as confirmed in `blob_incoming` (a crash
in between costs that chunk being sent again). The last chunk completes the file: its SHA-256 and media
type (sniffed from the content, edgenode.blobs) must match, or the partial file is discarded (REPL_055,
REPL_056; logged, audited, recorded in `blob_discarded`) and the blob is asked for again from chunk 0.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Iterable

from edgenode.blobs import MAX_BLOB_BYTES, sniff_media_type
from edgenode.replication import ReplicationError, peers
from edgenode.replication.blob_sync import held_locally, index_refs

log = logging.getLogger("edgenode.sync.blobs")
PARTIAL_PREFIX = ".partial-"

# code -> HTTP status of the refusal (the blob API answers with these)
STATUS = {"REPL_050": 400, "REPL_051": 403, "REPL_052": 403, "REPL_053": 409, "REPL_054": 409, "REPL_055": 422,
          "REPL_056": 422, "REPL_057": 400, "REPL_058": 403}


def _refuse(code: str, zh: str, en: str, **context: Any) -> ReplicationError:
    return ReplicationError(code, f"{zh}（{en}）", context=context)


def have(node: Any, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
    index_refs(node)
    answer: dict[str, dict[str, Any]] = {}
    for sha in hashes:
        if held_locally(node, sha):
            answer[sha] = {"state": "held", "confirmed": 0}
            continue
        row = node.store.query_one("SELECT confirmed, chunk_size FROM blob_incoming WHERE sha256 = ?", (sha,))
        if row is not None:
            answer[sha] = {"state": "partial", "confirmed": row["confirmed"], "chunk_size": row["chunk_size"]}
        elif node.store.query_one("SELECT 1 FROM blob_refs WHERE sha256 = ?", (sha,)) is not None:
            answer[sha] = {"state": "absent", "confirmed": 0}
        else:
            answer[sha] = {"state": "unreferenced", "confirmed": 0}
    return answer


def _partial(node: Any, sha256: str) -> Path:
    return Path(node.blobs.root) / f"{PARTIAL_PREFIX}{sha256}"


def _sender_key(node: Any, sender: str) -> bytes:
    """The registered signing key of a child that may send us scans (REPL_058 otherwise)."""
    row = node.store.query_one("SELECT relation, signing_public FROM repl_peers WHERE node_id = ?", (sender,))
    if row is None:
        peers.refresh(node)
        row = node.store.query_one("SELECT relation, signing_public FROM repl_peers WHERE node_id = ?", (sender,))
    if node.config.role == "province" or row is None or row["relation"] != "child":
        raise _refuse("REPL_058", f"本节点不接收来自 {sender} 的扫描件（省级不接收扫描件；只接收本节点下级的扫描件）",
                      f"this node takes no scans from {sender}", sender=sender)
    return bytes.fromhex(row["signing_public"])


def _opened(node: Any, data: bytes, sha256: str, index: int) -> tuple[Any, bytes]:
    from sync.blob_chunk import ChunkError, open_chunk, parse_chunk

    try:
        header = parse_chunk(data)
    except ChunkError as exc:
        raise _refuse("REPL_050", "扫描件分块格式不对，已拒收", f"malformed blob chunk: {exc}") from None
    if header.sha256 != sha256 or header.index != index:
        raise _refuse("REPL_050", "扫描件分块与请求地址不一致，已拒收", "chunk's blob hash or index differs from the URL's")
    key = _sender_key(node, header.sender)
    try:
        return open_chunk(data, recipient=node.keys, recipient_id=node.config.node_id, sender_signing_public=key)
    except ChunkError as exc:
        code = {"signature": "REPL_051", "decrypt": "REPL_052"}.get(exc.kind, "REPL_050")
        log.warning("blob chunk %s/%d from %s refused: %s", sha256[:16], index, header.sender, code)
        raise _refuse(code, "扫描件分块签名无效或无法解密（内容可能被篡改），已拒收", f"blob chunk refused: {exc}",
                      sender=header.sender) from None


def _check_blob(node: Any, header: Any) -> Any:
    index_refs(node)
    ref = node.store.query_one("SELECT size, media_type FROM blob_refs WHERE sha256 = ?", (header.sha256,))
    if ref is None:
        raise _refuse("REPL_054", "本节点尚无引用该扫描件的办件，请先同步办件数据包",
                      "no case this node holds names this blob: send the case's packets first", blob=header.sha256)
    if header.total > MAX_BLOB_BYTES or (ref["size"] and header.total != ref["size"]):
        raise _refuse("REPL_057", "扫描件大小与办件记录不符或超过上限，已拒收",
                      f"blob of {header.total} bytes; the case names {ref['size']}, limit {MAX_BLOB_BYTES}",
                      blob=header.sha256)
    return ref


def _write_at(path: Path, offset: int, plain: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.ftruncate(fd, offset)
        os.pwrite(fd, plain, offset)
        getattr(os, "fdatasync", os.fsync)(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_chunk(node: Any, data: bytes, *, sha256: str, index: int) -> dict[str, Any]:
    """Take one chunk. {"sha256", "index", "confirmed": chunks confirmed, "complete": in the BlobStore now}."""
    header, plain = _opened(node, bytes(data), sha256, index)
    if held_locally(node, sha256):
        return {"sha256": sha256, "index": index, "confirmed": header.count, "complete": True}
    ref = _check_blob(node, header)
    problem: tuple[str, str, str] | None = None
    with node.store.write():
        row = node.store.conn.execute("SELECT confirmed, chunk_size FROM blob_incoming WHERE sha256 = ?",
                                      (sha256,)).fetchone()
        confirmed = row["confirmed"] if row is not None and row["chunk_size"] == header.chunk_size else 0
        if index < confirmed:
            return {"sha256": sha256, "index": index, "confirmed": confirmed, "complete": False}
        if index > confirmed:
            raise _refuse("REPL_053", f"扫描件分块次序不对：已确认 {confirmed} 块，收到第 {index} 块",
                          f"chunk {index} out of order, {confirmed} confirmed", blob=sha256, confirmed=confirmed)
        if index == 0 and sniff_media_type(plain[:16]) is None:
            problem = ("REPL_056", "扫描件不是 PDF、JPEG 或 PNG 文件（按内容识别），已丢弃",
                       "blob content is not PDF, JPEG or PNG")
        else:
            _write_at(_partial(node, sha256), header.offset, plain)
            if not header.last:
                now = node.now().isoformat()
                node.store.conn.execute(
                    "INSERT INTO blob_incoming(sha256, sender, total, chunk_size, confirmed, started_at, updated_at) "
                    "VALUES(?, ?, ?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET confirmed = excluded.confirmed, "
                    "chunk_size = excluded.chunk_size, sender = excluded.sender, updated_at = excluded.updated_at",
                    (sha256, header.sender, header.total, header.chunk_size, index + 1, now, now))
                return {"sha256": sha256, "index": index, "confirmed": index + 1, "complete": False}
            problem = _assemble(node, sha256, header, ref)
            if problem is None:
                return {"sha256": sha256, "index": index, "confirmed": header.count, "complete": True}
    _discard(node, sha256, header.sender, problem[0])
    raise _refuse(problem[0], problem[1], problem[2], blob=sha256)


def _assemble(node: Any, sha256: str, header: Any, ref: Any) -> tuple[str, str, str] | None:
    """Within the write transaction: check the complete partial file and move it into the BlobStore."""
    partial = _partial(node, sha256)
    digest, head = hashlib.sha256(), b""
    with open(partial, "rb") as handle:
        while chunk := handle.read(1 << 16):
            head = head or chunk[:16]
            digest.update(chunk)
    if partial.stat().st_size != header.total or digest.hexdigest() != sha256:
        return ("REPL_055", "扫描件拼合后的校验值与办件记录不符，已丢弃并重新请求",
                "assembled blob's SHA-256 differs from its name")
    media_type = sniff_media_type(head)
    if media_type is None or (ref["media_type"] and ref["media_type"] != media_type):
        return ("REPL_056", "扫描件的文件类型与办件记录不符（按内容识别），已丢弃",
                f"blob content is {media_type or 'not PDF, JPEG or PNG'}, the case names {ref['media_type']}")
    target = node.blobs.path_of(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    _fsync_dir(target.parent)
    node.store.conn.execute("INSERT OR IGNORE INTO blobs(sha256, size, media_type, stored_at) VALUES(?, ?, ?, ?)",
                            (sha256, header.total, media_type, node.now().isoformat()))
    node.store.conn.execute("DELETE FROM blob_incoming WHERE sha256 = ?", (sha256,))
    node.record("同步", "sync.blob_received", detail={"blob": sha256, "from": header.sender, "size": header.total})
    return None


def _discard(node: Any, sha256: str, sender: str, code: str) -> None:
    """Forget a blob's chunks so it is sent again from the start; logged with its code and audited."""
    log.warning("blob %s from %s discarded: %s", sha256[:16], sender, code)
    with node.store.write():
        node.store.conn.execute("DELETE FROM blob_incoming WHERE sha256 = ?", (sha256,))
        node.store.conn.execute("INSERT INTO blob_discarded(at, sha256, sender, code) VALUES(?, ?, ?, ?)",
                                (node.now().isoformat(), sha256, sender, code))
        node.record("同步", "sync.blob_discarded", detail={"blob": sha256, "from": sender, "code": code})
    try:
        _partial(node, sha256).unlink()
    except FileNotFoundError:
        pass
