"""What staff see of replication: per peer, contact, backlog (packets, and scans still to upload), clock skew,
refusals, forks, drift; and hello.

Clock skew is measured live only: `hello` answers with this node's time and the caller records the
difference (`note_contact`). Past `SKEW_WARN_MS` the status carries a warning for staff, because deadlines
computed from a wrong clock are wrong (DOMAIN.md); receipts that come back by USB stick days later carry
an old time and are not used for skew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edgenode.replication import SKEW_WARN_MS, blob_sync, numbers, peers, routing


def hello(node: Any, peer_id: str) -> dict[str, Any]:
    """{"node_id", "time", "seen": {peer: last contiguous seq applied from it}, "next_seq_for_you"}."""
    from edgenode.replication import outbox

    row = peers.row_for(node, peer_id)
    outbox.build(node, row)
    top = node.store.query_one("SELECT COALESCE(max(seq), 0) AS n FROM repl_outbox WHERE recipient = ?", (peer_id,))
    return {"node_id": node.config.node_id, "time": node.now().isoformat(timespec="milliseconds"),
            "seen": {peer_id: routing.contiguous_seen(node, peer_id)}, "next_seq_for_you": top["n"] + 1}


def note_contact(node: Any, peer_id: str, their_time: str | datetime) -> dict[str, Any]:
    """Record a live contact and the peer's clock against ours. Returns skew and any warning."""
    from edgenode.clock import parse_time

    peers.row_for(node, peer_id)
    theirs = their_time if isinstance(their_time, datetime) else parse_time(str(their_time))
    skew_ms = int((theirs - node.now()).total_seconds() * 1000)
    with node.store.write():
        node.store.conn.execute("UPDATE repl_peers SET last_contact = ?, clock_skew_ms = ? WHERE node_id = ?",
                                (node.now().isoformat(), skew_ms, peer_id))
        if abs(skew_ms) > SKEW_WARN_MS:
            node.record("同步", "sync.clock_skew", detail={"peer": peer_id, "skew_ms": skew_ms})
    return {"peer": peer_id, "skew_seconds": skew_ms // 1000, "warning": _skew_warning(peer_id, skew_ms)}


def _skew_warning(peer_id: str, skew_ms: int | None) -> str | None:
    if skew_ms is None or abs(skew_ms) <= SKEW_WARN_MS:
        return None
    minutes = abs(skew_ms) // 60000
    side = "慢" if skew_ms > 0 else "快"
    return (f"本机时钟比 {peer_id} {side}约 {minutes} 分钟：请校准系统时间；校准前计算的期限可能有误，"
            "时间超前过多的数据会被对方拒收")


def _age_seconds(node: Any, text: str | None) -> int | None:
    return int((node.now() - datetime.fromisoformat(text)).total_seconds()) if text else None


def refused(node: Any) -> dict[str, list[dict[str, Any]]]:
    incoming = node.store.query("SELECT packet_id, sender, seq, size, received_at, status, reason_code, reason, "
                                "acted_by, acted_at, note FROM repl_inbox WHERE status IN ('refused', 'dismissed') "
                                "ORDER BY received_at")
    outgoing = node.store.query("SELECT packet_id, recipient, seq, size, created_at, acknowledged_at, status, "
                                "reason_code FROM repl_outbox WHERE status IN ('refused', 'requeued') ORDER BY seq")
    return {"incoming": [dict(r) for r in incoming], "outgoing": [dict(r) for r in outgoing]}


def _peer_status(node: Any, row: Any, set_aside: list[dict[str, Any]], sent_refused: list[dict[str, Any]]) -> dict[str, Any]:
    peer_id = row["node_id"]
    backlog = node.store.query_one("SELECT count(*) AS n, COALESCE(sum(size), 0) AS bytes, min(created_at) AS oldest "
                                   "FROM repl_outbox WHERE recipient = ? AND status = 'pending'", (peer_id,))
    forks = node.store.query_one("SELECT count(*) AS n FROM repl_forks WHERE sender = ?", (peer_id,))["n"]
    repairs = node.store.query_one("SELECT count(*) AS n, max(at) AS last FROM repl_repairs WHERE peer_id = ? "
                                   "AND direction = 'found'", (peer_id,))
    head = node.store.query_one("SELECT seq, at, problem FROM repl_audit_heads WHERE node_id = ? "
                                "ORDER BY received_at DESC, seq DESC LIMIT 1", (peer_id,))
    rewrites = node.store.query_one("SELECT count(*) AS n FROM repl_audit_heads WHERE node_id = ? AND problem IS NOT NULL",
                                    (peer_id,))["n"]
    return {
        "node_id": peer_id, "role": row["role"], "name": row["name"], "relation": row["relation"],
        "url": row["url"], "source": row["source"], "last_contact": row["last_contact"],
        "packets_pending": backlog["n"], "bytes_pending": backlog["bytes"],
        **blob_sync.pending(node, peers.get(node, peer_id)),
        "oldest_pending_age_seconds": _age_seconds(node, backlog["oldest"]),
        "clock_skew_seconds": None if row["clock_skew_ms"] is None else row["clock_skew_ms"] // 1000,
        "clock_warning": _skew_warning(peer_id, row["clock_skew_ms"]),
        "seen_from": routing.contiguous_seen(node, peer_id),
        "refused_incoming": [r for r in set_aside if r["sender"] == peer_id],
        "refused_outgoing": [r for r in sent_refused if r["recipient"] == peer_id],
        "forks": forks, "drift_repairs": repairs["n"], "last_drift_repair": repairs["last"],
        "audit_head": dict(head) if head else None, "audit_rewrites": rewrites,
    }


def status(node: Any) -> dict[str, Any]:
    from edgenode.catalog_store import current_version

    lists = refused(node)
    set_aside = [r for r in lists["incoming"] if r["status"] == "refused"]
    sent_refused = [r for r in lists["outgoing"] if r["status"] == "refused"]
    listed = [_peer_status(node, row, set_aside, sent_refused) for row in peers.all_rows(node)]
    warnings = [p["clock_warning"] for p in listed if p["clock_warning"]]
    warnings += [f"有 {len(set_aside)} 个收到的数据包因内容问题被搁置，需人工处理（edgenode sync refused list）"] if set_aside else []
    warnings += [f"有 {len(sent_refused)} 个发出的数据包被对方拒收，需人工处理"] if sent_refused else []
    warnings += [f"{p['node_id']} 的审计日志疑似被改写" for p in listed if p["audit_rewrites"]]
    warnings += [f"有 {p['blobs_refused']} 份扫描件被 {p['node_id']} 多次拒收，需人工处理（详见审计日志 sync.blob_refused_by_peer）"
                 for p in listed if p["blobs_refused"]]
    warnings += [f"{p['node_id']} 出现同一序号的两个不同数据包（节点被复制或从旧备份恢复）" for p in listed if p["forks"]]
    left = numbers.remaining(node)
    if node.config.role in ("station", "township", "field") and left < numbers.low_water(node):
        warnings.append(f"办件编号段仅剩 {left} 个，请尽快与上级同步以领取新的编号段")
    unauthenticated = node.store.query_one("SELECT count(*) AS n FROM repl_unauthenticated")["n"]
    return {"node_id": node.config.node_id, "role": node.config.role, "time": node.now().isoformat(),
            "catalog_version": current_version(node.store), "case_numbers_left": left,
            "unauthenticated_refusals": unauthenticated, "peers": listed, "warnings": warnings}
