"""`edgenode serve`: the node's HTTP app under Waitress, and the sync loop with every upstream.

Listens on 127.0.0.1 unless a LAN address is given (`--host`) or configured (`listen_host`). A small
thread pool suits the station PCs. SIGTERM or SIGINT (Ctrl+C) stops cleanly: the listening socket is
closed, the sync loop stops, requests in flight are answered (bounded wait), then every server thread
closes its own database connection.
"""

from __future__ import annotations

import errno
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import click

from edgenode.commands.node import CliContext, json_option

DEFAULT_THREADS = 4
DRAIN_SECONDS = 10.0
log = logging.getLogger("edgenode.serve")


class NodeServer:
    """The app bound to a socket; `run(stop)` serves until `stop` is set, then drains and closes."""

    def __init__(self, home: Path, clock: Any, *, host: str, port: int, threads: int = DEFAULT_THREADS,
                 engine: Any = None) -> None:
        from waitress.server import create_server
        from waitress.task import ThreadedTaskDispatcher

        from edgenode.errors import EdgeNodeError
        from edgenode.web.app import create_app
        from edgenode.web.sync_api import MAX_REQUEST_BYTES

        self.app = create_app(home, clock=clock, engine=engine)
        self.pool = self.app.extensions["edgenode"].pool
        pool = self.pool

        class Dispatcher(ThreadedTaskDispatcher):
            def handler_thread(self, thread_no: int) -> None:
                try:
                    super().handler_thread(thread_no)
                finally:
                    pool.close_current()

        self.dispatcher = Dispatcher()
        try:
            self.server = create_server(
                self.app, host=host, port=port, threads=threads, _dispatcher=self.dispatcher, ident="edgenode",
                max_request_body_size=MAX_REQUEST_BYTES + 1024 * 1024, connection_limit=64, channel_timeout=120,
                asyncore_use_poll=True, clear_untrusted_proxy_headers=True,
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise EdgeNodeError("HTTP_009", f"端口 {port} 已被占用（可能节点已在运行，或其他程序占用了该端口），未能启动",
                                    context={"host": host, "port": port},
                                    hint="请先停止占用该端口的程序，或用 --port 指定其他端口") from None
            raise EdgeNodeError("HTTP_010", f"无法在地址 {host}:{port} 上监听：{exc.strerror or exc}",
                                context={"host": host, "port": port},
                                hint="请检查 --host 是否为本机的地址（默认 127.0.0.1）") from None
        self.dispatcher.set_thread_count(threads)
        self.host, self.port = self.server.effective_host, int(self.server.effective_port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def run(self, stop: threading.Event, *, before_drain: Any = None) -> None:
        from waitress import wasyncore

        try:
            while not stop.is_set():
                wasyncore.loop(timeout=0.2, map=self.server._map, use_poll=True, count=1)
            wasyncore.dispatcher.close(self.server)  # stop accepting; keep the channels
            if before_drain is not None:
                before_drain()
            self._drain(wasyncore)
        finally:
            self.dispatcher.shutdown(cancel_pending=True, timeout=DRAIN_SECONDS)
            wasyncore.close_all(self.server._map)

    def _drain(self, wasyncore: Any) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and any(self._busy(ch) for ch in list(self.server._map.values())):
            wasyncore.loop(timeout=0.05, map=self.server._map, use_poll=True, count=1)

    @staticmethod
    def _busy(channel: Any) -> bool:
        return bool(getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
                    or getattr(channel, "request", None) is not None)


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("waitress").setLevel(logging.WARNING)


@click.command()
@click.option("--host", default=None, help="监听地址，默认为配置中的 listen_host（127.0.0.1，仅本机）。局域网地址须明确指定。")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="端口，默认为配置中的 listen_port（8470）；0 表示任选一个空闲端口。")
@click.option("--threads", type=click.IntRange(1, 32), default=DEFAULT_THREADS, show_default=True,
              help="处理请求的线程数。")
@click.option("--sync-interval", type=click.FloatRange(0.05, 3600), default=30.0, show_default=True,
              help="与上级节点两次同步之间的间隔（秒）；连接中断时按退避时间重试（最长4分钟）。")
@click.option("--no-sync", is_flag=True, help="不运行与上级节点的同步（只提供接口）。")
@click.option("--scan-folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="扫描仪保存扫描件的文件夹：新的 PDF/JPEG/PNG 扫描件会出现在收件的材料步骤中供选用。")
@json_option
@click.pass_obj
def serve(obj: CliContext, host: str | None, port: int | None, threads: int, sync_interval: float,
          no_sync: bool, scan_folder: Path | None, as_json: bool) -> None:
    """运行节点：工作人员网页、同步接口（下级节点经 HTTP 送来数据包）和与上级节点的后台同步。Ctrl+C 停止。

    首次使用先建管理员账号（edgenode staff add admin --name 姓名 --role admin），再在浏览器中打开显示的地址登录。

    \b
    例：edgenode --home ./county serve
        edgenode --home ./station serve --host 192.168.1.20 --port 8470
        edgenode --home ./station serve --scan-folder D:/扫描件
    """
    from edgenode.clock import clock_from_env
    from edgenode.config import load_config
    from edgenode.replication.loop import SyncLoop

    home = obj.home_path.absolute()
    config = load_config(home)
    clock = clock_from_env()
    _configure_logging()
    server = NodeServer(home, clock, host=host or config.listen_host, port=config.listen_port if port is None else port,
                        threads=threads)
    scans = None
    if scan_folder is not None:
        from edgenode.web.scanner import install

        scans = install(server.app, scan_folder).start()
    stop = threading.Event()
    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: stop.set())
    loop = None if no_sync else SyncLoop(home, clock, engine=server.app.extensions["edgenode"].engine,
                                          interval=sync_interval)
    if loop is not None:
        loop.start()
    if as_json:
        click.echo(json.dumps({"ok": True, "url": server.url, "node_id": config.node_id, "role": config.role},
                              ensure_ascii=False))
    else:
        click.echo(f"edgenode 已启动：{config.name}（{config.node_id}）在 {server.url} 提供服务，按 Ctrl+C 停止")
    server.run(stop, before_drain=loop.request_stop if loop is not None else None)
    if loop is not None:
        loop.stop()
    if scans is not None:
        scans.stop()
    log.info("edgenode stopped: %s", config.node_id)


COMMANDS = [serve]
