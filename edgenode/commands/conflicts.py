"""`edgenode conflicts …` (list and resolve what replicas did concurrently) and `edgenode case edit`.

`case edit` belongs to the case group but lives here with the conflicts it can cause: importing this
module adds it to the group from edgenode/commands/case.py (`case.add_command(edit)`), and cli.py
imports this module with the others, so the command is always there.
"""

from __future__ import annotations

import json
from typing import Any

import click

from edgenode.commands.case import _run, case
from edgenode.commands.node import CliContext, emit, json_option

KIND_NAMES = {"field": "申请表字段", "material": "材料", "decision": "决定", "evaluation": "评价"}
VALUE_HINTS = {"field": "正确的值", "material": "扫描件SHA-256前8位", "decision": "生效的决定", "evaluation": "计入的评价等级"}


@click.group()
def conflicts() -> None:
    """冲突：两处（如服务站与县级、或上门服务终端）在互不知情时对同一办件作了不同修改。"""


def _show_value(kind: str, value: Any) -> str:
    if kind == "material" and isinstance(value, dict):
        scan = f"扫描件 {str(value['blob'])[:12]}… {value.get('filename') or ''}".strip() if value.get("blob") else ""
        return f"{value.get('state')} {scan}".strip()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return "（空）" if value is None else str(value)


def _print_conflicts(d: dict[str, Any]) -> None:
    if not d["conflicts"]:
        click.echo("（没有待处理的冲突）")
    for c in d["conflicts"]:
        state = "已处理" if c["resolved"] else "待处理"
        click.echo(f"办件 {c['case_no']}  {c['item']}  {KIND_NAMES.get(c['kind'], c['kind'])} {c['field']}（{state}）")
        for v in c["values"]:
            mark = "→" if v["current"] else " "
            role = f" [{v['by_role']}]" if v.get("by_role") else ""
            click.echo(f"  {mark} {_show_value(c['kind'], v['value'])}  —— {v['author_staff']} @ {v['author_node']}{role}"
                       f"  {v['hlc'][:13]}")
        if c["kind"] == "decision":
            click.echo("  以权限更高（或同级中更早）的决定为准" + ("；已出件的是被取代的决定，请告知申请人" if c.get("stale_handover") else ""))
        if c["kind"] == "evaluation":
            click.echo("  同一次服务只计一条评价：以先作出的评价为准，其余保留备查；评价不能修改，确认即可")
        if not c["resolved"]:
            value = VALUE_HINTS.get(c["kind"], "正确的值")
            click.echo(f"  处理：edgenode conflicts resolve {c['case_no']} {c['field']} --value {value}")


@conflicts.command("list")
@click.option("--all", "include_resolved", is_flag=True, help="也列出已处理的冲突。")
@json_option
@click.pass_obj
def list_(obj: CliContext, include_resolved: bool, as_json: bool) -> None:
    """列出所有办件中待处理的冲突，每个冲突列出各方的值、修改人和节点。

    \b
    例：edgenode conflicts list
        edgenode conflicts list --all --json
    """
    from edgenode.cases.edits import list_conflicts

    with obj.open_node() as node:
        found = list_conflicts(node, include_resolved=include_resolved)
    emit({"conflicts": found}, as_json, _print_conflicts)


@conflicts.command("resolve")
@click.argument("case_ref", metavar="CASE")
@click.argument("field", metavar="FIELD")
@click.option("--value", required=True, help="选定的值：字段的正确值；材料为扫描件 SHA-256（至少前8位）；决定为生效决定的结果；"
              "评价为计入的（先作出的）评价等级。")
@json_option
@click.pass_obj
def resolve(obj: CliContext, case_ref: str, field: str, value: str, as_json: bool) -> None:
    """处理一个冲突：由工作人员核实后选定正确的值（记入审计日志）。

    \b
    例：edgenode conflicts resolve 350123102206-a3f9c1-2026000001 phone --value 13805912345
        edgenode conflicts resolve CASE material:sfz --value 3fa2c9d1
        edgenode conflicts resolve CASE case:decision --value denied
    """
    from edgenode.cases.edits import resolve_conflict

    _run(obj, as_json, lambda node: resolve_conflict(node, case_ref, field, value, obj.staff_name), events=True)


def _assignments(sets: tuple[str, ...], json_sets: tuple[str, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for raw, parse in [(s, False) for s in sets] + [(s, True) for s in json_sets]:
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"“{raw[:60]}”应写成 字段名=值", param_hint="--set")
        if parse:
            try:
                fields[name.strip()] = json.loads(value)
            except ValueError:
                raise click.BadParameter(f"“{value[:60]}”不是有效的 JSON", param_hint="--set-json") from None
        else:
            fields[name.strip()] = value
    return fields


@click.command("edit")
@click.argument("case_ref", metavar="CASE")
@click.option("--set", "sets", multiple=True, metavar="字段=值", help="要更正的申请表字段（可多次使用；值留空为清除）。")
@click.option("--set-json", "json_sets", multiple=True, metavar="字段=JSON", help="以 JSON 给出的值（如多选项列表）。")
@click.option("--reason", required=True, help="更正原因。")
@click.option("--confirm", multiple=True, metavar="FIELD", help="已核对确认的字段（如校验位不符的统一社会信用代码）。")
@json_option
@click.pass_obj
def edit(obj: CliContext, case_ref: str, sets: tuple[str, ...], json_sets: tuple[str, ...], reason: str,
         confirm: tuple[str, ...], as_json: bool) -> None:
    """更正申请表字段（已办结的办件不能更正）；整张表按事项表单重新校验，只记录改动的字段。

    \b
    例：edgenode case edit CASE --set phone=13805912345 --reason 申请人更换手机号
        edgenode case edit CASE --set-json special_group='["低保对象"]' --reason 补填
    """
    from edgenode.cases.edits import edit_case_fields

    fields = _assignments(sets, json_sets)
    _run(obj, as_json, lambda node: edit_case_fields(node, case_ref, fields, reason, obj.staff_name,
                                                     confirmed=frozenset(confirm)), events=True)


case.add_command(edit)
COMMANDS = [conflicts]
