"""The folder transport (USB stick, shared folder): packets and receipts as files, the same bytes as by HTTP.

Layout of a sync folder:

    <seq, 8 digits>-<packet id>.enpkt   one packet, exactly its bytes
    <packet id>.enrcpt                   the receiver's signed receipt for that packet, exactly its bytes
    manifest.json                        what was written: for each packet file its sender, recipient,
                                         sequence number, size and SHA-256 (to tell a half-copied file)
    <blob sha256>-<index, 5 digits>.enblk  one sealed chunk of a scan (sync.blob_chunk), the bytes HTTP carries;
                                         its header states its length, so a half-copied one is told by itself
    <blob sha256>-<holder>.enbheld       the holder's signed note that it now holds the whole blob

Files are written under a temporary name, flushed and renamed into place, so a reader never sees half a
file written by us; the manifest lets it recognise a file someone else copied only partly. A folder may
hold packets for several nodes (one stick going round a township); a reader takes only its own. Nothing
here knows the node's store: `edgenode.replication.folder` does the accepting and acknowledging.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any, Iterable

from sync.errors import SyncError
from sync.header import HEADER_LEN
from sync.packet import read_header
from sync.receipt import MAGIC as RECEIPT_MAGIC

PACKET_SUFFIX = ".enpkt"
RECEIPT_SUFFIX = ".enrcpt"
CHUNK_SUFFIX = ".enblk"
HELD_SUFFIX = ".enbheld"
MAX_HELD_BYTES = 4096
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "edgenode.sync-folder/1"
MAX_FILE_BYTES = 8 * 1024 * 1024 + 4096


def packet_file_name(data: bytes) -> str:
    header = read_header(data)
    return f"{header.seq:08d}-{header.packet_id}{PACKET_SUFFIX}"


def receipt_file_name(packet_id: str) -> str:
    return f"{packet_id}{RECEIPT_SUFFIX}"


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` by temporary file and rename. False if the file already holds exactly these bytes."""
    path = Path(path)
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # Windows cannot open a folder; the rename is durable enough there
        return True
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        doc = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"format": MANIFEST_FORMAT, "packets": []}
    if not isinstance(doc, dict) or doc.get("format") != MANIFEST_FORMAT or not isinstance(doc.get("packets"), list):
        return {"format": MANIFEST_FORMAT, "packets": []}
    return doc


def write_packets(folder: Path, packets: Iterable[bytes], *, written_at: str) -> list[Path]:
    """Write packet files (existing identical files are left as they are) and merge them into the manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(folder)
    listed = {entry.get("file"): entry for entry in manifest["packets"] if isinstance(entry, dict)}
    paths = []
    for data in packets:
        header = read_header(data)
        path = folder / packet_file_name(data)
        write_atomic(path, data)
        paths.append(path)
        listed[path.name] = {"file": path.name, "packet_id": header.packet_id, "sender": header.sender,
                             "recipient": header.recipient, "seq": header.seq, "size": len(data),
                             "sha256": hashlib.sha256(data).hexdigest()}
    manifest.update(packets=sorted(listed.values(), key=lambda e: str(e.get("file"))), updated_at=written_at)
    write_atomic(folder / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))
    return paths


def write_receipt(folder: Path, packet_id: str, receipt: bytes) -> Path:
    path = Path(folder) / receipt_file_name(packet_id)
    write_atomic(path, receipt)
    return path


def packet_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob(f"*{PACKET_SUFFIX}") if p.is_file() and not p.name.startswith("."))


def receipt_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob(f"*{RECEIPT_SUFFIX}") if p.is_file() and not p.name.startswith("."))


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, at most `limit` + 1 of them (a larger file is then refused by the codec's size check)."""
    with open(path, "rb") as handle:
        return handle.read(limit + 1)


def complete(folder: Path, path: Path, data: bytes) -> bool:
    """False if the manifest lists this file with another size or hash (copied only partly)."""
    for entry in read_manifest(folder)["packets"]:
        if isinstance(entry, dict) and entry.get("file") == Path(path).name:
            return entry.get("size") == len(data) and entry.get("sha256") == hashlib.sha256(data).hexdigest()
    return True


def write_blob_chunks(folder: Path, chunks: Iterable[tuple[str, int, bytes]]) -> int:
    """Write (sha256, index, chunk bytes) as chunk files; an existing file of the same name is left (a chunk is
    sealed afresh each time, so its bytes differ; any complete copy serves). Returns the files written."""
    written = 0
    for sha256, index, data in chunks:
        path = Path(folder) / f"{sha256}-{index:05d}{CHUNK_SUFFIX}"
        if path.exists() and path.stat().st_size == len(data):
            continue
        write_atomic(path, data)
        written += 1
    return written


def blob_chunk_files(folder: Path) -> dict[str, list[Path]]:
    """Chunk files by blob hash, each blob's in index order."""
    found: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).glob(f"*{CHUNK_SUFFIX}")):
        sha, _, index = path.name[:-len(CHUNK_SUFFIX)].partition("-")
        if path.is_file() and not path.name.startswith(".") and len(sha) == 64 and index.isdigit():
            found.setdefault(sha, []).append(path)
    return found


def write_held(folder: Path, sha256: str, holder: str, note: bytes) -> Path:
    path = Path(folder) / f"{sha256}-{holder}{HELD_SUFFIX}"
    write_atomic(path, note)
    return path


def held_files(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob(f"*{HELD_SUFFIX}") if p.is_file() and not p.name.startswith("."))


def addressed_to(data: bytes) -> str | None:
    """The recipient named in a packet's clear header (None if the bytes are not a packet)."""
    if len(data) < HEADER_LEN:
        return None
    try:
        return read_header(data).recipient
    except SyncError:
        return None


def receipt_packet_id(data: bytes) -> str | None:
    """The packet id a receipt file claims, unverified (only to find the packet; verification follows)."""
    prefix = struct.Struct(">4sHI")
    if len(data) < prefix.size or not data.startswith(RECEIPT_MAGIC):
        return None
    _, _, length = prefix.unpack_from(data)
    try:
        value = json.loads(data[prefix.size:prefix.size + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    packet_id = value.get("packet_id") if isinstance(value, dict) else None
    return packet_id if isinstance(packet_id, str) and len(packet_id) <= 64 else None
