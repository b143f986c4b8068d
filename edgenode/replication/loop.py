"""The sync loop: one background thread per upstream that has a URL, driving the engine over HTTP.

One round (`sync_once`) is: hello (one request; both sides' high-water marks and the hub's time), then
the unacknowledged packets in batches (one request per batch, packed to fill the batch's byte budget, the
next batch packed while one is at the hub; each receipt goes to the engine, which forgets a packet only for
a receipt that verifies), then a pull of what the hub holds for us if its hello
says there is any, then (once no packets are left) the scans the hub lacks, chunk by chunk, resumed from
the hub's confirmed chunk (`blob_sync.upload`; never to the province). A round with nothing new is that one
hello: whether any scan is due is known locally.

Between rounds the thread waits `interval` seconds, or until `nudge()`: the web UI wakes the loop running for
its node (`nudge_running(home)`) after it wrote new work, such as a case received or an evaluation. After a
failed attempt it waits an exponential backoff with full jitter, capped at a few minutes. A successful hello
resets the backoff, so when the link returns everything pending goes at once. While the link is down the loop
is quiet: one log line when it goes down, one when it comes back.
"""

from __future__ import annotations

import importlib
import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgenode.clock import Clock
from edgenode.errors import EdgeNodeError
from sync.errors import SyncError
from sync.transport_http import MAX_BATCH_ITEMS, Backoff, HttpTransport, link_error

log = logging.getLogger("edgenode.sync")
ENGINE_MODULE = "edgenode.replication.engine"
MIN_REQUEST_BYTES, START_REQUEST_BYTES, MAX_REQUEST_BYTES = 64 * 1024, 512 * 1024, 1024 * 1024
# a batch is read whole before it is applied, so a cut costs the batch in flight: at most 1 MiB (4 s at
# 2 Mbit/s) against a 300 ms round trip per batch (7 %)
RECEIPT_WINDOW = 64
WIRE_BYTES_PER_ITEM, PACKED_ITEMS_MIN = 160, 2000
RECEIPTS_META = "repl_receipts_upto:"  # + upstream node id: our receipts for its packets it holds up to this seq


@dataclass
class RoundResult:
    sent: int = 0
    pulled: int = 0
    requests: int = 0
    more: bool = False  # stopped at a bound with work left: go again at once
    blobs: int = 0      # scans the hub now holds thanks to this round
    blob_chunks: int = 0
    blob_bytes: int = 0


