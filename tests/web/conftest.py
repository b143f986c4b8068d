"""Fixtures for the web UI tests.

Plain HTTP: `station_home` / `county_home` (real nodes with the sample catalog and one account per role,
password PASSWORD, copied fresh for each test), `web` (a Flask test client factory with a movable clock:
`web.signed_in(role)`), `csrf_of(html)`.

Browser: `server` (a real `edgenode serve` process on a free 127.0.0.1 port, its home made by the CLI as
install/run-station.sh does), `browser` (Debian's chromium driven by Playwright; never a downloaded browser;
missing chromium fails, never skips), `page` (1366x768), `small_page` (1024x768) and `shot(page, name)`
(screenshots under test-output/screenshots/).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import COUNTY, ROOT, SAMPLE_CATALOG, VILLAGE, MovableClock, make_node
from tests.http.realnet import NodeProcess
from tests.sealing.conftest import EDGENODE

PASSWORD = "Counter2026x"
STATION_ROLES = ["clerk", "reviewer", "seal_custodian", "admin"]
COUNTY_ROLES = ["county_admin", "admin", "clerk"]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
START = "2026-11-16T09:30:00"   # a Monday


def login_of(role: str) -> str:
    return role.replace("_", "")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _make_home(path: Path, *, county: bool) -> Path:
    from edgenode.accounts.staff import add_staff
    from edgenode.clock import CHINA_TZ

    clock = MovableClock(datetime.fromisoformat(START).replace(tzinfo=CHINA_TZ))
    if county:
        node = make_node(path, clock, role="county", division=COUNTY, name="罗源县政务服务中心")
    else:
        node = make_node(path, clock)
    for role in COUNTY_ROLES if county else STATION_ROLES:
        add_staff(node, login=login_of(role), display_name=f"测试{role}", role=role, password=PASSWORD, by="test")
    node.close()
    return path


@pytest.fixture(scope="session")
def _homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("web-homes")
    return {"station": _make_home(base / "station", county=False), "county": _make_home(base / "county", county=True)}


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@pytest.fixture
def station_home(_homes: dict[str, Path], tmp_path: Path) -> Path:
    return _copy(_homes["station"], tmp_path / "station")


@pytest.fixture
def county_home(_homes: dict[str, Path], tmp_path: Path) -> Path:
    return _copy(_homes["county"], tmp_path / "county")


@dataclass
class Web:
    """Flask test clients on one node home, sharing a clock the test moves."""

    home: Path
    clock: MovableClock
    app: Any

    def client(self) -> Any:
        return self.app.test_client()

    def sign_in(self, client: Any, login: str, password: str = PASSWORD) -> Any:
        token = csrf_of(client.get("/login").get_data(as_text=True))
        return client.post("/login", data={"login": login, "password": password, "csrf_token": token})

    def signed_in(self, role: str) -> Any:
        client = self.client()
        answer = self.sign_in(client, login_of(role))
        assert answer.status_code == 303, answer.get_data(as_text=True)[-500:]
        return client

    def csrf(self, client: Any) -> str:
        return csrf_of(client.get("/").get_data(as_text=True))

    def node(self) -> Any:
        from edgenode.node import Node

        return Node.open(self.home, self.clock)


def _web(home: Path) -> Web:
    from edgenode.clock import CHINA_TZ
    from edgenode.web.app import create_app

    clock = MovableClock(datetime.fromisoformat(START).replace(tzinfo=CHINA_TZ))
    return Web(home, clock, create_app(home, clock=clock))


@pytest.fixture
def web(station_home: Path) -> Iterator[Web]:
    made = _web(station_home)
    yield made
    made.app.extensions["edgenode"].pool.close_current()


@pytest.fixture
def county_web(county_home: Path) -> Iterator[Web]:
    made = _web(county_home)
    yield made
    made.app.extensions["edgenode"].pool.close_current()


# -- a real server and a real browser -------------------------------------------------------------------

def _cli(*args: str, home: Path, stdin: str | None = None) -> str:
    env = {**os.environ, "EDGENODE_HOME": str(home), "EDGENODE_NOW": START, "EDGENODE_STAFF": "安装"}
    result = subprocess.run([EDGENODE, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    """`edgenode serve` on a station made as install/run-station.sh makes it (init, catalog import, staff)."""
    home = tmp_path_factory.mktemp("web-server") / "station"
    _cli("init", "--role", "station", "--division", VILLAGE, "--name", "罗源县起步镇上长治村便民服务站", home=home)
    _cli("catalog", "import", str(SAMPLE_CATALOG), home=home)
    for login, name, role in [("admin", "张管理", "admin"), ("clerk", "林晓燕", "clerk"),
                              ("lockme", "王锁定", "clerk")]:
        _cli("staff", "add", login, "--name", name, "--role", role, "--password-stdin", home=home,
             stdin=PASSWORD + "\n")
    proc = NodeProcess(home, home.parent / "logs", "--no-sync").ready()
    yield proc
    assert proc.terminate() == 0, proc.stderr()[-2000:]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium "
                    "(bash install/test.sh installs it with apt; never `playwright install`)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def _page(browser: Any, width: int, height: int) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(30_000)   # a hang guard, not a timing assertion
    yield page
    context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from _page(browser, 1366, 768)


@pytest.fixture
def small_page(browser: Any) -> Iterator[Any]:
    yield from _page(browser, 1024, 768)


@pytest.fixture
def shot(request: pytest.FixtureRequest):
    """shot(page, "step"): a full-page screenshot test-output/screenshots/<test>-<nn>-<step>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(page: Any, step: str) -> Path:
        path = SCREENSHOTS / f"{request.node.name}-{next(counter):02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
