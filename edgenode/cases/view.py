"""What a case looks like today: the fold's state plus what the date and the calendar make of it.

Deemed acceptance (000 二(二)10): a registered (complex) receipt with no one-time notice by the notice
deadline is accepted as of the day the materials were received. That depends on today's date, so it is
computed here, at read time, rather than written as an event by whichever node looks first.

Evaluations (好差评) likewise: whether the applicant is owed an invitation (the latest service not
evaluated, 24 hours after it) and whether a 差评's follow-up or rectification is overdue depend on now.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from edgenode.cases.fold import CaseState

STATUS_NAMES = {
    "registered": "已收件登记（待审查）",
    "received_on_behalf": "已代收（待移交）",
    "transferred": "已移交",
    "incomplete": "已一次性告知（待补正）",
    "accepted": "已受理",
    "rejected": "不予受理",
    "decided": "已办结",
    "handed_over": "已出件",
}
NOTICE_NAMES = {"acceptance": "受理通知书", "one_time": "一次性告知书", "registration_receipt": "收件登记回执",
                "proxy_receipt": "代收回执", "rejection": "不予受理通知书", "decision": "办理结果"}


def mask_id(number: str | None) -> str | None:
    """Show the first 6 and last 4 characters of an ID number."""
    if not number or len(number) <= 10:
        return number
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def effective_status(state: CaseState, today: date) -> tuple[str, bool, str | None]:
    """(status, deemed, accepted_on) as of today."""
    if state.status == "registered" and state.notice_due and today > date.fromisoformat(state.notice_due):
        return "accepted", True, state.received_on
    return state.status, state.deemed, state.accepted_on


def case_view(state: CaseState, *, today: date, calendar: Any, full: bool = True,
              now: datetime | None = None) -> dict[str, Any]:
    status, deemed, accepted_on = effective_status(state, today)
    view: dict[str, Any] = {
        "case_id": state.case_id,
        "case_no": state.case_no,
        "status": status,
        "status_name": STATUS_NAMES.get(status, status),
        "deemed": deemed,
        "item": {"code": state.item.get("code"), "name": state.item.get("name"), "version": state.item.get("version")},
        "applicant": {**state.applicant, "id_number": mask_id(state.applicant.get("id_number"))},
        "received_at": state.received_at,
        "accepted_on": accepted_on,
        "notice_kind": state.notices[-1]["kind"] if state.notices else None,
        "missing": sorted(state.outstanding),
        "missing_materials": [{"id": mid, "name": state.materials.get(mid, {}).get("name", mid),
                               "reason": state.materials.get(mid, {}).get("reason")} for mid in sorted(state.outstanding)],
        "spot_check": state.spot_check,
        "suspended": state.suspended,
        "late_events": list(state.late_events),
        "open_conflicts": len(state.open_conflicts),
        **_deadline(state, status, accepted_on, calendar),
        "evaluation": evaluation_summary(state, today=today, now=now),
    }
    if full:
        view.update(applicant=dict(state.applicant), agent=state.agent, form=state.form, materials=state.materials,
                    notices=state.notices, decision=state.decision, handover=state.handover,
                    rejection=state.rejection, transferred_to=state.transferred_to, pauses=state.pauses,
                    tolerated_due=state.tolerated_due, conflicts=state.conflicts,
                    evaluations=[_evaluation_view(e, today) for e in state.evaluations])
    return view


LEVEL_NOTE = "等级按 GB/T 39046：1 非常满意 … 5 非常不满意"
VISIT_NAMES = {"proxy_receipt": "代收", "one_time": "一次性告知", "acceptance": "受理", "rejection": "不予受理",
               "decision": "办结", "handover": "出件"}


def _evaluation_view(e: dict[str, Any], today: date) -> dict[str, Any]:
    def overdue(due: str | None, done: dict[str, Any] | None) -> bool:
        return bool(e["bad"] and due and (done["on"] > due if done else today.isoformat() > due))

    return {**e, "follow_up_overdue": overdue(e["follow_up_due"], e["followed_up"]),
            "rectification_overdue": overdue(e["rectification_due"], e["rectified"])}


def evaluation_summary(state: CaseState, *, today: date, now: datetime | None = None) -> dict[str, Any]:
    """Counted evaluations, the invitation owed for the latest service, and the 差评 still to act on."""
    invite = None
    if state.visits and not any(e["visit"] == state.visits[-1]["event"] for e in state.evaluations):
        visit = state.visits[-1]
        due_by = None
        try:
            due_by = datetime.fromisoformat(visit["at"]) + timedelta(hours=24)
        except (TypeError, ValueError):
            pass
        late = due_by is not None and (now > due_by if now is not None and now.tzinfo else today > due_by.date())
        invite = {"visit": visit["event"], "visit_kind": visit["kind"],
                  "due_by": due_by.isoformat() if due_by else None, "overdue": late}
    pending = [_evaluation_view(e, today) for e in state.evaluations
               if e["bad"] and e["counted"] and e["rectified"] is None]
    return {"count": sum(1 for e in state.evaluations if e["counted"]), "invite": invite,
            "bad_pending": [{key: e[key] for key in ("event", "level", "follow_up_due", "follow_up_overdue",
                                                     "rectification_due", "rectification_overdue", "followed_up")}
                            for e in pending]}


def _deadline(state: CaseState, status: str, accepted_on: str | None, calendar: Any) -> dict[str, Any]:
    """The next date the office must meet: the notice deadline while registered, else the completion date."""
    none = {"deadline": None, "deadline_kind": None, "deadline_provisional": False, "deadline_note": None}
    if status == "registered" and state.notice_due:
        return {**none, "deadline": state.notice_due, "deadline_kind": "notice"}
    limit = state.limit_days if state.limit_days is not None else state.item.get("limit_days")
    if accepted_on is None or limit is None or status in ("rejected",):
        return none
    if state.suspended:
        return {**none, "deadline_kind": "completion", "deadline_note": f"计时自 {state.pauses[-1][0]} 起中止（补正或特别程序）"}
    pauses = [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in state.pauses]
    due = calendar.add_working_days(date.fromisoformat(accepted_on), limit, pauses)
    return {"deadline": due.due.isoformat(), "deadline_kind": "completion",
            "deadline_provisional": due.provisional, "deadline_note": due.note}
