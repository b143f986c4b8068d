"""`edgenode case …`: the counter, from receipt to hand-over."""

from __future__ import annotations

from typing import Any, Callable

import click

from edgenode.commands.node import CliContext, emit, json_option

material_option = click.option("--material", "materials", multiple=True, metavar="ID=FILE",
                               help="提交的材料扫描件（PDF/JPEG/PNG），可多次使用。")
elicence_option = click.option("--elicence", multiple=True, metavar="ID", help="以电子证照代替的材料（免提交）。")
tolerate_option = click.option("--tolerate", multiple=True, metavar="ID", help="容缺受理的材料（事后补交）。")
commit_option = click.option("--commit", "commits", multiple=True, metavar="ID", help="以告知承诺代替的材料。")
defective_option = click.option("--defective", multiple=True, metavar="ID=原因",
                                help="已提交但不符合要求的材料及原因，会列入一次性告知书。")


@click.group()
def case() -> None:
    """办件：收件、受理、一次性告知、补正、决定、出件。"""


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise click.BadParameter(f"“{value[:60]}”应写成 编号=…", param_hint=what)
        out[key.strip()] = rest.strip()
    return out


def _run(obj: CliContext, as_json: bool, action: Callable[[Any], Any], *, events: bool = False,
         issue: bool = True) -> None:
    from edgenode.cases.view import case_view

    with obj.open_node() as node:
        state = action(node)
        data = case_view(state, today=node.now().date(), calendar=node.calendar, full=events, now=node.now())
        if issue:
            data.update(_issue(node, state, obj.staff_name))
        if events:
            from edgenode.cases.service import load_events

            data["events"] = [e.to_dict() for e in load_events(node, state.case_id)]
    emit(data, as_json, _print_case)


def _issue(node: Any, state: Any, staff: str) -> dict[str, Any]:
    """Seal the case's new notices now; if the seal cannot be used, say why (the case step stands)."""
    import os

    from edgenode.cases.issuing import issue_after_step

    result = issue_after_step(node, state, staff=staff, pin=os.environ.get("EDGENODE_SEAL_PIN") or None)
    return {**result, "notice_files": [str(p) for p in result["notice_files"]],
            "notice_file": str(result["notice_file"]) if result["notice_file"] else None}


def _print_case(d: dict[str, Any]) -> None:
    from edgenode.cases.view import NOTICE_NAMES

    click.echo(f"办件 {d['case_no']}  {d['item']['name']}  申请人 {d['applicant']['name']}")
    status = d["status_name"] + ("（逾期未告知，视为受理）" if d["deemed"] else "")
    click.echo(f"  状态：{status}")
    if d["notice_kind"]:
        click.echo(f"  已出具：{NOTICE_NAMES[d['notice_kind']]}")
    for material in d["missing_materials"]:
        reason = f"（{material['reason']}）" if material.get("reason") else ""
        click.echo(f"  待补材料：[{material['id']}] {material['name']}{reason}")
    if d["deadline"]:
        kind = "告知期限" if d["deadline_kind"] == "notice" else "承诺办结日期"
        click.echo(f"  {kind}：{d['deadline']}" + ("（暂定）" if d["deadline_provisional"] else ""))
    if d.get("deadline_note"):
        click.echo(f"  {d['deadline_note']}")
    for path in d.get("notice_files") or []:
        click.echo(f"  盖章文书：{path}")
    if d.get("notice_error"):
        click.echo(f"  文书暂未盖章：{d['notice_error']['message']}（办件已记录，可稍后用 edgenode case notice 补出）")
    _print_evaluations(d)
    for event in d.get("events", []):
        click.echo(f"  · {event['hlc'][:13]} {event['type']} by {event['author_staff']}")


def _print_evaluations(d: dict[str, Any]) -> None:
    from edgenode.cases.view import VISIT_NAMES

    for e in d.get("evaluations") or []:
        extra = "" if e["counted"] else "（与另一处同时作出的评价冲突，不计入）"
        click.echo(f"  评价：{e['level']}（代码 {e['code']}，{e['code_system']}）  {VISIT_NAMES.get(e['visit_kind'], e['visit_kind'])}后"
                   f"  申请人本人经{e['channel']}评价，{e['recorded_by']} 记录  {str(e['given_at'])[:16]}{extra}")
        if e.get("comment"):
            click.echo(f"    内容：{e['comment']}")
        if e["bad"]:
            done = e["followed_up"]
            click.echo(f"    差评回访：{'已于 ' + done['on'] + ' 回访' if done else '须于 ' + e['follow_up_due'] + ' 前回访核实'}"
                       + ("（逾期）" if e.get("follow_up_overdue") else ""))
            done = e["rectified"]
            click.echo(f"    整改报告：{'已于 ' + done['on'] + ' 报告' if done else '须于 ' + e['rectification_due'] + ' 前报告整改'}"
                       + ("（逾期）" if e.get("rectification_overdue") else ""))
    summary = d.get("evaluation") or {}
    if not d.get("evaluations"):
        for e in summary.get("bad_pending", []):
            click.echo(f"  差评（{e['level']}）：回访期限 {e['follow_up_due']}，整改期限 {e['rectification_due']}"
                       + ("（已逾期）" if e["follow_up_overdue"] or e["rectification_overdue"] else ""))
    invite = summary.get("invite")
    if invite and invite.get("due_by"):
        click.echo(f"  待评价：本次{VISIT_NAMES.get(invite['visit_kind'], '')}服务尚未评价，请于 {invite['due_by'][:16]} 前"
                   f"邀请申请人评价（短信或扫码）" + ("（已超过24小时）" if invite["overdue"] else ""))


