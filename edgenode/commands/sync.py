"""`edgenode sync …`: status, peers and node cards, export/import by folder (USB), the inbox watcher, and
packets set aside; plus `edgenode catalog publish` and the signed-release rule of `edgenode catalog import`.

The catalog commands live in the catalog group (edgenode/commands/catalog.py); this module adds `publish`
and wraps `import` there when it is loaded, because both belong to signed releases (ADR 0010).
"""

from __future__ import annotations

from pathlib import Path

import click

from edgenode.commands import catalog as catalog_commands
from edgenode.commands.node import CliContext, emit, json_option


@click.group()
def sync() -> None:
    """同步：与县级平台、省级平台、上门服务终端交换数据（联网或U盘），查看同步状态与被搁置的数据包。"""


def _print_status(d: dict) -> None:
    click.echo(f"本节点 {d['node_id']}（{d['role']}），目录第 {d['catalog_version']} 版，剩余办件编号 {d['case_numbers_left']} 个")
    for p in d["peers"]:
        skew = "" if p["clock_skew_seconds"] is None else f"，时钟差 {p['clock_skew_seconds']} 秒"
        age = "" if p["oldest_pending_age_seconds"] is None else f"，最早的已等待 {p['oldest_pending_age_seconds'] // 60} 分钟"
        click.echo(f"  {p['relation']:8} {p['node_id']} {p['name']}：上次联系 {p['last_contact'] or '从未'}{skew}；"
                   f"待发 {p['packets_pending']} 包 {p['bytes_pending']} 字节{age}"
                   + (f"；待传扫描件 {p['blobs_pending']} 份 {p['blob_bytes_pending']} 字节" if p.get("blobs_pending") else ""))
        for r in p["refused_incoming"]:
            click.echo(f"      搁置（收）{r['packet_id']} 第 {r['seq']} 包：{r['reason_code']} {r['reason'] or ''}")
        for r in p["refused_outgoing"]:
            click.echo(f"      被拒（发）{r['packet_id']} 第 {r['seq']} 包：{r['reason_code']}")
    for warning in d["warnings"]:
        click.echo(f"注意：{warning}")


@sync.command("status")
@json_option
@click.pass_obj
def status_(obj: CliContext, as_json: bool) -> None:
    """每个同步对象：上次联系、待发数据包和字节数、最早待发的时长、时钟差、被拒或搁置的数据包及原因。

    \b
    例：edgenode sync status --json
    """
    from edgenode.replication import engine

    with obj.open_node() as node:
        data = engine.status(node)
    emit(data, as_json, _print_status)


@sync.command("peers")
@json_option
@click.pass_obj
def peers_(obj: CliContext, as_json: bool) -> None:
    """列出同步对象（上级、下级及其来源）。

    \b
    例：edgenode sync peers --json
    """
    from edgenode.replication import peers

    with obj.open_node() as node:
        rows = [{k: r[k] for k in ("node_id", "role", "division", "name", "relation", "url", "source", "last_contact")}
                for r in peers.all_rows(node)]
    emit({"peers": rows}, as_json, lambda d: [click.echo(f"{r['relation']:8} {r['node_id']} {r['name']}（{r['role']}，"
                                                          f"来源 {r['source']}）{r['url'] or ''}") for r in d["peers"]])


@sync.command("card")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="名片文件的保存位置。")
@click.option("--url", help="本节点同步服务的地址（如 http://10.1.2.3:8470），写入名片。")
@json_option
@click.pass_obj
def card(obj: CliContext, out: str, url: str | None, as_json: bool) -> None:
    """导出本节点名片（节点编号、角色、公钥、节点证书，本节点签名），交对方用 sync peer add 登记。

    \b
    例：edgenode sync card --out 起步镇上长治村.card --url http://192.168.1.20:8470
    """
    from edgenode.replication.peers import own_card
    from seals.keys import key_fingerprint

    with obj.open_node() as node:
        Path(out).write_bytes(own_card(node, url=url))
        data = {"file": out, "node_id": node.config.node_id,
                "fingerprint": key_fingerprint(node.keys.signing_public_raw())}
    emit(data, as_json, lambda d: click.echo(f"已导出名片 {d['file']}；请把密钥指纹 {d['fingerprint']} 告知对方核对"))


@sync.group()
def peer() -> None:
    """登记同步对象。"""


