"""Real node homes for the back-office page tests (同步, 冲突, 印章, county pages): a county with its CA and
the sample catalog published as a signed release, a station enrolled by files, staff accounts on both, and
optionally a case edited at both nodes while they were apart (an open conflict at each) and a case the
station has not sent yet (packets pending for the county)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.conftest import SAMPLE_CATALOG, MovableClock, fill_form, item_named, make_node
from tests.web.conftest import COUNTY_ROLES, PASSWORD, START, STATION_ROLES, login_of

MEDIATION = "人民调解申请"   # 授权办理 at the village: station and county may both act on it
PENSION = "城乡居民基本养老保险参保登记"
SCANS = {"pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
         "png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64}


@dataclass
class Pair:
    county: Path
    station: Path
    county_id: str
    station_id: str
    case_no: str | None = None    # the case in conflict (phone edited at both)


def clock() -> MovableClock:
    from edgenode.clock import CHINA_TZ

    return MovableClock(datetime.fromisoformat(START).replace(tzinfo=CHINA_TZ))


def scans(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for key, data in SCANS.items():
        (folder / f"scan.{key}").write_bytes(data)
        out[key] = folder / f"scan.{key}"
    return out


def receive(node: Any, files: dict[str, Path], name: str, **form: Any) -> Any:
    from edgenode.cases.service import Intake, receive_case

    item = item_named(name)
    wanted = {"sfz": files["pdf"], "tjsqs": files["png"]} if name == MEDIATION else \
        {"sfz": files["pdf"], "cbdjb": files["png"]}
    return receive_case(node, Intake(item_code=item["code"], form=fill_form(item, **form), files=wanted),
                        staff="代办员甲")


def sync_both(a: Any, b: Any, rounds: int = 3) -> None:
    """Pushes as the HTTP transport does them (outgoing -> accept -> acknowledge), both ways."""
    from edgenode.replication import engine
    from edgenode.replication.peers import get

    for _ in range(rounds):
        for sender, receiver in ((a, b), (b, a)):
            peer = get(sender, receiver.config.node_id)
            for data in engine.outgoing(sender, peer):
                engine.acknowledge(sender, peer, engine.accept(receiver, data))


def build(base: Path, *, conflict: bool = False, pending: bool = True) -> Pair:
    """The homes under `base` (nodes closed afterwards, so a server or a Flask app can open them)."""
    from edgenode.accounts.staff import add_staff
    from edgenode.cases.edits import edit_case_fields
    from edgenode.replication.releases import publish
    from tests.sealing.conftest import enrol, make_county

    county = make_county(base / "county", clock())
    publish(county.node, SAMPLE_CATALOG, staff="县级管理员")
    station = make_node(base / "station", clock())
    enrol(station, county, base / "enrol-station")
    for node, roles in ((county.node, COUNTY_ROLES), (station, STATION_ROLES)):
        for role in roles:
            add_staff(node, login=login_of(role), display_name=f"测试{role}", role=role, password=PASSWORD, by="test")
    files = scans(base / "scans")
    pair = Pair(base / "county", base / "station", county.node.config.node_id, station.config.node_id)
    if conflict:
        state = receive(station, files, MEDIATION)
        sync_both(station, county.node)
        edit_case_fields(station, state.case_no, {"phone": "13905912345"}, "申请人更换号码", "站点代办员")
        edit_case_fields(county.node, state.case_no, {"phone": "13805919999"}, "电话核实", "县级工作人员")
        sync_both(station, county.node)
        pair.case_no = state.case_no
    if pending:
        receive(station, files, PENSION)
    county.node.close()
    station.close()
    return pair


def bad_catalog(version: int, *, markup: str = "") -> bytes:
    """The sample catalog as `version` with three errors in two items (and `markup` in an item's name)."""
    doc = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    doc["version"] = version
    doc["items"][0]["name"] = doc["items"][0]["name"] + markup
    doc["items"][0]["type"] = "不存在的类型"
    del doc["items"][1]["materials"]
    doc["items"][1]["legal_limit_days"] = "三十"
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def good_catalog(version: int) -> bytes:
    """The sample catalog as `version`, one item renamed and one removed (a preview has something to show)."""
    doc = json.loads(SAMPLE_CATALOG.read_text(encoding="utf-8"))
    doc["version"] = version
    doc["items"][2]["name"] = doc["items"][2]["name"] + "（新版）"
    doc["items"].pop()
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