def _read_form(form: str) -> Any:
    import json

    from edgenode.errors import CaseError

    try:
        with click.open_file(form, "rb") as handle:
            raw = handle.read(1024 * 1024 + 1)
    except OSError as exc:
        raise CaseError("CASE_006", f"无法读取申请表文件 {form}：{exc.strerror}") from None
    if len(raw) > 1024 * 1024:
        raise CaseError("CASE_006", "申请表文件过大（超过 1 MB）")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CaseError("CASE_006", f"申请表文件 {form} 不是有效的 UTF-8 JSON") from None


@case.command("receive")
@click.option("--item", "item_code", required=True, help="事项编码。")
@click.option("--form", "form", required=True, metavar="FILE", help="申请表内容（JSON 文件；- 表示标准输入）。")
@material_option
@elicence_option
@tolerate_option
@commit_option
@defective_option
@click.option("--complex", "complex_", is_flag=True, help="材料复杂，先收件登记，3个工作日内审查。")
@click.option("--confirm", multiple=True, metavar="FIELD", help="已核对确认的字段（如校验位不符的统一社会信用代码）。")
@json_option
@click.pass_obj
def receive(obj: CliContext, item_code: str, form: str, materials: tuple[str, ...], elicence: tuple[str, ...],
            tolerate: tuple[str, ...], commits: tuple[str, ...], defective: tuple[str, ...], complex_: bool,
            confirm: tuple[str, ...], as_json: bool) -> None:
    """收件：材料齐全当场受理；不齐全一次性告知全部所缺材料；复杂的收件登记；即办件当场办结。

    \b
    例：edgenode case receive --item CODE --form form.json --material m1=身份证.pdf \\
            --tolerate m3 --commit m4 --json
    """
    from pathlib import Path

    from edgenode.cases.rules import MaterialMarks
    from edgenode.cases.service import Intake, receive_case

    intake = Intake(item_code=item_code, form=_read_form(form),
                    files={k: Path(v) for k, v in _pairs(materials, "--material").items()},
                    marks=MaterialMarks(e_licence=frozenset(elicence), tolerated=frozenset(tolerate),
                                        committed=frozenset(commits), defective=_pairs(defective, "--defective")),
                    complex_=complex_, confirmed=frozenset(confirm))
    _run(obj, as_json, lambda node: receive_case(node, intake, staff=obj.staff_name))


@case.command("list")
@click.option("--status", type=click.Choice(["registered", "incomplete", "accepted", "received_on_behalf",
                                             "transferred", "rejected", "decided", "handed_over"]))
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@json_option
@click.pass_obj
def list_(obj: CliContext, status: str | None, limit: int, as_json: bool) -> None:
    """列出办件（身份证号只显示前6位和后4位）。

    \b
    例：edgenode case list --status incomplete --json
    """
    from edgenode.cases.listing import list_cases

    with obj.open_node() as node:
        rows = list_cases(node, status=status, limit=limit)

    def human(d: dict) -> None:
        if not d["cases"]:
            click.echo("（没有办件）")
        for row in d["cases"]:
            click.echo(f"{row['case_no']}  {row['status_name']}  {row['item']['name']}  {row['applicant']['name']}"
                       + (f"  期限 {row['deadline']}" if row["deadline"] else ""))

    emit({"cases": rows}, as_json, human)


@case.command("show")
@click.argument("case_ref", metavar="CASE")
@json_option
@click.pass_obj
def show(obj: CliContext, case_ref: str, as_json: bool) -> None:
    """显示办件详情及全部事件（CASE 为办件编号或 case_id）。

    \b
    例：edgenode case show 350123102201-a3f9c1-2026000001 --json
    """
    from edgenode.cases.service import load_case

    _run(obj, as_json, lambda node: load_case(node, case_ref)[0], events=True, issue=False)