@dataclass
class Batcher:
    """How many bytes of packets go in one request: grows after a whole batch got through, shrinks after a cut,
    so a slow link that breaks often re-sends little and a good link takes few round trips."""

    budget: int = START_REQUEST_BYTES

    def take(self, pending: list[bytes]) -> list[bytes]:
        batch, size = [], 0
        for packet in pending[:MAX_BATCH_ITEMS]:
            if batch and size + 4 + len(packet) > self.budget:
                break
            batch.append(packet)
            size += 4 + len(packet)
        return batch

    def delivered(self) -> None:
        self.budget = min(MAX_REQUEST_BYTES, self.budget * 2)

    def broken(self) -> None:
        self.budget = max(MIN_REQUEST_BYTES, self.budget // 2)


def _push(node: Any, engine: Any, peer: Any, transport: Any, batcher: Batcher, result: RoundResult,
          max_rounds: int) -> None:
    """The unacknowledged packets in batches. While a batch is at the hub, the next packets are built here:
    the request runs in a worker thread, the store stays on this one, so packing a backlog overlaps the
    hub's work on the batch before it instead of waiting for it."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-push") as pool:
        pending = engine.outgoing(node, peer, max_items=_items_for(batcher))
        for _ in range(max_rounds):
            if not pending:
                return
            batch = batcher.take(pending)
            answer = pool.submit(transport.send_packets, batch)
            sent = set(batch)
            pending = [p for p in engine.outgoing(node, peer, max_items=_items_for(batcher)) if p not in sent]
            try:
                answers = answer.result()
            except SyncError:
                batcher.broken()
                raise
            result.requests += 1
            _take_receipts(engine, node, peer, answers, result)
            batcher.delivered()
    result.more = True


def _items_for(batcher: Batcher) -> int:
    """How many items to pack for the next batch: about what fills its byte budget (a case event is ~160 bytes
    on the wire, docs/benchmarks.md), so a backlog goes in as few requests as the budget allows."""
    return max(PACKED_ITEMS_MIN, batcher.budget // WIRE_BYTES_PER_ITEM)


def _take_receipts(engine: Any, node: Any, peer: Any, answers: list[bytes], result: RoundResult) -> None:
    refused = [answer[:16].decode("ascii", "replace") for answer in answers if not answer.startswith(b"\x89")]
    for answer in answers:
        if answer.startswith(b"\x89"):
            engine.acknowledge(node, peer, answer)
            result.sent += 1
    if refused:
        raise link_error("HTTP_105", f"上级节点无法识别 {len(refused)} 个数据包（{refused[0]}），这些数据包留在待发队列中。",
                         f"packets: upstream could not identify {len(refused)} packet(s)", upstream=peer.node_id,
                         upstream_code=refused[0])


def _pull(node: Any, engine: Any, peer: Any, transport: Any, have: int, hub_has: int, result: RoundResult,
          max_rounds: int) -> int:
    """Pull and apply what the hub holds for us; our new high-water mark for it."""
    for _ in range(max_rounds):
        if have >= hub_has:
            return have
        packets = transport.pull(have)
        result.requests += 1
        if not packets:
            return have
        for data in packets:
            try:
                engine.accept(node, data)
                result.pulled += 1
            except SyncError as exc:
                log.warning("packet from upstream %s not applied: %s", peer.node_id, exc.code)
        now = int(engine.hello(node, peer.node_id)["seen"].get(peer.node_id, 0))
        if now <= have:
            return have
        have = now
    result.more = True
    return have


def _hand_back(node: Any, engine: Any, peer: Any, transport: Any, session: "Session", seen: int,
               result: RoundResult) -> None:
    """Give the hub our receipts for what we took from it since the last receipts it got, so its outbox
    forgets them. How far it got them is kept in the store, so a later process (`edgenode sync now`) does
    not send them again; a node that has no record sends the last `RECEIPT_WINDOW` (the hub takes them once)."""
    key = f"{RECEIPTS_META}{peer.node_id}"
    if session.receipts_upto is None:
        held = node.store.get_meta(key)
        session.receipts_upto = int(held) if held is not None else max(0, seen - RECEIPT_WINDOW)
    if seen <= session.receipts_upto:
        return
    receipts = engine.receipts_for(node, peer.node_id, after_seq=session.receipts_upto)
    for start in range(0, len(receipts), MAX_BATCH_ITEMS):
        transport.send_receipts(receipts[start:start + MAX_BATCH_ITEMS])
        result.requests += 1
    session.receipts_upto = seen
    with node.store.write():
        node.store.set_meta(key, str(seen))


@dataclass
class Session:
    """What a worker remembers between rounds with one upstream."""

    batcher: Batcher = field(default_factory=lambda: Batcher())
    receipts_upto: int | None = None  # our receipts for the hub's packets up to this seq were handed back


def _blob_sync(engine: Any) -> Any:
    """The scan uploader that goes with the real engine (a test's fake engine has no scans)."""
    if getattr(engine, "__name__", "") != ENGINE_MODULE:
        return None
    from edgenode.replication import blob_sync

    return blob_sync


def _push_blobs(node: Any, peer: Any, transport: Any, blobs: Any, result: RoundResult) -> None:
    if blobs is None or result.more or not hasattr(transport, "put_blob_chunk"):
        return
    up = blobs.UploadResult()
    try:
        blobs.upload(node, peer, transport, result=up)
    finally:
        result.requests += up.requests
        result.blobs += up.blobs
        result.blob_chunks += up.chunks
        result.blob_bytes += up.bytes
        result.more = result.more or up.more


def sync_once(node: Any, engine: Any, peer: Any, transport: Any, *, session: Session | None = None,
              on_hello: Callable[[dict[str, Any]], None] | None = None, max_rounds: int = 50,
              result: RoundResult | None = None, blobs: Any = "engine's") -> RoundResult:
    """One round with one upstream. Raises SyncError (or the store's error) on a failed attempt; `result`, if
    given, still counts what got through before the failure. `blobs`: the scan uploader (default: the one
    that goes with the engine; None for none)."""
    result = result if result is not None else RoundResult()
    session = session if session is not None else Session()
    mine = engine.hello(node, peer.node_id)
    theirs = transport.hello(mine)
    result.requests += 1
    engine.note_contact(node, peer.node_id, theirs["time"])
    if on_hello:
        on_hello(theirs)
    _push(node, engine, peer, transport, session.batcher, result, max_rounds)
    have = int(mine["seen"].get(peer.node_id, 0))
    have = _pull(node, engine, peer, transport, have, int(theirs["next_seq_for_you"]) - 1, result, max_rounds)
    _hand_back(node, engine, peer, transport, session, have, result)
    _push_blobs(node, peer, transport, _blob_sync(engine) if blobs == "engine's" else blobs, result)
    return result


def open_transport(node: Any, peer: Any, **options: Any) -> HttpTransport:
    return HttpTransport(peer.url, node_id=node.config.node_id, keys=node.keys, upstream_id=peer.node_id,
                         upstream_signing_public=peer.signing_public_raw, **options)


@dataclass
class LinkState:
    upstream: str
    url: str
    up: bool | None = None
    rounds: int = 0
    failures: int = 0
    sent: int = 0
    pulled: int = 0
    blobs_sent: int = 0
    blob_bytes_sent: int = 0
    last_error: str | None = None
    last_contact: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class UpstreamWorker(threading.Thread):
    """Syncs one upstream until stopped. Opens its own node: SQLite connections stay on their thread."""

    def __init__(self, loop: "SyncLoop", peer: Any) -> None:
        super().__init__(name=f"sync-{peer.node_id}", daemon=True)
        self.loop, self.peer, self.new_peer = loop, peer, None
        self.state = LinkState(peer.node_id, peer.url)
        self.wake = threading.Event()
        self.backoff = Backoff(base=loop.backoff_base, cap=loop.backoff_cap, rand=loop.rand)
        self.session = Session()
        self._transport: Any = None
        self._reported: set[str] = set()

    def switch(self, peer: Any) -> None:
        """The upstream's URL (or keys) changed: use the new ones from the next round."""
        self.new_peer = peer
        self.wake.set()

    def run(self) -> None:
        from edgenode.node import Node

        node = Node.open(self.loop.home, self.loop.clock)
        try:
            while not self.loop.stopping.is_set():
                self.wake.clear()   # before the round: a nudge during it means one more round at once
                delay = self._round(node)
                self.wake.wait(delay)
        finally:
            self._drop_transport()
            node.close()

    def _drop_transport(self) -> None:
        if self._transport is not None:
            try:
                self._transport.close()
            except SyncError:
                pass
            self._transport = None

    def _round(self, node: Any) -> float:
        state = self.state
        state.rounds += 1
        result = RoundResult()
        try:
            if self.new_peer is not None:
                self._drop_transport()
                self.peer, self.new_peer = self.new_peer, None
                state.url = self.peer.url
            if self._transport is None:
                self._transport = self.loop.transport_factory(node, self.peer)
            sync_once(node, self.loop.engine, self.peer, self._transport, session=self.session,
                      on_hello=lambda theirs: self._contact(theirs), result=result)
        except (SyncError, EdgeNodeError) as exc:
            return self._failed(result, exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001 - a bug must not end syncing: logged once per kind, retried
            if type(exc).__name__ not in self._reported:
                self._reported.add(type(exc).__name__)
                log.exception("sync with %s: internal error", self.peer.node_id)
            return self._failed(result, "HTTP_109", type(exc).__name__)
        if state.up is False:
            log.info("与上级节点 %s 的连接已恢复", self.peer.node_id)
        state.up, state.last_error = True, None
        self._count(result)
        return 0.0 if result.more else self.loop.interval

    def _failed(self, result: RoundResult, code: str, message: str) -> float:
        state = self.state
        self._count(result)
        state.failures += 1
        state.last_error = code
        if state.up is not False:
            log.warning("与上级节点 %s 的同步中断，稍后自动重试：%s %s", self.peer.node_id, code, message)
        state.up = False
        return self.backoff.next_delay()

    def _count(self, result: RoundResult) -> None:
        state = self.state
        state.sent += result.sent
        state.pulled += result.pulled
        state.blobs_sent += result.blobs
        state.blob_bytes_sent += result.blob_bytes

    def _contact(self, theirs: dict[str, Any]) -> None:
        self.backoff.reset()
        self.state.last_contact = theirs.get("time")


_RUNNING: dict[Path, "SyncLoop"] = {}   # node home -> the loop started for it in this process
_RUNNING_LOCK = threading.Lock()


def nudge_running(home: str | Path) -> None:
    """New local work at `home`: wake the sync loop running for it in this process, if any (none under
    `edgenode serve --no-sync`, in the CLI or in tests without a loop)."""
    with _RUNNING_LOCK:
        loop = _RUNNING.get(Path(home).resolve())
    if loop is not None:
        loop.nudge()


class SyncLoop:
    """Background sync with every upstream that has a URL (rescanned every `rescan` seconds)."""

    def __init__(self, home: str | Path, clock: Clock, *, engine: Any = None, interval: float = 30.0,
                 backoff_base: float = 2.0, backoff_cap: float = 240.0, rescan: float = 60.0,
                 rand: Callable[[], float] = random.random,
                 transport_factory: Callable[[Any, Any], Any] = open_transport) -> None:
        self.home, self.clock = Path(home), clock
        self.engine = engine or importlib.import_module(ENGINE_MODULE)
        self.interval, self.backoff_base, self.backoff_cap, self.rescan = interval, backoff_base, backoff_cap, rescan
        self.rand, self.transport_factory = rand, transport_factory
        self.stopping = threading.Event()
        self.workers: dict[str, UpstreamWorker] = {}
        self._supervisor: threading.Thread | None = None

    def start(self) -> None:
        with _RUNNING_LOCK:
            _RUNNING[self.home.resolve()] = self
        self._supervisor = threading.Thread(target=self._supervise, name="sync-supervisor", daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        from edgenode.node import Node

        while not self.stopping.is_set():
            try:
                with Node.open(self.home, self.clock) as node:
                    upstreams = [p for p in self.engine.upstreams(node) if p.url]
            except (SyncError, EdgeNodeError) as exc:
                log.warning("cannot read the upstreams: %s", exc.code)
                upstreams = []
            for peer in upstreams:
                worker = self.workers.get(peer.node_id)
                if worker is not None and peer != worker.peer and peer != worker.new_peer:
                    worker.switch(peer)
                elif worker is None and not self.stopping.is_set():
                    worker = self.workers[peer.node_id] = UpstreamWorker(self, peer)
                    worker.start()
            self.stopping.wait(self.rescan)

    def nudge(self) -> None:
        """Sync now (new local work, or a person pressed 同步)."""
        for worker in list(self.workers.values()):
            worker.wake.set()

    def request_stop(self) -> None:
        """Ask every thread to stop after its current request (does not wait)."""
        with _RUNNING_LOCK:
            if _RUNNING.get(self.home.resolve()) is self:
                del _RUNNING[self.home.resolve()]
        self.stopping.set()
        self.nudge()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop and wait (bounded: a thread stuck in a request past `timeout` is left to its own timeout)."""
        self.request_stop()
        if self._supervisor is not None:
            self._supervisor.join(timeout)
        for worker in list(self.workers.values()):
            worker.join(timeout)

    def states(self) -> list[LinkState]:
        return [worker.state for worker in self.workers.values()]
