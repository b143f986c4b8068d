"""The scanner folder: new scans dropped by the counter's scanner, offered on the intake's materials step.

One folder per node (`edgenode serve --scan-folder DIR`). sync/watcher.py's `InboxWatcher` (the only
watchdog user) hands on each file once it has stopped growing; a file is offered only if its content is a
PDF, JPEG or PNG (edgenode/blobs.py sniff, never the name) and it is within the blob size limit. The clerk
picks an offer by its plain name; `path_of(name)` accepts only a name that is offered right now, is a
single path component, and is a regular file directly in the folder (no "..", no separators, no
symlinks), so nothing a user sends can reach outside the folder. A scan taken into a case is stored in the
node's blobs by the case step, then removed from the folder (`discard`).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgenode.blobs import MAX_BLOB_BYTES, sniff_media_type

log = logging.getLogger("edgenode.web.scanner")
EXTENSION_KEY = "edgenode_scanner"
MAX_OFFERS = 50


@dataclass(frozen=True)
class Offer:
    name: str
    size: int
    media_type: str
    mtime: float

    @property
    def kind(self) -> str:
        return {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}.get(self.media_type, "")


def plain_name(name: str) -> bool:
    """One path component, visible, printable: never '.', '..', a separator, a drive or a NUL."""
    return (bool(name) and len(name) <= 255 and name not in (".", "..") and not name.startswith(".")
            and "/" not in name and "\\" not in name and ":" not in name
            and all(ch.isprintable() for ch in name))


class ScanFolder:
    """The offers of one folder. `poll_once()` (tests) or `start()` (a watcher thread) keep them current."""

    def __init__(self, folder: Path, *, settle_seconds: float = 1.0, poll_seconds: float = 0.5,
                 max_bytes: int = MAX_BLOB_BYTES) -> None:
        from sync.watcher import InboxWatcher

        self.folder = Path(folder).absolute()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._offers: dict[str, Offer] = {}
        self._watcher = InboxWatcher(self.folder, self._consider, settle_seconds=settle_seconds,
                                     poll_seconds=poll_seconds, accept=plain_name)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- watching ---------------------------------------------------------------------------------------
    def start(self) -> "ScanFolder":
        self._watcher.start()
        self._thread = threading.Thread(target=self._loop, name="scan-folder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._watcher.stop()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self._watcher.poll_seconds):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001 - the watcher thread must not die; logged
                log.exception("scanner folder poll failed")

    def poll_once(self, now: float | None = None) -> list[Path]:
        """One round: files from the watcher's events plus a listing of the folder (a scanner writing to a
        network share may send no events), each offered once it has settled."""
        self._watcher.rescan()
        return self._watcher.poll_once(now)

    def watch_without_thread(self) -> "ScanFolder":
        """Start the observer only; the caller polls (`poll_once`)."""
        self._watcher.start()
        return self

    def _consider(self, path: Path) -> None:
        offer = self._check(path)
        with self._lock:
            if offer is None:
                self._offers.pop(path.name, None)
            else:
                self._offers[offer.name] = offer

    def _check(self, path: Path) -> Offer | None:
        if path.parent != self.folder or not plain_name(path.name):
            return None
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size == 0 or info.st_size > self.max_bytes:
                return None
            with open(path, "rb", opener=lambda p, f: os.open(p, f | getattr(os, "O_NOFOLLOW", 0))) as handle:
                media_type = sniff_media_type(handle.read(16))
        except OSError:
            return None
        if media_type is None:
            log.info("scanner folder: a file that is not a PDF, JPEG or PNG is not offered")
            return None
        return Offer(path.name, info.st_size, media_type, info.st_mtime)

    # -- offering and taking ----------------------------------------------------------------------------
    def offers(self) -> list[Offer]:
        """Current offers, newest first; a file gone or changed since it was offered is dropped."""
        with self._lock:
            known = list(self._offers.values())
        current = []
        for offer in known:
            again = self._check(self.folder / offer.name)
            if again is None or again.size != offer.size or again.mtime != offer.mtime:
                with self._lock:
                    self._offers.pop(offer.name, None)
                continue
            current.append(offer)
        return sorted(current, key=lambda o: (-o.mtime, o.name))[:MAX_OFFERS]

    def path_of(self, name: str) -> Path | None:
        """The file for an offered name, or None: the name must be offered now and stay inside the folder."""
        if not plain_name(name):
            return None
        with self._lock:
            offered = name in self._offers
        if not offered:
            return None
        path = self.folder / name
        if path.resolve().parent != self.folder.resolve() or self._check(path) is None:
            return None
        return path

    def discard(self, name: str) -> None:
        """After the case step stored the scan in the node's blobs: remove it from the folder."""
        path = self.path_of(name)
        with self._lock:
            self._offers.pop(name, None)
        if path is not None:
            try:
                path.unlink()
            except OSError:
                log.warning("scanner folder: a taken scan could not be removed")


def install(app: Any, folder: Path, **options: Any) -> ScanFolder:
    """Attach a scanner folder to the web app (not started)."""
    scans = ScanFolder(folder, **options)
    app.extensions[EXTENSION_KEY] = scans
    return scans


def current() -> ScanFolder | None:
    from flask import current_app

    return current_app.extensions.get(EXTENSION_KEY)