@case.command("notice")
@click.argument("case_ref", metavar="CASE")
@json_option
@click.pass_obj
def notice(obj: CliContext, case_ref: str, as_json: bool) -> None:
    """出具（补出）办件尚未盖章的文书：受理通知书、一次性告知书、回执、不予受理通知书、即办证明。

    印章须已由印章管理员解锁（edgenode seal unlock），或由脚本通过 EDGENODE_SEAL_PIN 提供 PIN。

    \b
    例：edgenode case notice 350123102206-a3f9c1-2026000001 --json
    """
    from edgenode.cases.service import load_case

    _run(obj, as_json, lambda node: load_case(node, case_ref)[0])


@case.command("review")
@click.argument("case_ref", metavar="CASE")
@defective_option
@json_option
@click.pass_obj
def review(obj: CliContext, case_ref: str, defective: tuple[str, ...], as_json: bool) -> None:
    """审查收件登记的办件：齐全则受理，否则出具一次性告知书；逾期未告知的视为受理。

    \b
    例：edgenode case review CASE --defective m2=复印件不清晰
    """
    from edgenode.cases.followup import review_case

    marks = _pairs(defective, "--defective")
    _run(obj, as_json, lambda node: review_case(node, case_ref, defective=marks, staff=obj.staff_name))


@case.command("correct")
@click.argument("case_ref", metavar="CASE")
@material_option
@elicence_option
@tolerate_option
@commit_option
@defective_option
@json_option
@click.pass_obj
def correct(obj: CliContext, case_ref: str, materials: tuple[str, ...], elicence: tuple[str, ...],
            tolerate: tuple[str, ...], commits: tuple[str, ...], defective: tuple[str, ...], as_json: bool) -> None:
    """补正：提交一次性告知书所列的材料（补齐即受理，受理日为最后一份材料送达之日）；或补交容缺材料。

    \b
    例：edgenode case correct CASE --material m2=户口簿.pdf --json
    """
    from pathlib import Path

    from edgenode.cases.followup import correct_case
    from edgenode.cases.rules import MaterialMarks

    files = {k: Path(v) for k, v in _pairs(materials, "--material").items()}
    marks = MaterialMarks(e_licence=frozenset(elicence), tolerated=frozenset(tolerate), committed=frozenset(commits),
                          defective=_pairs(defective, "--defective"))
    _run(obj, as_json, lambda node: correct_case(node, case_ref, files=files, marks=marks, staff=obj.staff_name))


@case.command("reject")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True, help="不予受理的理由。")
@click.option("--basis", required=True, help="法律依据。")
@click.option("--competent-body", help="应向其申请的有权机关（不属本机关职权时）。")
@json_option
@click.pass_obj
def reject(obj: CliContext, case_ref: str, reason: str, basis: str, competent_body: str | None, as_json: bool) -> None:
    """不予受理，出具不予受理通知书（含复议、诉讼权利告知）。

    \b
    例：edgenode case reject CASE --reason 不属于本机关职权范围 --basis 行政许可法第三十二条 --competent-body 罗源县民政局
    """
    from edgenode.cases.followup import reject_case

    _run(obj, as_json, lambda node: reject_case(node, case_ref, reason=reason, legal_basis=basis,
                                                competent_body=competent_body, staff=obj.staff_name))


@case.command("transfer")
@click.argument("case_ref", metavar="CASE")
@click.option("--to", help="接收机关，默认为事项的实施主体。")
@json_option
@click.pass_obj
def transfer(obj: CliContext, case_ref: str, to: str | None, as_json: bool) -> None:
    """移交决定机关（委托受理、帮办代办的办件）。

    \b
    例：edgenode case transfer CASE
    """
    from edgenode.cases.followup import transfer_case

    _run(obj, as_json, lambda node: transfer_case(node, case_ref, to=to, staff=obj.staff_name))


@case.command("suspend")
@click.argument("case_ref", metavar="CASE")
@click.option("--reason", required=True, help="如：补正材料、听证、检验检测、专家评审、公示。")
@json_option
@click.pass_obj
def suspend(obj: CliContext, case_ref: str, reason: str, as_json: bool) -> None:
    """中止计时（补正或特别程序期间不计入办理时限）。

    \b
    例：edgenode case suspend CASE --reason 公示7日
    """
    from edgenode.cases.followup import suspend_case

    _run(obj, as_json, lambda node: suspend_case(node, case_ref, reason=reason, staff=obj.staff_name))


@case.command("resume")
@click.argument("case_ref", metavar="CASE")
@json_option
@click.pass_obj
def resume(obj: CliContext, case_ref: str, as_json: bool) -> None:
    """恢复计时。

    \b
    例：edgenode case resume CASE
    """
    from edgenode.cases.followup import resume_case

    _run(obj, as_json, lambda node: resume_case(node, case_ref, staff=obj.staff_name))


