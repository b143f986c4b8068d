"""The demo's nodes: each a node home driven by real `edgenode` processes (one per command), hubs and the
field laptop's station served by `edgenode serve` on 127.0.0.1 with a port the system picks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgenode.errors import EdgeNodeError

START_LIMIT_S = 60.0
COMMAND_LIMIT_S = 300.0


def edgenode_command() -> list[str]:
    """The `edgenode` program next to this Python (a venv), else this Python running the CLI module."""
    script = Path(sys.executable).with_name("edgenode")
    return [str(script)] if script.is_file() else [sys.executable, "-c", "import cli; cli.entry()"]


class DemoError(EdgeNodeError):
    """A demo step failed: names the node and the command, with what it printed."""


@dataclass
class DemoNode:
    key: str                 # a short label used in the printout: 县级、省级、A站、B站、上门终端
    home: Path
    role: str
    division: str
    name: str
    env: dict[str, str]
    server: subprocess.Popen | None = None
    url: str | None = None
    node_id: str | None = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def run(self, *args: str, staff: str = "代办员", extra_env: dict[str, str] | None = None,
            stdin: bytes | None = None) -> dict[str, Any]:
        """One `edgenode --home HOME ARGS --json` process; its JSON answer, or DemoError with its message."""
        env = {**self.env, "EDGENODE_STAFF": staff, **(extra_env or {})}
        argv = [*edgenode_command(), "--home", str(self.home), *args, "--json"]
        done = subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=COMMAND_LIMIT_S)
        text = done.stdout.decode("utf-8", "replace").strip()
        try:
            answer = json.loads(text.splitlines()[-1]) if text else {}
        except ValueError:
            answer = {}
        self.log.append({"args": list(args), "exit": done.returncode})
        if done.returncode != 0:
            why = "；".join(answer.get("errors") or []) or done.stderr.decode("utf-8", "replace")[-500:]
            raise DemoError("NODE_013", f"演示中{self.key}执行 edgenode {' '.join(args[:2])} 失败：{why}",
                            context={"node": self.key, "command": " ".join(args[:3]), "code": answer.get("code")})
        return answer

    def serve(self, logs: Path) -> str:
        """Start `edgenode serve` (no background sync: the demo decides when each link is up); its URL."""
        logs.mkdir(parents=True, exist_ok=True)
        out, err = logs / f"{self.home.name}.out", logs / f"{self.home.name}.err"
        with open(out, "wb") as o, open(err, "wb") as e:
            self.server = subprocess.Popen([*edgenode_command(), "--home", str(self.home), "serve", "--port", "0",
                                            "--no-sync", "--json"], stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                           env=self.env)
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise DemoError("NODE_014", f"{self.key}的服务进程启动失败：{err.read_text('utf-8', 'replace')[-300:]}",
                                context={"node": self.key})
            first = out.read_text("utf-8").partition("\n")[0]
            if first:
                self.url = json.loads(first)["url"]
                return self.url
            time.sleep(0.05)
        self.stop()
        raise DemoError("NODE_014", f"{self.key}的服务进程在 {START_LIMIT_S:.0f} 秒内未就绪", context={"node": self.key})

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None


def demo_env(root: Path) -> dict[str, str]:
    """Every demo process: its own runtime folder for unlocked seals, sample secrets, no inherited node home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGENODE_") or k == "EDGENODE_NOW"}
    env.update(EDGENODE_RUNTIME_DIR=str(root / "runtime"), PYTHONUNBUFFERED="1",
               EDGENODE_CA_PASSPHRASE="demo-county-passphrase", EDGENODE_SEAL_PIN="246810")
    (root / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
    return env