@peer.command("add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--fingerprint", help="对方读出的密钥指纹（名片不是本县CA签发的证书所证明时必填）。")
@click.option("--url", help="对方同步服务的地址。")
@json_option
@click.pass_obj
def peer_add(obj: CliContext, file: str, fingerprint: str | None, url: str | None, as_json: bool) -> None:
    """登记对方的名片：本县CA签发的节点证书直接登记；否则须核对密钥指纹。

    \b
    例：edgenode sync peer add 省级平台.card --fingerprint 5a1b2c3d4e5f6a7b --url https://sync.fj.gov.cn
    """
    from edgenode.replication.peers import add_card

    with obj.open_node() as node:
        data = add_card(node, Path(file).read_bytes(), fingerprint=fingerprint, url=url, staff=obj.staff_name)
    emit(data, as_json, lambda d: click.echo(f"已登记 {d['node_id']} {d['name']}（{d['role']}，{d['relation']}，"
                                             f"依据：{'县级CA证书' if d['trusted_by'] == 'ca' else '核对的指纹'}）"))


@peer.command("url")
@click.argument("node_id")
@click.argument("url")
@json_option
@click.pass_obj
def peer_url(obj: CliContext, node_id: str, url: str, as_json: bool) -> None:
    """设置同步对象的地址（"-" 表示清除）。

    \b
    例：edgenode sync peer url 350123-5a1b2c http://10.1.2.3:8470
    """
    from edgenode.replication.peers import set_url

    with obj.open_node() as node:
        set_url(node, node_id, None if url == "-" else url, staff=obj.staff_name)
    emit({"node_id": node_id, "url": None if url == "-" else url}, as_json,
         lambda d: click.echo(f"已设置 {d['node_id']} 的地址"))


@sync.command("now")
@click.option("--peer", "peer_ids", multiple=True, help="只与该上级节点同步（可多次使用）；默认所有设置了地址的上级。")
@json_option
@click.pass_obj
def now(obj: CliContext, peer_ids: tuple[str, ...], as_json: bool) -> None:
    """立即与上级节点同步一轮（联网）：发出待发数据包，取回下发的数据包。连不上的上级报告原因，不影响其他上级。

    \b
    例：edgenode sync now --json
    """
    from edgenode.replication import engine
    from edgenode.replication.loop import open_transport, sync_once
    from sync.errors import SyncError

    results = []
    with obj.open_node() as node:
        chosen = [p for p in engine.upstreams(node) if p.url and (not peer_ids or p.node_id in peer_ids)]
        for peer in chosen:
            entry = {"peer": peer.node_id, "role": peer.role, "ok": True, "sent": 0, "pulled": 0, "requests": 0}
            try:
                with open_transport(node, peer) as transport:
                    got = sync_once(node, engine, peer, transport)
                    entry.update(sent=got.sent, pulled=got.pulled, requests=got.requests,
                                 bytes_sent=transport.bytes_sent)
            except SyncError as exc:
                entry.update(ok=False, code=exc.code, error=exc.message)
            results.append(entry)
    data = {"upstreams": results}
    emit(data, as_json, lambda d: [click.echo(
        f"{r['peer']}（{r['role']}）：" + (f"发出 {r['sent']} 包，取回 {r['pulled']} 包，{r['requests']} 次请求"
                                         if r["ok"] else f"未连通 {r['code']} {r['error']}"))
        for r in d["upstreams"]] or click.echo("没有设置了地址的上级节点（可用 edgenode sync peer url 设置）"))


@sync.command("digest")
@click.option("--per-case", is_flag=True, help="同时列出每个办件的摘要。")
@json_option
@click.pass_obj
def digest(obj: CliContext, per_case: bool, as_json: bool) -> None:
    """本节点共享状态的摘要：每个办件的事件集合、全部办件、目录版本。同步完成后，同一办件在各节点的摘要相同。

    \b
    例：edgenode sync digest --per-case --json
    """
    from edgenode.replication.drift import state_digest

    with obj.open_node() as node:
        data = state_digest(node, per_case=per_case)
    emit(data, as_json, lambda d: click.echo(f"{d['digest']}（办件 {d['cases']} 件，事件 {d['events']} 条，"
                                             f"目录第 {d['catalog_version']} 版）"))


