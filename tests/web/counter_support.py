"""A station enrolled with its county (a real seal under a PIN, unlocked for the day) with one staff account
per role, for the counter page tests: plain HTTP (`sealed_home`) and a real `edgenode serve` (`serve_sealed`)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import MovableClock, make_node
from tests.http.realnet import NodeProcess
from tests.web.conftest import PASSWORD, START, STATION_ROLES, login_of

PIN = "river-2468"


def sealed_home(base: Path, runtime: Path) -> Path:
    """Build county + station under `base`; the seal's session key goes to `runtime` (EDGENODE_RUNTIME_DIR)."""
    from edgenode.accounts.staff import add_staff
    from edgenode.clock import CHINA_TZ
    from edgenode.sealing.custody import unlock
    from tests.sealing.conftest import enrol, make_county

    previous = os.environ.get("EDGENODE_RUNTIME_DIR")
    os.environ["EDGENODE_RUNTIME_DIR"] = str(runtime)
    try:
        clock = MovableClock(datetime.fromisoformat(START).replace(tzinfo=CHINA_TZ))
        county = make_county(base / "county", clock)
        station = make_node(base / "station", clock)
        enrol(station, county, base / "usb", pin=PIN)
        unlock(station, PIN, datetime.fromisoformat("2026-11-16T23:00:00").replace(tzinfo=CHINA_TZ), staff="印章管理员")
        for role in STATION_ROLES:
            add_staff(station, login=login_of(role), display_name=f"测试{role}", role=role, password=PASSWORD, by="test")
        station.close()
        county.node.close()
    finally:
        if previous is None:
            os.environ.pop("EDGENODE_RUNTIME_DIR", None)
        else:
            os.environ["EDGENODE_RUNTIME_DIR"] = previous
    return base / "station"


def serve_sealed(home: Path, runtime: Path, scan_folder: Path) -> NodeProcess:
    previous = os.environ.get("EDGENODE_RUNTIME_DIR")
    os.environ["EDGENODE_RUNTIME_DIR"] = str(runtime)
    try:
        return NodeProcess(home, home.parent / "logs", "--no-sync", "--scan-folder", str(scan_folder)).ready()
    finally:
        if previous is None:
            os.environ.pop("EDGENODE_RUNTIME_DIR", None)
        else:
            os.environ["EDGENODE_RUNTIME_DIR"] = previous


def verify_pdf(home: Path, pdf: bytes) -> Any:
    """The notice checked offline against the station's trust anchors and CRLs."""
    from edgenode.clock import CHINA_TZ
    from edgenode.node import Node
    from edgenode.notices import verify_notice
    from edgenode.sealing.trust import anchor_pems, crl_pems

    clock = MovableClock(datetime.fromisoformat(START).replace(tzinfo=CHINA_TZ))
    node = Node.open(home, clock)
    try:
        return verify_notice(pdf, anchor_pems(node), crl_pems(node), node.now())
    finally:
        node.close()
