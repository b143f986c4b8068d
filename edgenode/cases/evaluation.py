"""Evaluations (好差评) of a service, and the follow-up of a bad one (000 二(五)1-3; 002 #1-5).

Rules (docs/adr/0013-evaluations.md):
- the applicant gives the evaluation (on the counter's evaluation device, by scanning the code, through an
  SMS invitation, …); the clerk only records it, with the channel, and the event says `given_by: applicant`;
- only after service: an evaluation is of a visit, the latest service outcome on the case (proxy receipt,
  one-time notice, acceptance, refusal, decision, hand-over); a case with none (only a registration receipt)
  cannot be evaluated;
- one evaluation per visit, never edited: a second one for the same visit is refused (CASE_053); a later
  visit of the same case (after 补正 the acceptance, then the decision, the hand-over) may be evaluated again;
- levels by name (非常满意 … 非常不满意) with their GB/T 39046 code (1 … 5) and its code system;
- a 差评 (不满意, 非常不满意) must be followed up within 2 working days and rectified with a report within
  15 working days: both due dates are computed from the working-day calendar when it is recorded.
The audit entry names the level code, channel and visit, never the comment (it may hold personal data).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from edgenode.cases import fold as F
from edgenode.cases.fold import CaseState
from edgenode.cases.service import _today, _Writer, load_case
from edgenode.errors import CaseError

CHANNELS = ("现场评价器", "扫码", "短信邀请", "闽政通", "政务服务网")
FOLLOW_UP_WORKING_DAYS = 2
RECTIFICATION_WORKING_DAYS = 15
INVITE_HOURS = 24


def _level(level: str) -> str:
    name = (level or "").strip()
    if name not in F.LEVELS:
        raise CaseError("CASE_049", f"评价等级“{name[:20]}”无效，应为 {'、'.join(F.LEVELS)} 之一",
                        hint="以等级名称填写（GB/T 39046 代码 1 为非常满意、5 为非常不满意，不是星级）")
    return name


def _channel(channel: str) -> str:
    name = (channel or "").strip()
    if name not in CHANNELS:
        raise CaseError("CASE_050", f"评价渠道“{name[:20]}”无效，应为 {'、'.join(CHANNELS)} 之一",
                        hint="评价须由申请人本人通过评价渠道作出，工作人员只作记录，不得代为评价")
    return name


def _free_text(value: str | None, what: str, limit: int = 500, *, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise CaseError("CASE_013", f"请填写{what}")
    if len(text) > limit or "<" in text:
        raise CaseError("CASE_014", f"{what}过长或含有尖括号（最多 {limit} 字）")
    return text


def latest_visit(state: CaseState) -> dict[str, Any] | None:
    """The service outcome an evaluation given now is of (None before any service)."""
    return state.visits[-1] if state.visits else None


def _due(node: Any, start: date, days: int) -> tuple[str, bool]:
    deadline = node.calendar.add_working_days(start, days)
    return deadline.due.isoformat(), deadline.provisional


def _record_evaluation(node: Any, ref: str, *, level: str, channel: str, comment: str,
                       staff: str) -> tuple[CaseState, dict[str, Any]]:
    state, events = load_case(node, ref)
    level, channel = _level(level), _channel(channel)
    comment = _free_text(comment, "评价内容")
    visit = latest_visit(state)
    if visit is None:
        raise CaseError("CASE_052", f"办件 {state.case_no} 尚未提供服务（尚未受理、出具告知书或办结），不能评价",
                        hint="评价在服务之后由申请人作出；收件登记的办件审查后即可评价")
    given = next((e for e in state.evaluations if e["visit"] == visit["event"]), None)
    if given is not None:
        raise CaseError("CASE_053", f"办件 {state.case_no} 的本次服务已于 {str(given['given_at'])[:16]} 评价"
                        f"（{given['level']}），评价不能修改或重复",
                        context={"visit": visit["event"], "evaluation": given["event"]},
                        hint="同一办件再次办理（如补正后受理、办结、出件）后，可对新的一次服务评价")
    today = _today(node)
    code = F.LEVELS.index(level) + 1
    payload: dict[str, Any] = {"level": level, "code": code, "code_system": F.LEVEL_CODE_SYSTEM, "channel": channel,
                               "given_by": "applicant", "comment": comment, "given_at": node.now().isoformat(),
                               "visit": visit["event"], "visit_kind": visit["kind"]}
    if level in F.BAD_LEVELS:
        payload["follow_up_due"], follow_provisional = _due(node, today, FOLLOW_UP_WORKING_DAYS)
        payload["rectification_due"], rect_provisional = _due(node, today, RECTIFICATION_WORKING_DAYS)
        payload["due_provisional"] = follow_provisional or rect_provisional
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        event = w.add(F.EVALUATION_GIVEN, payload)
        new = w.finish("case.evaluate", {"code": code, "channel": channel, "visit_kind": visit["kind"],
                                         "bad": level in F.BAD_LEVELS})
    return new, next(e for e in new.evaluations if e["event"] == event.id)


def evaluate(node: Any, case_id: str, *, level: str, channel: str, comment: str = "", staff: str) -> dict:
    """Record the applicant's evaluation of the case's latest service; returns the evaluation as recorded.

    `case_id` may also be the case number. `staff` is the clerk who records it, not who gave it."""
    state, record = _record_evaluation(node, case_id, level=level, channel=channel, comment=comment, staff=staff)
    return {"case_id": state.case_id, "case_no": state.case_no, **record}


def _bad_evaluation(state: CaseState, evaluation: str | None) -> dict[str, Any]:
    bad = [e for e in state.evaluations if e["bad"]]
    if evaluation:
        found = [e for e in bad if e["event"].startswith(evaluation.strip())] if len(evaluation.strip()) >= 8 else []
        if len(found) != 1:
            raise CaseError("CASE_054", f"办件 {state.case_no} 没有编号为 {evaluation[:40]} 的差评",
                            hint="可用 edgenode case show 查看评价编号（至少前8位）")
        return found[0]
    pending = bad if len(bad) == 1 else [e for e in bad if e["rectified"] is None]
    if len(pending) != 1:
        raise CaseError("CASE_054", f"办件 {state.case_no} " + ("没有待整改的差评" if not pending else
                        "有多条待整改的差评，请指定评价编号"), hint="可用 edgenode case show 查看评价编号")
    return pending[0]


def follow_up_bad_rating(node: Any, case_id: str, *, note: str, staff: str, evaluation: str | None = None) -> CaseState:
    """Record the follow-up of a 差评 (due within 2 working days): what the applicant was told or asked."""
    state, events = load_case(node, case_id)
    record = _bad_evaluation(state, evaluation)
    if record["followed_up"] is not None:
        raise CaseError("CASE_055", f"该差评已于 {record['followed_up']['on']} 回访核实，不能重复记录")
    note = _free_text(note, "回访核实情况", required=True)
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.BAD_RATING_FOLLOWED_UP, {"evaluation": record["event"], "on": _today(node).isoformat(), "note": note})
        return w.finish("case.evaluation_follow_up", {"evaluation": record["event"]})


def report_rectification(node: Any, case_id: str, *, report: str, staff: str, evaluation: str | None = None) -> CaseState:
    """Record the rectification report of a 差评 (due within 15 working days), after its follow-up."""
    state, events = load_case(node, case_id)
    record = _bad_evaluation(state, evaluation)
    if record["followed_up"] is None:
        raise CaseError("CASE_056", "该差评尚未回访核实，请先记录回访核实情况再报告整改",
                        hint=f"edgenode case follow-up {state.case_no} --note 回访核实情况")
    if record["rectified"] is not None:
        raise CaseError("CASE_057", f"该差评已于 {record['rectified']['on']} 报告整改，不能重复记录")
    report = _free_text(report, "整改情况", 2000, required=True)
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.RECTIFICATION_REPORTED, {"evaluation": record["event"], "on": _today(node).isoformat(), "report": report})
        return w.finish("case.evaluation_rectify", {"evaluation": record["event"]})
