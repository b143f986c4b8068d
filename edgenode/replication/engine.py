"""The replication engine's interface: bytes in, bytes out, the same for every transport (HTTP, USB folder).

A live exchange (docs/protocol.md section 11), the node that has the link calling its peer:
1. `hello(peer)` at the peer: its time (the caller then calls `note_contact` for the clock skew), the last
   sequence number it applied from the caller (`seen`) and the next one it would use for the caller
   (`next_seq_for_you`; it packs what is new for the caller first, so "nothing new" costs one round trip).
2. push: `outgoing(peer)` here, the packets to the peer's `accept_batch`, each receipt back to `acknowledge` here.
3. pull: the peer's `pull(requester=us, after_seq=<our seen for it>)`, each packet to our `accept`, each
   receipt back to the peer's `acknowledge`.

Everything is idempotent: a packet sent twice, replayed or out of order changes nothing the second time, and
the same packet bytes may travel once by HTTP and once on a USB stick.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from edgenode.replication import STAFF, inbox, outbox, peers as _peers, status as _status
from edgenode.replication.peers import Peer

__all__ = ["Peer", "acknowledge", "accept", "accept_batch", "hello", "note_contact", "outgoing", "peers", "pull", "receipts_for",
           "status", "upstreams"]


def peers(node: Any) -> list[Peer]:
    """Upstreams (the county hub from enrolment, registered cards, introductions) and known children."""
    return [p for p in _peers.listed(node) if _peers.row_for(node, p.node_id)["relation"] != "known"]


def upstreams(node: Any) -> list[Peer]:
    return _peers.listed(node, "upstream")


def hello(node: Any, peer_id: str) -> dict[str, Any]:
    return _status.hello(node, peer_id)


def note_contact(node: Any, peer_id: str, their_time: str | datetime) -> dict[str, Any]:
    return _status.note_contact(node, peer_id, their_time)


def outgoing(node: Any, peer: Peer, *, max_items: int = 2000) -> list[bytes]:
    """Unacknowledged packets for the peer, oldest first, after packing (and storing) what it lacks."""
    row = _peers.row_for(node, peer.node_id)
    outbox.build(node, row, max_items=max_items)
    return outbox.pending(node, peer.node_id)


def accept(node: Any, data: bytes) -> bytes:
    """Take a packet; the signed receipt bytes (accepted, duplicate: the original again, or refused).
    SyncError for bytes that are not an identifiable packet. The batch of one (`accept_batch`)."""
    return inbox.accept(node, data)


def accept_batch(node: Any, batch: Sequence[bytes]) -> list[bytes]:
    """Take a batch of packets in one durable transaction: per packet, in order, its signed receipt, or the
    SyncError code in ASCII (e.g. b"SYNC_001") for bytes that are not an identifiable packet."""
    return inbox.accept_batch(node, batch)


def acknowledge(node: Any, peer: Peer, receipt: bytes) -> str:
    """Mark a packet delivered (or refused) by the peer's receipt; SyncError if these bytes are not one."""
    return outbox.acknowledge(node, peer, receipt, staff=STAFF)


def pull(node: Any, requester_id: str, *, after_seq: int) -> list[bytes]:
    """Packets this node holds for a downstream requester with a sequence number above `after_seq`."""
    row = _peers.row_for(node, requester_id)
    outbox.build(node, row)
    return outbox.pending(node, requester_id, after_seq=after_seq)


def receipts_for(node: Any, sender_id: str, *, after_seq: int = 0) -> list[bytes]:
    """The receipts this node issued for a sender's packets (to hand back ones the sender may have missed)."""
    rows = node.store.query("SELECT receipt FROM repl_inbox WHERE sender = ? AND seq > ? AND receipt IS NOT NULL "
                            "ORDER BY seq", (sender_id, after_seq))
    return [bytes(r["receipt"]) for r in rows]


def status(node: Any) -> dict[str, Any]:
    return _status.status(node)