@sync.command("export")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--peer", "peer_ids", multiple=True, help="只导出发给该节点的数据包（可多次使用）；默认全部上级和下级。")
@json_option
@click.pass_obj
def export(obj: CliContext, folder: str, peer_ids: tuple[str, ...], as_json: bool) -> None:
    """把待发数据包写入文件夹（如U盘）：<序号>-<数据包编号>.enpkt 及 manifest.json。

    \b
    例：edgenode sync export /media/usb/edgenode --json
    """
    from edgenode.replication.folder import export as do_export

    with obj.open_node() as node:
        data = do_export(node, folder, peer_ids=peer_ids)
    emit(data, as_json, lambda d: [click.echo(f"发给 {p['peer']}（{p['role']}）：{p['packets']} 个数据包，{p['bytes']} 字节")
                                   for p in d["peers"]] or click.echo("没有待发的数据包"))


def _print_import(d: dict) -> None:
    click.echo(f"收到的数据包：{d['packets'] or '无'}；回执：{d['receipts'] or '无'}；"
               f"其他节点的数据包 {d['other_nodes']} 个（未动）")
    for r in d["refused"]:
        click.echo(f"  搁置：{r['file']}（{r['code']}）")
    for e in d["errors"]:
        click.echo(f"  错误：{e['file']}（{e['code']}）{e['error']}")
    if d.get("reply"):
        click.echo(f"已写入回复的数据包 {d['reply']['packets']} 个")


@sync.command("import")
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--reply", is_flag=True, help="导入后把发给这些发送方的待发数据包也写入该文件夹。")
@json_option
@click.pass_obj
def import_(obj: CliContext, folder: str, reply: bool, as_json: bool) -> None:
    """导入文件夹中发给本节点的数据包（回执写回同一文件夹，.enrcpt），并处理其中本节点数据包的回执。

    \b
    例：edgenode sync import /media/usb/edgenode --reply --json
    """
    from edgenode.replication.folder import import_folder

    with obj.open_node() as node:
        data = import_folder(node, folder, reply=reply)
    emit(data, as_json, _print_import)


@sync.command("watch")
@click.argument("folder", type=click.Path(file_okay=False), required=False)
@click.option("--settle", type=click.FloatRange(0.1, 60), default=2.0, show_default=True,
              help="文件大小保持不变多少秒后才导入。")
@json_option
@click.pass_obj
def watch(obj: CliContext, folder: str | None, settle: float, as_json: bool) -> None:
    """监视收件文件夹（默认 节点目录/inbox），放入的数据包和回执在拷贝完成后自动导入。Ctrl+C 结束。

    \b
    例：edgenode sync watch /srv/edgenode/inbox --json
    """
    import threading

    from edgenode.replication.folder import take_file
    from sync.watcher import InboxWatcher

    with obj.open_node() as node:
        target = Path(folder) if folder else node.home / "inbox"

        def handle(path: Path) -> None:
            report = take_file(node, path)
            emit({"file": path.name, **report}, as_json, lambda d: click.echo(
                f"{d['file']}：{d['packets'] or d['receipts'] or d['errors'] or '不是本节点的'}"))

        if not as_json:
            click.echo(f"正在监视 {target}（Ctrl+C 结束）")
        watcher = InboxWatcher(target, handle, settle_seconds=settle)
        watcher.start()
        try:
            watcher.loop(threading.Event())
        except KeyboardInterrupt:
            pass
        finally:
            watcher.stop()


@sync.group()
def refused() -> None:
    """被搁置（收到的）或被对方拒收（发出的）数据包：查看，处理后放行。"""


@refused.command("list")
@json_option
@click.pass_obj
def refused_list(obj: CliContext, as_json: bool) -> None:
    """列出被搁置和被拒收的数据包及原因。

    \b
    例：edgenode sync refused list --json
    """
    from edgenode.replication.status import refused as listing

    with obj.open_node() as node:
        data = listing(node)

    def human(d: dict) -> None:
        if not d["incoming"] and not d["outgoing"]:
            click.echo("没有被搁置或被拒收的数据包")
        for r in d["incoming"]:
            click.echo(f"收 {r['packet_id']} 来自 {r['sender']} 第 {r['seq']} 包 [{r['status']}] {r['reason_code']}：{r['reason'] or ''}")
        for r in d["outgoing"]:
            click.echo(f"发 {r['packet_id']} 给 {r['recipient']} 第 {r['seq']} 包 [{r['status']}] {r['reason_code']}")

    emit(data, as_json, human)


