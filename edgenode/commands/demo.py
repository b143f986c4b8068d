"""`edgenode demo`: the whole story on one machine (edgenode/demo/scenario.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edgenode.commands.node import json_option


@click.command()
@click.option("--keep", "keep", type=click.Path(file_okay=False), default=None,
              help="把五个节点保留在该文件夹中供查看（重复运行时重建该文件夹；只接受空文件夹或上次演示的文件夹）。")
@json_option
def demo(keep: str | None, as_json: bool) -> None:
    """演示：县级平台、省级平台、两个村（社区）便民服务站和一台上门服务终端，各自独立的进程和数据库，
    在本机 127.0.0.1 上以真实的 HTTP（一个站点用U盘文件夹）完成一天的工作，最后各节点状态一致。

    \b
    例：edgenode demo
        edgenode demo --keep ./demo-nodes --json
    """
    from edgenode.demo.scenario import DEMO_PASSWORD, run_demo

    result = run_demo(Path(keep) if keep else None, (lambda _text: None) if as_json else click.echo)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    elif keep:
        click.echo(f"\n节点保留在 {result['root']}。打开A站的网页界面：\n"
                   f"  edgenode --home {result['root']}/station-a serve\n"
                   f"然后在浏览器中打开显示的地址，以 lin（代办员）或 admin（管理员）登录，密码 {DEMO_PASSWORD}；"
                   f"县级平台：edgenode --home {result['root']}/county serve，账号 county")
    else:
        click.echo("\n演示节点已清理。要保留节点并打开站点网页界面查看：edgenode demo --keep ./demo-nodes")
    if not result["ok"]:
        raise SystemExit(1)


COMMANDS = [demo]
