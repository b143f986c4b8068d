"""`edgenode demo`: one day of a county with two village stations, a field laptop and the province, run by
real processes talking real HTTP on 127.0.0.1 (and one USB folder), from set-up to the same state everywhere.

The story (each step printed as it happens):
1. Set-up: the county creates its CA and publishes the sample catalog; two stations and a field laptop
   enrol by files (as on a USB stick); county and province exchange node cards checked by fingerprint;
   the county hub, the province hub and station A (which serves its field laptop on the LAN) start.
2. Morning: station A syncs over HTTP, station B takes the catalog by USB.
3. The day, everyone offline: complete and incomplete applications with scans, a complex receipt, a 即办
   certificate, a door-to-door case in the field (continued at station A), the applicants' evaluations,
   a catalog update published at the county, and one field edited both in the field and at the station.
4. Evening: everyone reconnects (station B by USB); the concurrent edit becomes one conflict record,
   resolved by a person; the county decides a case and the decision comes back down.
5. Summary: cases per node, packets and bytes, conflicts, every notice verified offline, state digests.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from edgenode.demo import samples
from edgenode.demo.nodes import DemoError, DemoNode, demo_env

CLERK, CUSTODIAN, ADMIN, COUNTY_ADMIN = "代办员", "印章管理员", "管理员", "县级管理员"
DEMO_PASSWORD = "Demo-2026-edgenode"   # the demo's accounts only; printed at the end for a look around
ACCOUNTS = {"A站": [("lin", "林晓燕", "clerk"), ("admin", "张管理", "admin")],
            "县级平台": [("county", "陈县管", "county_admin")]}


class Demo:
    def __init__(self, root: Path, say: Callable[[str], None]) -> None:
        self.root, self.say = root, say
        self.env = demo_env(root)
        self.files = root / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        made = [("县级平台", "county", "county", "350123", "罗源县政务服务中心"),
                ("省级平台", "province", "province", "350000", "福建省网上办事大厅"),
                ("A站", "station-a", "station", samples.VILLAGE_A, "罗源县起步镇上长治村便民服务站"),
                ("B站", "station-b", "station", samples.VILLAGE_B, "罗源县凤山镇西门社区便民服务站"),
                ("上门终端", "field", "field", samples.VILLAGE_A, "罗源县起步镇上长治村上门服务终端")]
        self.nodes = {key: DemoNode(key, root / folder, role, division, name, self.env)
                      for key, folder, role, division, name in made}
        self.county, self.province = self.nodes["县级平台"], self.nodes["省级平台"]
        self.a, self.b, self.field = self.nodes["A站"], self.nodes["B站"], self.nodes["上门终端"]
        self.sent = {key: {"packets": 0, "bytes": 0, "requests": 0} for key in self.nodes}
        self.notices: list[tuple[DemoNode, str]] = []
        self.cases: dict[str, str] = {}
        self.conflicts_found: list[dict[str, Any]] = []
        self.evaluations = 0
        self.scans_taken = 0

    # -- plumbing -------------------------------------------------------------------------------------
    def step(self, text: str) -> None:
        self.say(f"\n== {text}")

    def note(self, text: str) -> None:
        self.say(f"   {text}")

    def sync_http(self, node: DemoNode, *, only: DemoNode | None = None) -> None:
        args = ["sync", "now"] + (["--peer", only.node_id] if only else [])
        for r in node.run(*args, staff=ADMIN)["upstreams"]:
            if not r["ok"]:
                raise DemoError("NODE_013", f"演示中{node.key}与上级 {r['peer']} 同步失败：{r['code']} {r['error']}",
                                context={"node": node.key})
            self.sent[node.key]["packets"] += r["sent"]
            self.sent[node.key]["bytes"] += r.get("bytes_sent", 0)
            self.sent[node.key]["requests"] += r["requests"]
            upstream = next(n.key for n in self.nodes.values() if n.node_id == r["peer"])
            self.note(f"{node.key} ⇄ {upstream}（HTTP）：发出 {r['sent']} 个数据包，取回 {r['pulled']} 个，"
                      f"{r['requests']} 次请求，{r.get('bytes_sent', 0)} 字节")

    def sync_usb(self, station: DemoNode) -> None:
        """The station's USB stick goes to the county and back (receipts and the county's packets on it)."""
        trips = self.root / "usb" / station.home.name
        stick = trips / f"trip-{len(list(trips.glob('trip-*'))) + 1}"
        stick.mkdir(parents=True)
        out = station.run("sync", "export", str(stick), "--peer", self.county.node_id, staff=ADMIN)
        packets = sum(p["packets"] for p in out["peers"])
        size = sum(p["bytes"] for p in out["peers"])
        self.sent[station.key]["packets"] += packets
        self.sent[station.key]["bytes"] += size
        at_county = self.county.run("sync", "import", str(stick), "--reply", staff=COUNTY_ADMIN)
        back = station.run("sync", "import", str(stick), staff=ADMIN)
        self.county.run("sync", "import", str(stick), staff=COUNTY_ADMIN)  # the station's receipts
        self.note(f"{station.key} → U盘 → {self.county.key}：{packets} 个数据包 {size} 字节；"
                  f"县级收下 {len(at_county['packets'])} 个并写回回执；带回 {len(back['packets'])} 个县级数据包")

    def receive(self, node: DemoNode, label: str, item: str, form: dict[str, Any], *, materials: dict[str, Path],
                staff: str = CLERK, extra: tuple[str, ...] = ()) -> dict[str, Any]:
        form_file = samples.write_form(self.files, f"{node.home.name}-{len(self.cases)}", form)
        args = ["case", "receive", "--item", item, "--form", str(form_file), *extra]
        for mid, path in materials.items():
            args += ["--material", f"{mid}={path}"]
        got = node.run(*args, staff=staff)
        self.cases[label] = got["case_id"]
        self.notices += [(node, path) for path in got["notice_files"]]
        self.note(f"{node.key}：{label} → {got['status_name']}（办件编号 {got['case_no']}）")
        return got

    # -- the story ------------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self.set_up()
            self.morning()
            self.offline_day()
            self.evening()
            return self.summary(time.monotonic() - started)
        finally:
            for node in self.nodes.values():
                node.stop()

    def set_up(self) -> None:
        self.step("建立节点：县级平台、省级平台、两个村（社区）便民服务站、一台上门服务终端，各有自己的数据库")
        for node in self.nodes.values():
            node.run("init", "--role", node.role, "--division", node.division, "--name", node.name,
                     "--phone", "0591-26801234", staff=ADMIN)
            node.node_id = node.run("sync", "status", staff=ADMIN)["node_id"]
            self.note(f"{node.key}：{node.name}（{node.node_id}）")
        for key, accounts in ACCOUNTS.items():
            for login, name, role in accounts:
                self.nodes[key].run("staff", "add", login, "--name", name, "--role", role, "--password-stdin",
                                    staff=ADMIN, stdin=f"{DEMO_PASSWORD}\n".encode())
        self.note(f"网页界面账号（演示密码 {DEMO_PASSWORD}）：A站 lin（代办员）、admin（管理员）；县级平台 county（县级管理员）")
        self.step("县级平台建立本县CA，以文件（U盘）为两个站点和上门服务终端签发节点证书和电子印章")
        self.county.run("ca", "init", "--county-name", "罗源县", staff=COUNTY_ADMIN)
        fingerprint = self.county.run("ca", "show", staff=COUNTY_ADMIN)["fingerprint"]
        for node in (self.a, self.b, self.field):
            request, bundle = self.files / f"{node.home.name}.enrol-request", self.files / f"{node.home.name}.enrol"
            node.run("enrol", "request", "--out", str(request), staff=ADMIN)
            self.county.run("ca", "enrol", str(request), "--out", str(bundle), staff=COUNTY_ADMIN)
            node.run("enrol", "accept", str(bundle), "--ca-fingerprint", fingerprint, staff=ADMIN)
            if node.role == "station":
                node.run("seal", "unlock", "--until", "23:59", staff=CUSTODIAN)
            self.note(f"{node.key}已登记" + ("，印章已由印章管理员解锁至今天 23:59" if node.role == "station" else
                                          "（上门服务终端没有印章：它出具回执，盖章文书由站点出具）"))
        self.step("启动县级平台、省级平台和A站（为上门服务终端提供局域网同步）的服务进程（127.0.0.1）")
        for node in (self.county, self.province, self.a):
            node.serve(self.root / "logs")
            self.note(f"{node.key} 在 {node.url} 提供同步接口")
        self.step("县级与省级互换节点名片并核对密钥指纹；A站与上门服务终端互相登记")
        self.exchange_cards(self.province, self.county, url=self.province.url)
        self.exchange_cards(self.county, self.province)
        for node in (self.a, self.b):
            node.run("sync", "peer", "url", self.county.node_id, self.county.url, staff=ADMIN)
        self.exchange_cards(self.a, self.field, url=self.a.url, checked=False)
        self.exchange_cards(self.field, self.a, checked=False)
        release = self.county.run("catalog", "publish", str(samples.CATALOG), staff=COUNTY_ADMIN)
        self.note(f"县级平台签名发布事项目录第 {release['version']} 版（{release['items']} 项）")
        self.sync_http(self.county)  # introduces the stations to the province and the province to them

    def exchange_cards(self, owner: DemoNode, to: DemoNode, *, url: str | None = None, checked: bool = True) -> None:
        """`to` registers `owner`'s node card (a card not certified by the county CA needs the fingerprint)."""
        card = self.files / f"{owner.home.name}.card"
        made = owner.run("sync", "card", "--out", str(card), *(["--url", url] if url else []), staff=ADMIN)
        args = ["sync", "peer", "add", str(card)] + (["--fingerprint", made["fingerprint"]] if checked else [])
        got = to.run(*args, staff=ADMIN)
        self.note(f"{to.key}登记了{owner.key}（{got['relation']}）" + ("，指纹已核对" if checked else "，本县CA证书"))

    def morning(self) -> None:
        self.step("早上：A站联网同步，取得目录和省级平台地址；B站没有网络，县里用U盘送去目录")
        self.sync_http(self.a)
        self.sync_http(self.field)
        self.sync_usb(self.b)
        for node in (self.a, self.b, self.field):
            version = node.run("sync", "status", staff=ADMIN)["catalog_version"]
            self.note(f"{node.key}的事项目录：第 {version} 版")

    def offline_day(self) -> None:
        self.step("白天：各站点断网办件（扫描件、不齐全的一次性告知、复杂件收件登记、即办件当场出证、上门服务）")
        scans = {name: samples.write_scan(self.files, name, seed + 1) for seed, name in enumerate(
            ("身份证-林秀英", "参保登记表-林秀英", "身份证-黄德明", "身份证-陈丽娟", "房产证-陈丽娟", "身份证-郑美华",
             "户口簿-郑美华", "申请书-郑美华", "授权书-郑美华", "收入申报表-郑美华", "参保登记表-黄德明"))}
        self.scans_taken = len(scans)  # every one is attached to a case below
        self.receive(self.a, "林秀英 参保登记（材料齐全）", samples.PENSION,
                     samples.pension_form("林秀英", "19560315", "123", "13805912345", samples.VILLAGE_A,
                                          "福建省罗源县起步镇上长治村12号"),
                     materials={"sfz": scans["身份证-林秀英"], "cbdjb": scans["参保登记表-林秀英"]})
        self.receive(self.a, "陈丽娟 居住证明（即办）", samples.RESIDENCE_A, samples.residence_form(),
                     materials={"sfz": scans["身份证-陈丽娟"], "zfzm": scans["房产证-陈丽娟"]})
        self.receive(self.b, "郑美华 最低生活保障申请（复杂件，收件登记）", samples.BASIC_LIVING,
                     samples.basic_living_form(), extra=("--complex",),
                     materials={"sfz": scans["身份证-郑美华"], "hkb": scans["户口簿-郑美华"],
                                "dbsqs": scans["申请书-郑美华"], "hdsqq": scans["授权书-郑美华"],
                                "srsm": scans["收入申报表-郑美华"]})
        self.receive(self.b, "吴秋生 参保登记（缺参保登记表）", samples.PENSION,
                     samples.pension_form("吴秋生", "19610704", "153", "13705918899", samples.VILLAGE_B,
                                          "福建省罗源县凤山镇西门社区南门街3号"),
                     materials={}, extra=("--elicence", "sfz"))
        self.receive(self.field, "黄德明 参保登记（上门服务，缺参保登记表）", samples.PENSION,
                     samples.pension_form("黄德明", "19580101", "171", "13509876543", samples.VILLAGE_A,
                                          "福建省罗源县起步镇上长治村40号"),
                     materials={"sfz": scans["身份证-黄德明"]}, staff="上门服务员")
        self.step("申请人本人在评价器上评价（好差评），工作人员只作记录")
        for node, label, level, channel in (
                (self.a, "林秀英 参保登记（材料齐全）", "非常满意", "现场评价器"),
                (self.a, "陈丽娟 居住证明（即办）", "满意", "扫码"),
                (self.b, "吴秋生 参保登记（缺参保登记表）", "不满意", "现场评价器")):
            got = node.run("case", "evaluate", self.cases[label], "--level", level, "--channel", channel, staff=CLERK)
            self.evaluations += 1
            self.note(f"{node.key}：{label.split()[0]} 评价「{level}」（{channel}）"
                      + ("，差评：2 个工作日内回访核实" if got.get("bad") or level in ("不满意", "非常不满意") else ""))
        self.step("上门服务终端回到A站（局域网），把上门办件交给A站；然后双方各自断开")
        self.sync_http(self.field)
        field_case = self.cases["黄德明 参保登记（上门服务，缺参保登记表）"]
        self.step("同一字段两处同时修改：申请人在A站改了电话，又打电话给上门服务员报了另一个号码")
        self.a.run("case", "edit", field_case, "--set", "phone=13905910001", "--reason", "申请人到站更正", staff=CLERK)
        self.field.run("case", "edit", field_case, "--set", "phone=13705910002", "--reason", "申请人来电更正",
                       staff="上门服务员")
        self.note("A站：电话改为 13905910001；上门服务终端：电话改为 13705910002（两边都还没同步）")
        self.step("申请人补交参保登记表，A站补正后受理（上门服务开始的办件在站点继续办理，仍是同一件）")
        got = self.a.run("case", "correct", field_case, "--material", f"cbdjb={scans['参保登记表-黄德明']}",
                         staff=CLERK)
        self.notices += [(self.a, path) for path in got["notice_files"]]
        self.note(f"A站：{got['status_name']}")
        self.step("县级平台发布目录第2版（B站此时不在线）")
        path, change = samples.catalog_release_2(self.files)
        release = self.county.run("catalog", "publish", str(path), staff=COUNTY_ADMIN)
        self.note(f"第 {release['version']} 版：{change}")

    def evening(self) -> None:
        self.step("傍晚：联网恢复。A站、上门服务终端联网同步，B站仍用U盘；县级再汇聚到省级平台")
        self.sync_http(self.field)
        self.sync_http(self.a)
        self.sync_usb(self.b)
        self.sync_http(self.county)
        self.step("冲突：同一字段的并发修改成为一条冲突记录，两个值都保留，由工作人员核实后处理")
        listed = self.a.run("conflicts", "list", staff=CLERK)["conflicts"]
        self.conflicts_found = listed
        for c in listed:
            values = " / ".join(str(v.get("value")) for v in c.get("values", []))
            self.note(f"{c['case_no'] if 'case_no' in c else c['case_id']} 字段 {c['field']}：{values}")
            self.a.run("conflicts", "resolve", c["case_id"], c["field"], "--value", "13905910001", staff=CLERK)
            self.note("A站代办员电话核实后选定 13905910001")
        self.step("县级平台对林秀英的参保登记作出准予决定，决定下发到A站")
        self.county.run("case", "decide", self.cases["林秀英 参保登记（材料齐全）"], "--approve", staff="县人社局审核员")
        for _ in range(2):  # relays settle: field <- A <- county -> province
            self.sync_http(self.a)
            self.sync_http(self.field)
            self.sync_usb(self.b)
            self.sync_http(self.county)

    def evaluations_at(self, node: DemoNode) -> int:
        return sum(len(node.run("case", "show", case_id, staff=ADMIN).get("evaluations", []))
                   for case_id in self.cases.values())

    def summary(self, seconds: float) -> dict[str, Any]:
        self.step("离线核验每一份盖章文书（不需要网络）")
        verified = []
        for node, path in self.notices:
            got = node.run("seal", "verify", path, staff=CLERK)
            verified.append({"node": node.key, "file": Path(path).name, "valid": bool(got.get("valid"))})
            self.note(f"{node.key} {Path(path).name}：{'有效' if got.get('valid') else '无效'}")
        digests = {key: node.run("sync", "digest", "--per-case", staff=ADMIN) for key, node in self.nodes.items()}
        county = digests[self.county.key]
        mismatched = [f"{key}:{case}" for key, d in digests.items() for case, value in d["per_case"].items()
                      if county["per_case"].get(case) != value]
        nodes = {key: {"cases": d["cases"], "events": d["events"], "digest": d["digest"],
                       "catalog_version": d["catalog_version"], "scans": scans_held(self.nodes[key]),
                       **self.sent[key]} for key, d in digests.items()}
        open_conflicts = len(self.a.run("conflicts", "list", staff=CLERK)["conflicts"])
        at_province = self.evaluations_at(self.province)
        checks = {"digests_equal": not mismatched and digests[self.province.key]["digest"] == county["digest"],
                  "notices_valid": all(v["valid"] for v in verified), "conflicts_resolved": open_conflicts == 0,
                  "evaluations_at_province": at_province == self.evaluations,
                  "scans_at_county_not_province": nodes[self.county.key]["scans"] == self.scans_taken
                  and nodes[self.province.key]["scans"] == 0}
        result = {"ok": all(checks.values()), "checks": checks, "seconds": round(seconds, 1), "nodes": nodes,
                  "conflicts_found": len(self.conflicts_found), "conflicts_open": open_conflicts,
                  "notices": verified, "evaluations": {"given": self.evaluations, "at_province": at_province},
                  "mismatched_cases": mismatched, "root": str(self.root)}
        self.step("小结")
        for key, n in nodes.items():
            catalog = f"目录第 {n['catalog_version']} 版" if n["catalog_version"] else "（不收目录）"
            self.say(f"   {key:6} 办件 {n['cases']:2} 件  事件 {n['events']:3} 条  扫描件 {n['scans']:2} 份  {catalog}  "
                     f"发出 {n['packets']:3} 包 {n['bytes']:8} 字节  状态摘要 {n['digest'][:12]}")
        self.say(f"   好差评：给出 {self.evaluations} 条，省级平台收到 {result['evaluations']['at_province']} 条")
        self.say(f"   冲突：发现 {result['conflicts_found']} 条，已处理，未处理 {open_conflicts} 条；"
                 f"盖章文书 {len(verified)} 份全部离线核验{'有效' if all(v['valid'] for v in verified) else '（有无效！）'}")
        self.say("   各节点共有办件的状态摘要一致，县级与省级的全部办件摘要一致；扫描件全部到达县级，未送省级"
                 if result["ok"] else f"   未通过的检查：{[k for k, v in checks.items() if not v]}；不一致的办件：{mismatched}")
        return result


MARKER = ".edgenode-demo"


def scans_held(node: DemoNode) -> int:
    """Scans in the node's content-addressed blob store (edgenode/blobs.py: blobs/<2 hex>/<sha256>)."""
    return sum(1 for path in node.home.glob("blobs/??/*") if len(path.name) == 64)


def run_demo(keep: Path | None, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the story in `keep` (see `prepare_keep`) or in a temporary folder removed afterwards."""
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="edgenode-demo-") as folder:
            return Demo(Path(folder), say).run()
    return Demo(prepare_keep(keep), say).run()


def prepare_keep(keep: Path) -> Path:
    """An empty folder, or the one a previous demo left (emptied: the demo is idempotent); never anything else."""
    keep = keep.absolute()
    if keep.exists() and any(keep.iterdir()):
        if not (keep / MARKER).is_file():
            raise DemoError("NODE_015", f"文件夹 {keep} 不是空的，也不是上次演示留下的，演示不会改动它",
                            hint="请指定一个新的或空的文件夹")
        shutil.rmtree(keep)
    keep.mkdir(parents=True, exist_ok=True)
    (keep / MARKER).write_text("edgenode demo\n", encoding="utf-8")
    return keep