@refused.command("release")
@click.argument("packet_id")
@click.option("--dismiss", is_flag=True, help="不再应用该数据包（仍保留），须用 --note 说明原因。")
@click.option("--note", default="", help="处理说明。")
@json_option
@click.pass_obj
def refused_release(obj: CliContext, packet_id: str, dismiss: bool, note: str, as_json: bool) -> None:
    """放行：收到的被搁置数据包重新应用（如已校准时钟、已导入目录）；发出的被拒数据包的内容重新发送。

    \b
    例：edgenode sync refused release 0193a1b2-…
        edgenode sync refused release 0193a1b2-… --dismiss --note 重复数据，已核实
    """
    from edgenode.replication import ReplicationError, inbox

    if dismiss and not note.strip():
        raise ReplicationError("REPL_032", "不再应用数据包须说明原因", hint="请加 --note 说明，如 --note 重复数据，已核实")
    with obj.open_node() as node:
        outgoing = node.store.query_one("SELECT 1 FROM repl_outbox WHERE packet_id = ?", (packet_id,))
        if dismiss:
            data = inbox.dismiss(node, packet_id, note=note.strip(), staff=obj.staff_name)
        elif outgoing is not None:
            data = inbox.requeue(node, packet_id, staff=obj.staff_name)
        else:
            data = inbox.release(node, packet_id, staff=obj.staff_name)
    emit(data, as_json, lambda d: click.echo(
        "已标记为不再应用（保留）" if d.get("dismissed") else "已重新排队发送" if d.get("requeued")
        else "已应用" if d.get("applied") else f"仍无法应用：{d.get('reason_code')}"))


# -- catalog: publish signed releases, import only signed ones once enrolled -------------------------------
@click.command("publish")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), help="另存一份签名发布包（.enrel），供U盘带到站点。")
@json_option
@click.pass_obj
def publish(obj: CliContext, file: str, out: str | None, as_json: bool) -> None:
    """（县级）发布目录：校验后用本县平台节点密钥签名，同步时下发到各站点。

    \b
    例：edgenode catalog publish 罗源县事项目录-v13.json --out v13.enrel --json
    """
    from edgenode.replication.releases import publish as do_publish, release_file

    with obj.open_node() as node:
        data = do_publish(node, file, staff=obj.staff_name)
    if out:
        Path(out).write_bytes(release_file(data["release"]))
    data = {k: v for k, v in data.items() if k != "release"} | {"file": out}
    emit(data, as_json, lambda d: click.echo(f"已发布目录第 {d['version']} 版（{d['items']} 项），同步时下发"
                                             + (f"；发布包已存为 {d['file']}" if d["file"] else "")))


_plain_import = catalog_commands.catalog.commands["import"]


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--unsigned-override", is_flag=True,
              help="（节点管理员）导入未经县级签名的目录文件；会记入审计日志。")
@json_option
@click.pass_context
def catalog_import(ctx: click.Context, file: str, unsigned_override: bool, as_json: bool) -> None:
    """导入目录：县级签名的发布包（.enrel），或目录文件（登记后的站点须加 --unsigned-override）。
    有任何错误则整份不导入；旧版本不会覆盖新版本。

    \b
    例：edgenode catalog import 罗源县事项目录-v13.enrel --json
    """
    from edgenode.replication.releases import import_file, read_release_file, requires_signed

    obj: CliContext = ctx.obj
    path = Path(file)
    signed = path.is_file() and read_release_file(path.read_bytes()) is not None
    with obj.open_node() as node:
        plain_ok = not signed and not requires_signed(node)
        if not plain_ok:
            data = import_file(node, path, staff=obj.staff_name, unsigned_override=unsigned_override)
    if plain_ok:  # an unenrolled node: the catalog command as it always was
        ctx.invoke(_plain_import, file=file, as_json=as_json)
        return
    emit(data, as_json, lambda d: click.echo(
        f"已导入目录第 {d['version']} 版（{'县级签名' if d['signed'] else '未签名，已记入审计'}）"))


catalog_commands.catalog.add_command(publish)
catalog_commands.catalog.add_command(catalog_import)

COMMANDS = [sync]
