"""What happens to a case after the counter: formal review of a complex receipt, corrections (补正) and
late materials (容缺), refusal (不予受理), transfer to the deciding body, stopping the clock, decision and
hand-over (出件). Each command refuses with a clear reason and writes nothing, or writes it all.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from edgenode.catalog_store import get_item
from edgenode.cases import fold as F
from edgenode.cases.fold import CaseState
from edgenode.cases.rules import RESOLVED, MaterialMarks, assess_materials, may_decide
from edgenode.cases.service import (HANDOVER_METHODS, _accept, _insert_blobs, _refuse_problems, _request_correction,
                                    _require_status, _store_files, _today, _Writer, load_case)
from edgenode.errors import CaseError


def _text(value: str | None, what: str, limit: int = 500) -> str:
    value = (value or "").strip()
    if not value:
        raise CaseError("CASE_013", f"请填写{what}")
    if len(value) > limit or "<" in value:
        raise CaseError("CASE_014", f"{what}过长或含有尖括号（最多 {limit} 字）")
    return value


def review_case(node: Any, ref: str, *, defective: dict[str, str], staff: str) -> CaseState:
    """Formal review of a 收件登记: accept, or issue the one-time notice, within the notice deadline."""
    state, events = load_case(node, ref)
    _require_status(state, ("registered",), "审查")
    item, _, _ = get_item(node.store, state.item["code"], state.item["version"])
    today, issued = _today(node), node.now().isoformat()
    w = _Writer(node, state.case_id, staff, events)
    if today > date.fromisoformat(state.notice_due):
        if defective:
            raise CaseError("CASE_012", f"已超过一次性告知期限（{state.notice_due}），不能再出具一次性告知书；"
                            f"依规视为自收件之日（{state.received_on}）起受理",
                            hint="不带不合格材料再次审查，即按视为受理出具受理通知书")
        with node.store.write():
            _accept(node, w, state.item["limit_days"], _tolerated(state), date.fromisoformat(state.received_on),
                    issued, deemed=True)
            return w.finish("case.review", {"outcome": "deemed_accepted"})
    problems = [f"材料 {mid} 未提交，不能标记为不符合要求" for mid in defective
                if state.materials.get(mid, {}).get("state") not in ("provided",)]
    problems += [f"材料 {mid} 的不合格原因须填写" for mid, reason in defective.items() if not reason.strip()]
    _refuse_problems("CASE_004", "材料标记有误", problems)
    states = {mid: ("defective" if mid in defective else m["state"]) for mid, m in state.materials.items()}
    reasons = {mid: defective.get(mid) or m.get("reason", "") for mid, m in state.materials.items()}
    with node.store.write():
        if any(s in ("missing", "defective") for s in states.values()):
            _request_correction(w, states, reasons, issued)
            outcome = "one_time"
        else:
            _accept(node, w, state.item["limit_days"], _tolerated(state), today, issued)
            outcome = "accepted"
        return w.finish("case.review", {"outcome": outcome})


def _tolerated(state: CaseState) -> list[str]:
    return sorted(mid for mid, m in state.materials.items() if m["state"] == "tolerated")


def correct_case(node: Any, ref: str, *, files: dict[str, Path], marks: MaterialMarks, staff: str) -> CaseState:
    """补正 after a one-time notice (only what the notice listed), or late 容缺 materials after acceptance."""
    state, events = load_case(node, ref)
    if state.status == "incomplete":
        phase = "correction"
    elif state.status == "accepted" and state.outstanding:
        phase = "tolerated"
    else:
        raise CaseError("CASE_015", f"办件 {state.case_no} 没有待补正或待补交的材料")
    item, _, _ = get_item(node.store, state.item["code"], state.item["version"])
    marks = MaterialMarks(frozenset(files), marks.e_licence, marks.tolerated, marks.committed, dict(marks.defective))
    if not (marks.provided | marks.e_licence | marks.tolerated | marks.committed):
        raise CaseError("CASE_016", "本次没有提交任何材料", hint="用 --material 编号=文件 提交补正材料")
    assessment = assess_materials(item, marks, only=frozenset(state.outstanding))
    problems = list(assessment.problems)
    if phase == "tolerated" and (marks.tolerated or marks.committed):
        problems.append("已受理的办件补交容缺材料时，只能提交材料或电子证照")
    _refuse_problems("CASE_004", "补正材料标记有误", problems)
    refs = _store_files(node, files)
    marked = marks.provided | marks.e_licence | marks.tolerated | marks.committed | set(marks.defective)
    entries = {mid: {"state": assessment.states[mid], **({"reason": assessment.reasons[mid]} if mid in assessment.reasons else {}),
                     **({"blob": refs[mid].sha256, "filename": refs[mid].filename, "media_type": refs[mid].media_type,
                         "size": refs[mid].size} if mid in refs else {})}
               for mid in sorted(marked)}
    today = _today(node)
    with node.store.write():
        _insert_blobs(node, refs.values())
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.MATERIALS_CORRECTED, {"materials": entries, "corrected_on": today.isoformat(), "phase": phase})
        remaining = [mid for mid in state.outstanding if entries.get(mid, {}).get("state") not in RESOLVED]
        outcome = "still_incomplete" if remaining else "complete"
        if phase == "correction" and not remaining:
            merged = {**state.materials, **entries}
            tolerated = sorted(mid for mid, m in merged.items() if m["state"] == "tolerated")
            _accept(node, w, state.item["limit_days"], tolerated, today, node.now().isoformat())
            outcome = "accepted"
        return w.finish("case.correct", {"phase": phase, "outcome": outcome, "blobs": sorted(r.sha256 for r in refs.values())})


def reject_case(node: Any, ref: str, *, reason: str, legal_basis: str, competent_body: str | None, staff: str) -> CaseState:
    """不予受理: with the reason, its legal basis, and the competent body when it is not this one."""
    state, events = load_case(node, ref)
    _require_status(state, ("registered", "incomplete"), "作不予受理")
    payload = {"reason": _text(reason, "不予受理的理由"), "legal_basis": _text(legal_basis, "法律依据"),
               "competent_body": (competent_body or "").strip()[:100] or None, "on": _today(node).isoformat(),
               "by_role": node.config.role,
               "appeal": {"review_days": 60, "litigation_months": 6}}
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CASE_REJECTED, {**payload, "doc_no": w.doc_no("rejection"), "issued_at": node.now().isoformat()})
        return w.finish("case.reject", {})


def transfer_case(node: Any, ref: str, *, to: str | None, staff: str) -> CaseState:
    state, events = load_case(node, ref)
    _require_status(state, ("accepted", "received_on_behalf"), "移交")
    target = (to or state.item["decided_by"]).strip()[:100]
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CASE_TRANSFERRED, {"to": target, "on": _today(node).isoformat()})
        return w.finish("case.transfer", {"to": target})


def suspend_case(node: Any, ref: str, *, reason: str, staff: str) -> CaseState:
    """Stop the clock: 补正 during review or a 特别程序 (hearing, testing, expert review, public notice)."""
    state, events = load_case(node, ref)
    _require_status(state, ("accepted", "transferred"), "中止计时")
    if state.suspended:
        raise CaseError("CASE_017", f"办件 {state.case_no} 已在计时中止中")
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CLOCK_SUSPENDED, {"on": _today(node).isoformat(), "reason": _text(reason, "中止计时的原因", 200)})
        return w.finish("case.suspend", {})


def resume_case(node: Any, ref: str, *, staff: str) -> CaseState:
    state, events = load_case(node, ref)
    if not state.suspended:
        raise CaseError("CASE_018", f"办件 {state.case_no} 没有中止计时")
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CLOCK_RESUMED, {"on": max(_today(node).isoformat(), state.pauses[-1][0])})
        return w.finish("case.resume", {})


def decide_case(node: Any, ref: str, *, approve: bool, reason: str | None, staff: str) -> CaseState:
    state, events = load_case(node, ref)
    _require_status(state, ("accepted", "transferred"), "作出决定")
    item, _, _ = get_item(node.store, state.item["code"], state.item["version"])
    if not may_decide(item, role=node.config.role):
        raise CaseError("CASE_019", f"本节点不是事项“{item.name}”的决定机关（{item.decided_by}），不能作出决定",
                        hint="请移交决定机关，决定结果会随同步回到本站")
    if state.suspended:
        raise CaseError("CASE_020", "办件计时中止中，请先恢复计时再作决定")
    if approve and state.outstanding:
        raise CaseError("CASE_021", f"容缺材料尚未补齐（{', '.join(state.outstanding)}），不能准予办理")
    payload = {"outcome": "approved" if approve else "denied", "decided_on": _today(node).isoformat(),
               "by": node.config.name, "by_role": node.config.role,
               "reason": _text(reason, "不予批准的理由") if not approve else (reason or "").strip()[:500]}
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CASE_DECIDED, {**payload, "doc_no": w.doc_no("decision"), "issued_at": node.now().isoformat()})
        return w.finish("case.decide", {"outcome": payload["outcome"]})


def handover_case(node: Any, ref: str, *, method: str, recipient: str | None, staff: str) -> CaseState:
    state, events = load_case(node, ref)
    _require_status(state, ("decided",), "出件")
    if method not in HANDOVER_METHODS:
        raise CaseError("CASE_022", f"出件方式应为 {'、'.join(HANDOVER_METHODS)} 之一")
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CASE_HANDED_OVER, {"method": method, "recipient": (recipient or "").strip()[:50] or None,
                                   "on": _today(node).isoformat()})
        return w.finish("case.handover", {"method": method})
