"""同步: per upstream status, 立即同步, USB export and import by folder path, packets set aside or refused.

The page lives at /sync (the sync API is under /sync/v1/, so the page's actions are /sync-now, /sync-usb and
/packets/<id>, never under /sync/). Folder paths typed by staff go through `checked_folder` first: an absolute
path to an existing directory, no `..`, nothing inside the node's own home (where the database and keys live).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from flask import g, redirect, render_template, request

from edgenode.web import auth
from edgenode.web.ui import blueprint

MESSAGES = {"released": "数据包已重新应用", "still": "数据包仍无法应用，保持搁置", "dismissed": "已标记为不再应用（数据包仍保留）",
            "requeued": "已重新排队，下次同步时重新发送其内容"}
MAX_PATH = 1024


def _refused(code: str, message: str, hint: str | None = None) -> auth.PageError:
    return auth.PageError(400, code, message, hint=hint)


def checked_folder(text: str, home: Path) -> Path:
    """The folder an admin typed, or WEB_080..WEB_085: absolute, existing directory, no `..`, not the home."""
    text = (text or "").strip()
    if not text:
        raise _refused("WEB_080", "请填写文件夹路径", "如 /media/usb/edgenode（U盘插入后的文件夹）")
    if len(text) > MAX_PATH or any(unicodedata.category(c) == "Cc" for c in text):
        raise _refused("WEB_081", "文件夹路径过长或含有不可见字符", "请重新输入路径")
    path = Path(text)
    if not path.is_absolute():
        raise _refused("WEB_082", "请填写完整的文件夹路径（以 / 开头）", "如 /media/usb/edgenode")
    if ".." in path.parts:
        raise _refused("WEB_083", "文件夹路径中不能含有“..”", "请直接填写U盘上文件夹的完整路径")
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise _refused("WEB_084", "该文件夹不存在", "请检查U盘是否插好、路径是否正确") from None
    if not real.is_dir():
        raise _refused("WEB_084", "该路径不是文件夹", "请填写文件夹的路径，不是文件")
    own = home.resolve()
    if real == own or own in real.parents:
        raise _refused("WEB_085", "不能使用本节点数据目录中的文件夹", "请使用U盘上的文件夹")
    return real


def _size(n: int | None) -> str:
    n = n or 0
    if n < 1024:
        return f"{n} 字节"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def _age(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(seconds, 0) // 60} 分钟"
    if seconds < 86400:
        return f"{seconds // 3600} 小时"
    return f"{seconds // 86400} 天"


def _page(status: int = 200, **extra: Any):
    from edgenode.replication.status import refused, status as sync_status
    from edgenode.web.ui import _link_state

    node = g.node
    data = sync_status(node)
    lists = refused(node)
    return render_template("sync.html", data=data, upstream=[p for p in data["peers"] if p["relation"] == "upstream"],
                           others=[p for p in data["peers"] if p["relation"] != "upstream"], link=_link_state(node),
                           incoming=lists["incoming"][-50:], outgoing=lists["outgoing"][-50:], size=_size, age=_age,
                           message=extra.pop("message", MESSAGES.get(request.args.get("msg", ""))),
                           form=extra.pop("form", {}), **extra), status


@blueprint.route("/sync")
@auth.requires("sync.view")
def sync():
    return _page()


@blueprint.route("/sync-now", methods=["POST"])
@auth.requires("sync.usb")
def sync_now():
    """立即同步: one round with each upstream that has an address (as `edgenode sync now`)."""
    from edgenode.replication.loop import open_transport, sync_once
    from edgenode.web.app import state
    from sync.errors import SyncError

    node, engine = g.node, state().engine
    results = []
    for peer in [p for p in engine.upstreams(node) if p.url]:
        entry: dict[str, Any] = {"peer": peer.node_id, "ok": True, "sent": 0, "pulled": 0}
        try:
            with open_transport(node, peer) as transport:
                got = sync_once(node, engine, peer, transport)
                entry.update(sent=got.sent, pulled=got.pulled)
        except SyncError as exc:
            entry.update(ok=False, code=exc.code, error=exc.message)
        except OSError:
            entry.update(ok=False, code="WEB_086", error="无法连接上级节点")
        results.append(entry)
    with node.store.write():
        node.record(g.staff["login"], "sync.now", detail={"upstreams": [
            {k: r[k] for k in ("peer", "ok", "sent", "pulled")} | ({"code": r["code"]} if not r["ok"] else {})
            for r in results]})
    if not results:
        return _page(400, error="没有设置了地址的上级节点，无法联网同步", error_code="WEB_087",
                     hint="可用U盘导出和导入；或由管理员用 edgenode sync peer url 设置上级地址")
    failed = [r for r in results if not r["ok"]]
    text = "；".join(f"{r['peer']}：发出 {r['sent']} 包，取回 {r['pulled']} 包" if r["ok"]
                    else f"{r['peer']}：未连通（{r['code']}）{r['error']}" for r in results)
    if failed:
        return _page(200, error="部分上级未连通：" + text, error_code=failed[0]["code"])
    return _page(200, message="同步完成：" + text)


@blueprint.route("/sync-usb", methods=["POST"])
@auth.requires("sync.usb")
def sync_usb():
    """U盘: export pending packets to a folder, or import a folder's packets and receipts."""
    from edgenode.replication.folder import export, import_folder

    node = g.node
    op = request.form.get("op", "")
    typed = request.form.get("folder", "")[:MAX_PATH + 1]
    form = {"folder": typed[:MAX_PATH]}
    if op not in ("export", "import"):
        return _page(400, form=form, error="请选择导出或导入", error_code="WEB_088")
    try:
        folder = checked_folder(typed, node.home)
    except auth.PageError as exc:
        return _page(400, form=form, error=exc.message, error_code=exc.code, hint=exc.hint)
    if op == "export":
        report = export(node, folder)
        with node.store.write():
            node.record(g.staff["login"], "sync.export", detail={"packets": report["packets"],
                                                                 "peers": [p["peer"] for p in report["peers"]]})
        parts = [f"{p['peer']}：{p['packets']} 个数据包，{_size(p['bytes'])}" for p in report["peers"]]
        return _page(200, form=form, message=f"已导出到 {folder}：" + ("；".join(parts) if report["packets"]
                                                                        else "没有待发的数据包"))
    report = import_folder(node, folder, reply=request.form.get("reply") == "1")
    taken = sum(report["packets"].values()) if isinstance(report["packets"], dict) else len(report["packets"])
    receipts = sum(report["receipts"].values()) if isinstance(report["receipts"], dict) else len(report["receipts"])
    with node.store.write():
        node.record(g.staff["login"], "sync.import", detail={"packets": taken, "receipts": receipts,
                                                             "refused": len(report["refused"]),
                                                             "errors": len(report["errors"])})
    text = (f"已从 {folder} 导入：数据包 {taken} 个，回执 {receipts} 个，其他节点的数据包 {report['other_nodes']} 个（未动）"
            + (f"；已写入回复的数据包 {report['reply']['packets']} 个" if report.get("reply") else ""))
    problems = [f"{r['file']}（{r['code']}）搁置" for r in report["refused"]]
    problems += [f"{e['file']}（{e['code']}）{e['error']}" for e in report["errors"]]
    if problems:
        return _page(200, form=form, message=text, error="以下文件未能应用：" + "；".join(problems[:20]),
                     error_code=(report["refused"] or report["errors"])[0]["code"])
    return _page(200, form=form, message=text)


