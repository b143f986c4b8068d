"""The project's fault proxy (tests/http/faultproxy.py) with two changes for the benchmarks, by subclassing:

- latency once per burst: FaultProxy waits ``latency`` before forwarding *each* chunk of at most rate/50 bytes,
  one after the other, so at 2 Mbit/s and 150 ms a chunk a "300 ms RTT" link carries 5 KB per 150 ms (0.27
  Mbit/s). On a real link the propagation delay overlaps within a burst; here a chunk pays the latency only
  when that direction of that connection was idle for more than ``BURST_GAP`` seconds (a new request or a new
  response), then the bandwidth limit paces the rest of the burst. Request/response turn-arounds cost one
  RTT each, as on the real link.
- one cut by the total: ``cut_once_at(n)`` ends the connection that is carrying the traffic when the bytes
  both ways over all connections reach ``n`` (mid-transfer, whichever connection that is), once. The
  project's ``cut_connections`` counts per new connection, which misses when the client spreads its
  requests over several connections.
"""

from __future__ import annotations

import threading
import time

from tests.http.faultproxy import FaultProxy

BURST_GAP = 0.05


class LinkProxy(FaultProxy):
    def __init__(self, target_port: int, *, latency: float = 0.0, **kwargs) -> None:
        super().__init__(target_port, latency=0.0, **kwargs)  # FaultProxy's per-chunk latency stays off
        self.burst_latency = latency
        self._last = threading.local()
        self._cut_at: int | None = None

    def cut_once_at(self, total_bytes: int) -> None:
        with self._lock:
            self._cut_at = total_bytes

    def _read(self, sock):
        with self._lock:
            due = self._cut_at is not None and self.counters.up + self.counters.down >= self._cut_at
            if due:
                self._cut_at = None
                self.counters.cuts += 1
        if due:
            return b""  # the pump returns and both sockets of this connection close mid-transfer
        return super()._read(sock)

    def _delay(self, direction: str, size: int) -> None:
        last = getattr(self._last, direction, None)
        if self.burst_latency and (last is None or time.monotonic() - last > BURST_GAP):
            self._stop.wait(self.burst_latency)
        super()._delay(direction, size)  # the bandwidth limit
        setattr(self._last, direction, time.monotonic())
