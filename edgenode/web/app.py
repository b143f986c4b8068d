"""The node's WSGI app: `create_app(node_home, clock=...)`.

SQLite connections belong to the thread that opened them, so each server thread opens the node once
(`NodePool.node()`) and keeps it for its life; the server closes a thread's node when the thread ends
(`NodePool.close_current`, called by `edgenode serve`'s thread dispatcher), so a clean shutdown closes every
connection. The replication engine is `edgenode.replication.engine` unless one is passed in (tests pass a
small fake with the same functions).
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from edgenode.clock import Clock
from edgenode.web import blob_api, errors, sync_api

ENGINE_MODULE = "edgenode.replication.engine"


class NodePool:
    """One open node per thread, opened on first use; closed by the thread itself."""

    def __init__(self, home: Path, clock: Clock) -> None:
        self.home, self.clock = Path(home), clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: dict[int, Any] = {}
        self.closed = False

    def node(self) -> Any:
        node = getattr(self._local, "node", None)
        if node is None:
            from edgenode.node import Node

            node = Node.open(self.home, self.clock)
            self._local.node = node
            with self._lock:
                self._open[threading.get_ident()] = node
        return node

    def close_current(self) -> None:
        node = getattr(self._local, "node", None)
        if node is not None:
            self._local.node = None
            with self._lock:
                self._open.pop(threading.get_ident(), None)
            node.close()

    def open_count(self) -> int:
        with self._lock:
            return len(self._open)


@dataclass
class AppState:
    pool: NodePool
    engine: Any
    node_id: str


def create_app(node_home: str | Path, *, clock: Clock, engine: Any = None) -> Flask:
    """The Flask app serving the sync API under /sync/v1 and the staff web UI (edgenode/web/README.md)."""
    from edgenode.config import load_config

    home = Path(node_home).absolute()
    config = load_config(home)
    app = Flask("edgenode.web")
    app.config.update(MAX_CONTENT_LENGTH=sync_api.MAX_REQUEST_BYTES, JSON_AS_ASCII=False)
    app.extensions["edgenode"] = AppState(NodePool(home, clock), engine or importlib.import_module(ENGINE_MODULE),
                                          config.node_id)
    errors.install(app)
    app.register_blueprint(sync_api.blueprint, url_prefix=sync_api.PREFIX)
    app.register_blueprint(blob_api.blueprint, url_prefix=sync_api.PREFIX)
    from edgenode.web import ui

    ui.install(app)  # the staff web UI; its error handler keeps the API's JSON errors for /sync/ paths
    return app


def state() -> AppState:
    return current_app.extensions["edgenode"]


def new_work() -> None:
    """A page wrote work for the upstream (a case received, an evaluation, ...): wake the sync loop running for
    this node in this process (`edgenode serve`), so it leaves now rather than at the next interval."""
    from edgenode.replication.loop import nudge_running

    nudge_running(state().pool.home)


def routes(app: Flask) -> set[tuple[str, str]]:
    """(method, path) of every API route we serve (for the OpenAPI check); Flask's static route and the
    staff UI's HTML pages (endpoints `ui.*`, checked by tests/web instead) aside."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("ui."):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method.lower(), re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)))  # OpenAPI's {name}
    return found