@case.command("decide")
@click.argument("case_ref", metavar="CASE")
@click.option("--approve/--deny", required=True, help="准予 / 不予。")
@click.option("--reason", help="理由（不予时必填）。")
@json_option
@click.pass_obj
def decide(obj: CliContext, case_ref: str, approve: bool, reason: str | None, as_json: bool) -> None:
    """作出决定（仅限决定机关：授权办理的事项，或县级节点）。

    \b
    例：edgenode case decide CASE --approve
    """
    from edgenode.cases.followup import decide_case

    _run(obj, as_json, lambda node: decide_case(node, case_ref, approve=approve, reason=reason, staff=obj.staff_name))


@case.command("handover")
@click.argument("case_ref", metavar="CASE")
@click.option("--method", type=click.Choice(["窗口领取", "邮寄送达", "上门送达", "电子送达"]), default="窗口领取",
              show_default=True)
@click.option("--recipient", help="领取人（本人或代领人姓名）。")
@json_option
@click.pass_obj
def handover(obj: CliContext, case_ref: str, method: str, recipient: str | None, as_json: bool) -> None:
    """出件：把办理结果交给申请人。

    \b
    例：edgenode case handover CASE --method 窗口领取 --recipient 张三
    """
    from edgenode.cases.followup import handover_case

    _run(obj, as_json, lambda node: handover_case(node, case_ref, method=method, recipient=recipient,
                                                  staff=obj.staff_name))


@case.command("evaluate")
@click.argument("case_ref", metavar="CASE")
@click.option("--level", required=True, metavar="等级",
              help="申请人选择的评价等级：非常满意、满意、基本满意、不满意、非常不满意（后两者为差评；"
                   "GB/T 39046 代码 1 为非常满意、5 为非常不满意）。")
@click.option("--channel", required=True, metavar="渠道", help="申请人作出评价的渠道：现场评价器、扫码、短信邀请、闽政通、政务服务网。")
@click.option("--comment", default="", help="申请人填写的评价内容（可不填）。")
@json_option
@click.pass_obj
def evaluate_(obj: CliContext, case_ref: str, level: str, channel: str, comment: str, as_json: bool) -> None:
    """记录申请人本人对本次服务的评价（好差评）。评价由申请人作出，工作人员只作记录，不得代为评价。

    服务之后才能评价；同一次服务只评一次，评价后不能修改；补正后受理、办结、出件等再次服务可再评价。
    差评须在 2 个工作日内回访核实（case follow-up），15 个工作日内报告整改（case rectify）。

    \b
    例：edgenode case evaluate CASE --level 满意 --channel 现场评价器 --json
    """
    from edgenode.cases.evaluation import evaluate

    with obj.open_node() as node:
        data = evaluate(node, case_ref, level=level, channel=channel, comment=comment, staff=obj.staff_name)

    def human(d: dict[str, Any]) -> None:
        click.echo(f"办件 {d['case_no']}：已记录申请人本人的评价“{d['level']}”（GB/T 39046 代码 {d['code']}，"
                   f"渠道 {d['channel']}），记录人 {d['recorded_by']}。")
        click.echo("  评价由申请人作出，工作人员仅作记录；评价不能修改。")
        if d["bad"]:
            click.echo(f"  差评：须于 {d['follow_up_due']} 前回访核实，{d['rectification_due']} 前报告整改。")

    emit(data, as_json, human)


evaluation_option = click.option("--evaluation", metavar="ID", help="差评的评价编号（至少前8位；办件只有一条待整改差评时可省略）。")


@case.command("follow-up")
@click.argument("case_ref", metavar="CASE")
@click.option("--note", required=True, help="回访核实的情况。")
@evaluation_option
@json_option
@click.pass_obj
def follow_up(obj: CliContext, case_ref: str, note: str, evaluation: str | None, as_json: bool) -> None:
    """差评回访核实（应在差评后 2 个工作日内）。

    \b
    例：edgenode case follow-up CASE --note 电话回访，申请人反映排队时间长 --json
    """
    from edgenode.cases.evaluation import follow_up_bad_rating

    _run(obj, as_json, lambda node: follow_up_bad_rating(node, case_ref, note=note, staff=obj.staff_name,
                                                         evaluation=evaluation), issue=False)


@case.command("rectify")
@click.argument("case_ref", metavar="CASE")
@click.option("--report", required=True, help="整改情况报告。")
@evaluation_option
@json_option
@click.pass_obj
def rectify(obj: CliContext, case_ref: str, report: str, evaluation: str | None, as_json: bool) -> None:
    """差评整改报告（应在差评后 15 个工作日内，先回访核实）。

    \b
    例：edgenode case rectify CASE --report 高峰时段增开窗口，已向申请人反馈 --json
    """
    from edgenode.cases.evaluation import report_rectification

    _run(obj, as_json, lambda node: report_rectification(node, case_ref, report=report, staff=obj.staff_name,
                                                         evaluation=evaluation), issue=False)


COMMANDS = [case]