@blueprint.route("/packets/<packet_id>", methods=["POST"])
@auth.requires("sync.release")
def packet_action(packet_id: str):
    """A set-aside incoming packet: release (apply again) or dismiss (with a note); a refused outgoing one: requeue."""
    from edgenode.replication import ReplicationError, inbox

    node, staff = g.node, g.staff["login"]
    packet_id = packet_id[:64]
    op = request.form.get("op", "")
    try:
        if op == "release":
            done = inbox.release(node, packet_id, staff=staff)
            return redirect(f"/sync?msg={'released' if done['applied'] else 'still'}", code=303)
        if op == "dismiss":
            note = request.form.get("note", "").strip()[:200]
            if not note:
                return _page(400, error="不再应用数据包须说明原因", error_code="WEB_089", hint="请在说明栏填写原因，如“重复数据，已核实”")
            inbox.dismiss(node, packet_id, note=note, staff=staff)
            return redirect("/sync?msg=dismissed", code=303)
        if op == "requeue":
            inbox.requeue(node, packet_id, staff=staff)
            return redirect("/sync?msg=requeued", code=303)
    except ReplicationError as exc:
        return _page(400, error=exc.message, error_code=exc.code, hint=exc.hint)
    return _page(400, error="请选择放行、不再应用或重新发送", error_code="WEB_088")
