"""Sync by folder (USB stick, shared folder): export pending packets, import packets and receipts.

`export` writes, for each chosen peer, the packets `engine.outgoing` gives (the very stored bytes, so a
packet that also goes by HTTP is the same packet and is applied once). `import_folder` takes every packet
addressed to this node (others are left for their own node), writes each receipt next to it for the sender
to collect on the stick's next trip, and consumes every receipt for a packet this node sent. Scans travel
with their cases: export writes their sealed chunks, import takes them after the packets and leaves a
signed "held" note for the sender (blob_sync). `take_file` does the same for one packet or receipt file:
the inbox watcher calls it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from edgenode.replication import ReplicationError, blob_sync, engine, peers
from sync import transport_folder as tf
from sync.errors import SyncError


def _folder(path: Any, *, create: bool) -> Path:
    folder = Path(path)
    if create:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReplicationError("REPL_040", f"无法创建同步文件夹 {folder}：{exc.strerror}",
                                   hint="请检查U盘是否插好、是否写保护") from None
    if not folder.is_dir():
        raise ReplicationError("REPL_040", f"同步文件夹 {folder} 不存在", hint="请检查U盘是否插好、路径是否正确")
    return folder


def _export_scans(node: Any, folder: Path, peer: Any) -> dict[str, int]:
    """The scans of the exported cases, as the same sealed chunks HTTP carries (blob_sync)."""
    try:
        return blob_sync.export_chunks(node, folder, peer)
    except OSError as exc:
        raise ReplicationError("REPL_041", f"写入同步文件夹失败：{exc.strerror}", hint="请检查U盘空间和写保护") from None


def export(node: Any, path: Any, *, peer_ids: Iterable[str] = ()) -> dict[str, Any]:
    """Write pending packets for the given peers (default: every upstream and child)."""
    folder = _folder(path, create=True)
    chosen = [peers.get(node, p) for p in peer_ids] or engine.peers(node)
    report = []
    for peer in chosen:
        packets = engine.outgoing(node, peer)
        try:
            tf.write_packets(folder, packets, written_at=node.now().isoformat())
        except OSError as exc:
            raise ReplicationError("REPL_041", f"写入同步文件夹失败：{exc.strerror}", hint="请检查U盘空间和写保护") from None
        report.append({"peer": peer.node_id, "role": peer.role, "packets": len(packets),
                       "bytes": sum(len(p) for p in packets), **_export_scans(node, folder, peer)})
    return {"folder": str(folder), "peers": report, "packets": sum(r["packets"] for r in report)}


def _readable_packet(node: Any, folder: Path, path: Path, report: dict[str, Any]) -> bytes | None:
    data = tf.read_bounded(path)
    recipient = tf.addressed_to(data)
    if recipient is None:
        report["errors"].append({"file": path.name, "code": "SYNC_001", "error": "不是数据包文件"})
        return None
    if recipient != node.config.node_id:
        report["other_nodes"] += 1
        return None
    if not tf.complete(folder, path, data):
        report["errors"].append({"file": path.name, "code": "REPL_042", "error": "文件不完整（拷贝中断），请重新拷贝"})
        return None
    return data


BATCH_PACKETS, BATCH_BYTES = 200, 32 << 20


def _take_packets(node: Any, folder: Path, paths: list[Path], report: dict[str, Any]) -> None:
    """The folder's packets for this node, applied in batches (one durable transaction each, as over HTTP)."""
    found: list[tuple[Path, bytes]] = []
    for path in paths:
        data = _readable_packet(node, folder, path, report)
        if data is not None:
            found.append((path, data))
        if found and (len(found) >= BATCH_PACKETS or sum(len(d) for _, d in found) >= BATCH_BYTES):
            _take_batch(node, folder, found, report)
            found = []
    if found:
        _take_batch(node, folder, found, report)


def _take_batch(node: Any, folder: Path, found: list[tuple[Path, bytes]], report: dict[str, Any]) -> None:
    from sync.receipt import MAGIC, verify_receipt

    answers = engine.accept_batch(node, [data for _, data in found])
    for (path, data), receipt in zip(found, answers):
        if not receipt.startswith(MAGIC):
            code = receipt.decode("ascii", "replace")
            report["errors"].append({"file": path.name, "code": code, "error": f"不是可识别的数据包（{code}），未处理"})
            continue
        verified = verify_receipt(receipt, expected_packet_id=tf.read_header(data).packet_id,
                                  expected_packet_hash=_hash(data), hub_signing_public=node.keys.signing_public_raw())
        tf.write_receipt(folder, verified.packet_id, receipt)
        report["packets"][verified.status] = report["packets"].get(verified.status, 0) + 1
        if verified.status == "refused":
            report["refused"].append({"file": path.name, "packet_id": verified.packet_id, "code": verified.reason_code})
        report["senders"].add(tf.read_header(data).sender)


def _hash(data: bytes) -> bytes:
    from sync.packet import packet_hash

    return packet_hash(data)


def _take_receipt(node: Any, path: Path, report: dict[str, Any]) -> None:
    data = tf.read_bounded(path, 8192)
    packet_id = tf.receipt_packet_id(data)
    row = node.store.query_one("SELECT recipient FROM repl_outbox WHERE packet_id = ?", (packet_id,)) if packet_id else None
    if row is None:
        report["other_receipts"] += 1  # a receipt for another node's packet, or not a receipt at all
        return
    try:
        status = engine.acknowledge(node, peers.get(node, row["recipient"]), data)
    except SyncError as exc:
        report["errors"].append({"file": path.name, "code": exc.code, "error": exc.message})
        return
    report["receipts"][status] = report["receipts"].get(status, 0) + 1


def _new_report(folder: Path) -> dict[str, Any]:
    return {"folder": str(folder), "packets": {}, "receipts": {}, "refused": [], "errors": [], "other_nodes": 0,
            "other_receipts": 0, "senders": set()}


def import_folder(node: Any, path: Any, *, reply: bool = False) -> dict[str, Any]:
    """Take every packet for this node and every receipt for our packets found in the folder."""
    folder = _folder(path, create=False)
    report = _new_report(folder)
    _take_packets(node, folder, list(tf.packet_files(folder)), report)
    for receipt_path in tf.receipt_files(folder):
        _take_receipt(node, receipt_path, report)
    report["scans"] = blob_sync.import_chunks(node, folder)              # after the packets naming them
    report["scans"]["held_notes"] = blob_sync.take_held_notes(node, folder)
    senders = sorted(report.pop("senders"))
    report["senders"] = senders
    if reply and senders:
        report["reply"] = export(node, folder, peer_ids=senders)
    return report


def take_file(node: Any, path: Path) -> dict[str, Any]:
    """One file the inbox watcher found stable: a packet or a receipt."""
    path = Path(path)
    report = _new_report(path.parent)
    if path.name.endswith(tf.PACKET_SUFFIX):
        _take_packets(node, path.parent, [path], report)
    elif path.name.endswith(tf.RECEIPT_SUFFIX):
        _take_receipt(node, path, report)
    report["senders"] = sorted(report["senders"])
    return report
