"""The `edgenode` command line: the root group, and error translation in one place.

Each area contributes its own command group (edgenode/commands/). Errors raised on purpose by our
packages become one line of Chinese (or, with --json, `{"ok": false, "code", "errors"}`) and a non-zero
exit code; anything unexpected is written to a private log file and reported without a stack trace.
Heavy modules (pydantic, sqlite, cryptography) are imported inside commands, so `--help` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from datetime import datetime

import click

from edgenode.commands import case, catalog, conflicts, demo, node, seal, serve, sync

OUR_PACKAGES = {"edgenode", "forms", "seals", "sync"}
EXIT_ERROR, EXIT_INTERNAL = 1, 70


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--home", envvar="EDGENODE_HOME", type=click.Path(file_okay=False), default=None,
              help="节点目录（也可用环境变量 EDGENODE_HOME）。默认为当前目录下的 edgenode-home。")
@click.option("--staff", envvar="EDGENODE_STAFF", default=None,
              help="操作人员（写入审计日志；也可用 EDGENODE_STAFF）。")
@click.version_option("0.1.0", prog_name="edgenode")
@click.pass_context
def root(ctx: click.Context, home: str | None, staff: str | None) -> None:
    """edgenode：村(社区)便民服务站、乡镇便民服务中心与县级平台的离线优先节点。

    \b
    例：
      edgenode --home ./station init --role station --division 350123102201 --name 起步镇上楼村便民服务站
      edgenode --home ./station catalog import catalog.json
      edgenode --home ./station case receive --item CODE --form form.json --material m1=scan.pdf --json
    """
    ctx.obj = node.CliContext(home=home, staff=staff)


for group_module in (node, catalog, case, seal, conflicts, serve, sync, demo):
    for command in group_module.COMMANDS:
        root.add_command(command)
root.add_command(__import__("edgenode.commands.staff", fromlist=["staff"]).staff)  # web UI staff accounts


def _is_ours(exc: BaseException) -> bool:
    module = type(exc).__module__.split(".")[0]
    return module in OUR_PACKAGES and hasattr(exc, "code") and hasattr(exc, "message")


def _report(payload: dict, want_json: bool) -> None:
    if want_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    click.echo(f"错误 [{payload['code']}]：{payload['error']}", err=True)
    for line in payload.get("errors") or []:
        if line != payload["error"]:
            click.echo(f"  - {line}", err=True)
    if payload.get("hint"):
        click.echo(f"提示：{payload['hint']}", err=True)


def _write_crash_log() -> str:
    fd, path = tempfile.mkstemp(prefix="edgenode-error-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"{datetime.now().isoformat()} edgenode {' '.join(sys.argv[1:2])}\n")
        handle.write(traceback.format_exc())
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    want_json = "--json" in args
    try:
        root.main(args=args, prog_name="edgenode", standalone_mode=False)
        return 0
    except click.exceptions.Abort:
        click.echo("已取消", err=True)
        return EXIT_ERROR
    except click.ClickException as exc:
        if want_json:
            _report({"ok": False, "code": "CLI_001", "error": exc.format_message(), "errors": [exc.format_message()]}, True)
        else:
            exc.show()
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the one place foreign errors become a message
        if _is_ours(exc):
            payload = exc.to_dict() if hasattr(exc, "to_dict") else {
                "ok": False, "code": exc.code, "error": exc.message, "errors": [exc.message],
                "hint": getattr(exc, "hint", None)}
            _report(payload, want_json)
            return EXIT_ERROR
        path = _write_crash_log()
        _report({"ok": False, "code": "CLI_002", "error": f"内部错误（{type(exc).__name__}），未完成的操作不会留下部分数据",
                 "errors": [], "hint": f"详细信息已写入 {path}，请交给技术支持"}, want_json)
        return EXIT_INTERNAL


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
