"""Watching a node's inbox folder: packets and receipts dropped in (by a person, a LAN share, a USB stick
copy) are taken in as soon as they are whole.

watchdog reports files created, modified or moved in; a file is handed on only once it is **stable**: its
size has not changed for `settle_seconds` (a copy in progress keeps growing; copy tools on Windows create
the file at full size and fill it, so the modification time counts too). Files already there when the
watcher starts are looked at as well. Each (file, size, mtime) is handed on once; a failing handler is
logged and retried only if the file changes.

`StableFiles` is the pure part (no clock, no I/O: the caller passes sizes and times) so it can be tested
without waiting; `InboxWatcher` does the I/O: a watchdog observer thread collects file names, and the
handler always runs in the caller's thread (`poll_once`, `loop`), so it may use the caller's database
connection. This is the only module that imports watchdog.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from sync.transport_folder import PACKET_SUFFIX, RECEIPT_SUFFIX

log = logging.getLogger("edgenode.sync.watcher")
SUFFIXES = (PACKET_SUFFIX, RECEIPT_SUFFIX)


@dataclass
class StableFiles:
    """Decides when a file has stopped changing. Feed it observations; ask it which files are ready."""

    settle_seconds: float
    _seen: dict[Path, tuple[tuple[int, float], float]] = field(default_factory=dict)
    _done: dict[Path, tuple[int, float]] = field(default_factory=dict)

    def observe(self, path: Path, size: int, mtime: float, now: float) -> None:
        """Record the file's (size, mtime) at `now`; a change restarts its settling time."""
        state = (size, mtime)
        if self._done.get(path) == state:
            return
        previous = self._seen.get(path)
        if previous is None or previous[0] != state:
            self._seen[path] = (state, now)

    def gone(self, path: Path) -> None:
        self._seen.pop(path, None)
        self._done.pop(path, None)

    def ready(self, now: float) -> list[Path]:
        """Files unchanged for `settle_seconds` and not empty; each handed out once per (size, mtime)."""
        out = []
        for path, (state, since) in list(self._seen.items()):
            if state[0] > 0 and now - since >= self.settle_seconds:
                out.append(path)
                self._done[path] = state
                del self._seen[path]
        return sorted(out)

    @property
    def waiting(self) -> int:
        return len(self._seen)


def packet_name(name: str) -> bool:
    """The inbox's default: packet and receipt files, never hidden ones."""
    return name.endswith(SUFFIXES) and not name.startswith(".")


class _Collector(FileSystemEventHandler):
    def __init__(self, accept: Callable[[str], bool] = packet_name) -> None:
        self.lock = threading.Lock()
        self.paths: set[Path] = set()
        self.accept = accept

    def _add(self, path: str | bytes) -> None:
        text = path.decode() if isinstance(path, bytes) else path
        if self.accept(Path(text).name):
            with self.lock:
                self.paths.add(Path(text))

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        self._add(event.src_path)
        if getattr(event, "dest_path", None):
            self._add(event.dest_path)

    def take(self) -> set[Path]:
        with self.lock:
            taken, self.paths = self.paths, set()
        return taken


class InboxWatcher:
    """Hands stable `.enpkt` / `.enrcpt` files in `folder` to `handle(path)`, in name order.

    `accept(name)` picks other files (the web UI's scanner folder takes any non-hidden name and checks the
    content itself)."""

    def __init__(self, folder: Path, handle: Callable[[Path], None], *, settle_seconds: float = 2.0,
                 poll_seconds: float = 0.5, accept: Callable[[str], bool] = packet_name) -> None:
        self.folder = Path(folder)
        self.handle = handle
        self.poll_seconds = poll_seconds
        self.stable = StableFiles(settle_seconds)
        self.accept = accept
        self._collector = _Collector(accept)
        self._observer = Observer()
        self._watched: set[Path] = set()

    def _existing(self) -> Iterable[Path]:
        return (p for p in self.folder.iterdir() if p.is_file() and self.accept(p.name))

    def start(self) -> "InboxWatcher":
        """Start watching (files already there are candidates too). Handling happens in `poll_once`/`loop`."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._watched = set(self._existing())
        self._observer.schedule(self._collector, str(self.folder), recursive=False)
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join()

    def __enter__(self) -> "InboxWatcher":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def rescan(self) -> None:
        """Look at every file in the folder again at the next poll (events can be missed on network shares)."""
        try:
            self._watched |= set(self._existing())
        except OSError:
            log.warning("cannot list the watched folder")

    def poll_once(self, now: float | None = None) -> list[Path]:
        """One round: look at every candidate file, hand on the stable ones. Returns what was handed on."""
        now = time.monotonic() if now is None else now
        self._watched |= self._collector.take()
        for path in sorted(self._watched):
            try:
                info = path.stat()
            except OSError:
                self.stable.gone(path)
                self._watched.discard(path)
                continue
            self.stable.observe(path, info.st_size, info.st_mtime, now)
        handed = []
        for path in self.stable.ready(now):
            try:
                self.handle(path)
            except Exception:  # noqa: BLE001 - one bad file must not stop the watcher; it is logged
                log.exception("could not take in %s", path.name)
            handed.append(path)
        return handed

    def loop(self, stop: threading.Event) -> None:
        """Poll in the calling thread until `stop` is set."""
        while not stop.wait(self.poll_seconds):
            self.poll_once()
