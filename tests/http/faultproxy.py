"""A fault-injecting TCP proxy of our own, on 127.0.0.1 only, between a node and its hub.

Faults: latency (each chunk waits `latency` seconds per direction), a bandwidth limit shared by all
connections per direction (`rate`, bytes per second: one slow village link), connections cut after N bytes
(`cut_plan`: one entry per new connection, consumed in order, counting both directions or only one; the cut
is an RST), the whole link dropping each time the bytes carried reach one of N1, N2, … (`drop_link_at`: every
connection open then is reset, as when the village Wi-Fi goes), stalls (`stall_plan`:
(after_bytes, seconds) per connection: the link goes silent mid-transfer), and `refuse` (a link that is down:
every connection is reset at once). It counts the bytes it carries each way.

Every loop is bounded: sockets poll with short timeouts, and the proxy stops by itself after `lifetime`
seconds, so a test that forgets to stop it cannot hang the suite.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
POLL = 0.05


@dataclass
class Counters:
    up: int = 0            # client -> target bytes forwarded
    down: int = 0          # target -> client bytes forwarded
    connections: int = 0
    cuts: int = 0
    stalls: int = 0
    refused: int = 0
    per_connection: list[tuple[int, int]] = field(default_factory=list)  # (up, down) of each finished one


def _counted(moved: dict[str, int], direction: str) -> int:
    return moved["up"] + moved["down"] if direction == "both" else moved[direction]


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a broken link looks to the other side."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, target_port: int, *, latency: float = 0.0, rate: float | None = None,
                 lifetime: float = 300.0) -> None:
        self.target_port = target_port
        self.latency, self.rate = latency, rate
        self.cut_plan: deque[tuple[int, str]] = deque()
        self._drop_at: deque[int] = deque()
        self._drops = 0
        self.stall_plan: deque[tuple[int, float]] = deque()
        self.refuse = False
        self.counters = Counters()
        self._lock = threading.Lock()
        self._next_free = {"up": 0.0, "down": 0.0}
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._threads: list[threading.Thread] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, 0))
        self._listener.listen(32)
        self._listener.settimeout(POLL)
        self.port = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    # -- control ---------------------------------------------------------------------------------------
    def start(self) -> "FaultProxy":
        thread = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5)
        try:
            self._listener.close()
        except OSError:
            pass

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def retarget(self, port: int) -> None:
        with self._lock:
            self.target_port = port

    def cut_connections(self, *after_bytes: int, direction: str = "both") -> None:
        """The next connections are cut after these many bytes, one each; counted in both directions together,
        or only "up" (client to target) or "down" (target to client)."""
        assert direction in ("both", "up", "down")
        with self._lock:
            self.cut_plan.extend((n, direction) for n in after_bytes)

    def drop_link_at(self, *totals: int) -> None:
        """Each time the bytes carried both ways over all connections reach the next of these totals, every
        open connection is reset (one cut each)."""
        with self._lock:
            self._drop_at.extend(sorted(totals))

    def stall_connections(self, *plan: tuple[int, float]) -> None:
        with self._lock:
            self.stall_plan.extend(plan)

    def total(self) -> int:
        return self.counters.up + self.counters.down

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self._deadline

    # -- accepting ---------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while self._running():
            try:
                client, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.counters.connections += 1
                if self.refuse:
                    self.counters.refused += 1
                    _reset(client)
                    continue
                cut = self.cut_plan.popleft() if self.cut_plan else None
                stall = self.stall_plan.popleft() if self.stall_plan else None
                port = self.target_port
            thread = threading.Thread(target=self._serve, args=(client, port, cut, stall), daemon=True,
                                      name="faultproxy-pump")
            thread.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    # -- pumping -----------------------------------------------------------------------------------------
    def _serve(self, client: socket.socket, port: int, cut: tuple[int, str] | None,
               stall: tuple[int, float] | None) -> None:
        try:
            target = socket.create_connection((LOOPBACK, port), timeout=2)
        except OSError:
            _reset(client)
            return
        moved = {"up": 0, "down": 0}
        was_cut = True
        try:
            was_cut = self._pump(client, target, moved, cut, stall)
        finally:
            with self._lock:
                self.counters.per_connection.append((moved["up"], moved["down"]))
            for sock in (client, target):
                if was_cut:
                    _reset(sock)
                else:
                    sock.close()

    def _pump(self, client: socket.socket, target: socket.socket, moved: dict[str, int],
              cut: tuple[int, str] | None, stall: tuple[int, float] | None) -> bool:
        """Forward both ways until either end closes (False) or the connection is cut (True)."""
        ends = {client: (target, "up"), target: (client, "down")}
        drops = self._drops
        while self._running():
            readable, _, _ = select.select(list(ends), [], [], POLL)
            if self._drops != drops:
                return True
            for sock in readable:
                peer, direction = ends[sock]
                chunk = self._read(sock)
                if not chunk:
                    return False
                if cut is not None and cut[1] in ("both", direction):
                    chunk = chunk[:max(0, cut[0] - _counted(moved, cut[1]))]
                stall = self._maybe_stall(moved, len(chunk), stall)
                self._delay(direction, len(chunk))
                try:
                    peer.sendall(chunk)
                except OSError:
                    return False
                moved[direction] += len(chunk)
                with self._lock:
                    setattr(self.counters, direction, getattr(self.counters, direction) + len(chunk))
                    if self._drop_at and self.counters.up + self.counters.down >= self._drop_at[0]:
                        self._drop_at.popleft()
                        self._drops += 1
                        self.counters.cuts += 1
                if self._drops != drops:
                    return True
                if cut is not None and _counted(moved, cut[1]) >= cut[0]:
                    with self._lock:
                        self.counters.cuts += 1
                    return True
        return False

    def _read(self, sock: socket.socket) -> bytes:
        size = 16384 if not self.rate else int(min(16384, max(512, self.rate / 50)))
        try:
            return sock.recv(size)
        except OSError:
            return b""

    def _maybe_stall(self, moved: dict[str, int], size: int, stall: tuple[int, float] | None):
        if stall is not None and sum(moved.values()) + size >= stall[0]:
            with self._lock:
                self.counters.stalls += 1
            self._stop.wait(stall[1])
            return None
        return stall

    def _delay(self, direction: str, size: int) -> None:
        wait = self.latency
        if self.rate:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_free[direction])
                self._next_free[direction] = start + size / self.rate
                wait += max(0.0, self._next_free[direction] - now)
        if wait > 0:
            self._stop.wait(wait)
