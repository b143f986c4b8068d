"""The audit log's chain head, signed with the node key and sent upward in every packet.

    {"type": "audit_head", "node", "seq", "hash", "at", "checkpoints": {"<seq>": "<hash>"}, "signature"}

`checkpoints` are the hashes this node's audit log has now at the sequence numbers of the last heads it
sent to that peer. Each entry's hash chains every entry before it, so if the log was rewritten below a head
the county already holds, the hash at that point differs and the county flags it; a shorter chain than one
already reported is flagged too. The county keeps every head (`repl_audit_heads`, append-only), so the
evidence outlives the station. The signature (Ed25519, own label) makes each head evidence on its own,
apart from the packet that carried it.
"""

from __future__ import annotations

from typing import Any

from sync.body import Item

SIGNING_LABEL = b"edgenode audit head v1\x00"
CHECKPOINTS = 8


def _body(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("type", "node", "seq", "hash", "at", "checkpoints")}


def head_item(node: Any, peer_id: str) -> Item:
    """Within the building transaction: this node's signed chain head for `peer_id`."""
    from seals.canonical import b64encode, canonical_json

    conn = node.store.conn
    last = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, digest = (last["seq"], last["hash"]) if last else (0, "0" * 64)
    sent = [r[0] for r in conn.execute("SELECT seq FROM repl_sent_heads WHERE peer_id = ? ORDER BY seq DESC LIMIT ?",
                                       (peer_id, CHECKPOINTS))]
    checkpoints = {}
    for at_seq in sent:
        row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (at_seq,)).fetchone()
        checkpoints[str(at_seq)] = row["hash"] if row else "missing"
    conn.execute("INSERT OR IGNORE INTO repl_sent_heads(peer_id, seq) VALUES(?, ?)", (peer_id, seq))
    body = {"type": "audit_head", "node": node.config.node_id, "seq": seq, "hash": digest,
            "at": node.now().isoformat(), "checkpoints": checkpoints}
    return Item("attestation", {**body, "signature": b64encode(node.keys.sign(SIGNING_LABEL + canonical_json(body)))})


def _problem(node: Any, sender: str, data: dict[str, Any], packet_seq: int) -> str | None:
    checkpoints = data["checkpoints"] if isinstance(data["checkpoints"], dict) else {}
    # Only the heads that can disagree are read (the same seq, the checkpoints, those above): a county holds
    # one head per packet per station, and reading them all for every packet made ingest quadratic.
    at = [int(k) for k in checkpoints if isinstance(k, str) and k.isdigit() and len(k) < 16]
    picked = "SELECT h.seq, h.hash, COALESCE(i.seq, 0) AS packet_seq FROM repl_audit_heads h " \
             "LEFT JOIN repl_inbox i ON i.packet_id = h.packet_id WHERE h.node_id = ? AND "
    stored = node.store.conn.execute(
        f"{picked} h.seq >= ? UNION {picked} h.seq IN ({', '.join('?' for _ in at) or 'NULL'}) ORDER BY 1, 2",
        (sender, data["seq"], sender, *at)).fetchall()
    for row in stored:
        if row["seq"] > data["seq"] and row["packet_seq"] < packet_seq:  # packets may arrive out of order
            return f"审计日志链变短：此前报告到第 {row['seq']} 条，现在只有 {data['seq']} 条"
        if row["seq"] == data["seq"] and row["hash"] != data["hash"]:
            return f"审计日志第 {row['seq']} 条的哈希与此前报告的不同：历史记录被改写"
        said = checkpoints.get(str(row["seq"]))
        if said is not None and said != row["hash"]:
            return f"审计日志第 {row['seq']} 条的哈希与此前报告的不同：历史记录被改写"
    return None


def take_head(node: Any, sender: Any, data: dict[str, Any], packet_id: str, packet_seq: int, *,
              staff: str) -> str | None:
    """Within a write transaction: verify and keep a child's head; returns the problem found, if any."""
    from seals.canonical import b64decode, canonical_json
    from seals.keys import verify_node_signature

    try:
        body = _body(data)
        signature = b64decode(data["signature"], "signature")
        valid = isinstance(body["seq"], int) and verify_node_signature(
            bytes.fromhex(sender["signing_public"]), SIGNING_LABEL + canonical_json(body), signature)
    except Exception:  # noqa: BLE001 - a malformed head is one that does not verify
        valid = False
    if not valid or data.get("node") != sender["node_id"]:
        problem = "审计链头签名无效"
        node.record(staff, "sync.audit_head_invalid", detail={"node": sender["node_id"]})
        return problem
    problem = _problem(node, sender["node_id"], data, packet_seq)
    node.store.conn.execute(
        "INSERT OR IGNORE INTO repl_audit_heads(node_id, seq, hash, at, signature, received_at, packet_id, problem) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?)", (sender["node_id"], data["seq"], str(data["hash"])[:64], str(data["at"])[:40],
                                           str(data["signature"])[:200], node.now().isoformat(), packet_id, problem))
    if problem:
        node.record(staff, "sync.audit_rewrite", detail={"node": sender["node_id"], "seq": data["seq"],
                                                         "problem": problem})
    return problem
