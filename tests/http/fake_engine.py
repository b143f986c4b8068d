"""A small in-memory stand-in for edgenode.replication.engine: the same functions, real packets and receipts.

It lets the HTTP layer (app, client, loop) be tested on its own: packets are built with the real codec
(HPKE, Ed25519) between real nodes' keys, the hub answers with real signed receipts, and the sender forgets
a packet only for a receipt that verifies. State lives in memory (per node id), so it serves nodes that run
in this process only; the subprocess tests use the real engine.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

from edgenode.replication.peers import Peer
from sync.body import Item
from sync.envelope import new_event_id
from sync.errors import SyncError
from sync.packet import KnownSender, pack, packet_hash, read_header, unpack
from sync.receipt import duplicate_status, issue_receipt, verify_receipt


class FakeEngine:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.known: dict[str, dict[str, Peer]] = defaultdict(dict)     # node -> peer id -> Peer
        self.ups: dict[str, set[str]] = defaultdict(set)               # node -> its upstream ids
        self.built: dict[tuple[str, str], list[bytes]] = defaultdict(list)
        self.acked: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.inbox: dict[str, dict[str, tuple[bytes, bytes]]] = defaultdict(dict)  # node -> id -> (hash, receipt)
        self.applied: dict[str, list[Any]] = defaultdict(list)          # node -> item data, in order applied
        self.seen: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.contacts: list[tuple[str, str, str]] = []
        self.calls: dict[str, int] = defaultdict(int)
        self.receipts_by_seq: dict[tuple[str, str], list[tuple[int, bytes]]] = defaultdict(list)

    # -- set-up --------------------------------------------------------------------------------------------
    @staticmethod
    def peer_of(node: Any, url: str | None = None) -> Peer:
        return Peer(node.config.node_id, node.config.role, node.config.name, url, node.keys.signing_public_raw(),
                    node.keys.exchange_public_raw())

    def link(self, child: Any, parent: Any, url: str | None) -> None:
        with self.lock:
            self.known[child.config.node_id][parent.config.node_id] = self.peer_of(parent, url)
            self.known[parent.config.node_id][child.config.node_id] = self.peer_of(child)
            self.ups[child.config.node_id].add(parent.config.node_id)

    def set_url(self, child_id: str, parent_id: str, url: str) -> None:
        with self.lock:
            old = self.known[child_id][parent_id]
            self.known[child_id][parent_id] = Peer(old.node_id, old.role, old.name, url, old.signing_public_raw,
                                                   old.exchange_public_raw)

    def queue(self, node: Any, peer_id: str, values: list[Any]) -> bytes:
        """Build one packet of `attestation` items carrying `values` (the outbox keeps its bytes)."""
        me = node.config.node_id
        with self.lock:
            peer, chain = self.known[me][peer_id], self.built[(me, peer_id)]
            data = pack([Item("attestation", {"v": v}) for v in values], sender=node.keys, sender_id=me,
                        recipient_id=peer_id, recipient_exchange_public=peer.exchange_public_raw, seq=len(chain) + 1,
                        prev_hash=packet_hash(chain[-1]) if chain else bytes(32),
                        packet_id=new_event_id(int(node.now().timestamp() * 1000)))
            chain.append(data)
            return data

    def pending(self, node_id: str, peer_id: str) -> list[bytes]:
        with self.lock:
            done = self.acked[(node_id, peer_id)]
            return [p for p in self.built[(node_id, peer_id)] if read_header(p).packet_id not in done]

    # -- the engine's functions ---------------------------------------------------------------------------
    def peers(self, node: Any) -> list[Peer]:
        with self.lock:
            return list(self.known[node.config.node_id].values())

    def upstreams(self, node: Any) -> list[Peer]:
        with self.lock:
            me = node.config.node_id
            return [self.known[me][p] for p in sorted(self.ups[me])]

    def hello(self, node: Any, peer_id: str) -> dict[str, Any]:
        with self.lock:
            me = node.config.node_id
            return {"node_id": me, "time": node.now().isoformat(timespec="milliseconds"),
                    "seen": {peer_id: self.seen[me][peer_id]}, "next_seq_for_you": len(self.built[(me, peer_id)]) + 1}

    def note_contact(self, node: Any, peer_id: str, their_time: str) -> None:
        with self.lock:
            self.contacts.append((node.config.node_id, peer_id, their_time))

    def outgoing(self, node: Any, peer: Any, *, max_items: int = 2000) -> list[bytes]:
        with self.lock:
            self.calls["outgoing"] += 1
            return self.pending(node.config.node_id, peer.node_id)[:max_items]

    def accept(self, node: Any, data: bytes) -> bytes:
        me = node.config.node_id
        header = read_header(data)  # unidentifiable bytes raise: no receipt
        digest = packet_hash(data)
        with self.lock:
            self.calls["accept"] += 1
            stored = self.inbox[me].get(header.packet_id)
            try:
                if duplicate_status(stored[0] if stored else None, digest, packet_id=header.packet_id):
                    return stored[1]
                known = {pid: KnownSender(p.signing_public_raw) for pid, p in self.known[me].items()}
                opened = unpack(data, recipient=node.keys, recipient_id=me, known_senders=known)
                status, reason = "accepted", None
            except SyncError as exc:
                status, reason = "refused", exc.code
            receipt = issue_receipt(hub=node.keys, packet_id=header.packet_id, packet_hash=digest, sender=header.sender,
                                    recipient=me, seq=header.seq, status=status, reason_code=reason,
                                    hub_time=node.now())
            if status == "accepted":
                self.applied[me].extend(item.data["v"] for item in opened.items)
                self.seen[me][header.sender] = max(self.seen[me][header.sender], header.seq)
            if reason != "SYNC_023":
                self.inbox[me][header.packet_id] = (digest, receipt)
                self.receipts_by_seq[(me, header.sender)].append((header.seq, receipt))
            return receipt

    def accept_batch(self, node: Any, batch: list[bytes]) -> list[bytes]:
        """As the real engine: one answer per packet, the receipt or the SyncError code in ASCII."""
        with self.lock:
            self.calls["accept_batch"] += 1
            answers = []
            for data in batch:
                try:
                    answers.append(self.accept(node, data))
                except SyncError as exc:
                    answers.append(exc.code.encode("ascii"))
            return answers

    def acknowledge(self, node: Any, peer: Any, receipt: bytes) -> str:
        me = node.config.node_id
        try:
            payload = json.loads(receipt[10:-64])
            packet_id = payload["packet_id"]
        except (ValueError, KeyError, TypeError):
            verify_receipt(receipt, expected_packet_id="", expected_packet_hash=b"",
                           hub_signing_public=peer.signing_public_raw)
            raise
        with self.lock:
            match = [p for p in self.built[(me, peer.node_id)] if read_header(p).packet_id == packet_id]
            packet = match[0] if match else b""
        checked = verify_receipt(receipt, expected_packet_id=packet_id if match else "-",
                                 expected_packet_hash=packet_hash(packet), hub_signing_public=peer.signing_public_raw)
        with self.lock:
            self.acked[(me, peer.node_id)].add(packet_id)
        return checked.status

    def pull(self, node: Any, requester_id: str, *, after_seq: int) -> list[bytes]:
        with self.lock:
            return list(self.built[(node.config.node_id, requester_id)][after_seq:])

    def receipts_for(self, node: Any, sender_id: str, *, after_seq: int = 0) -> list[bytes]:
        with self.lock:
            held = list(self.receipts_by_seq[(node.config.node_id, sender_id)])
            return [r for seq, r in sorted(held) if seq > after_seq]

    def status(self, node: Any) -> dict[str, Any]:
        with self.lock:
            me = node.config.node_id
            return {"pending": {p: len(self.pending(me, p)) for p in self.known[me]}}
