"""Counter commands: each checks its input in full, then writes its events, the case projection and the
audit entry in one transaction, so a crash leaves either the whole step or none of it. Scans are stored
(content-addressed, flushed) before that transaction; an interrupted intake leaves at worst an
unreferenced blob, never a partial case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from edgenode.blobs import BlobRef
from edgenode.catalog import Item
from edgenode.catalog_store import get_item
from edgenode.cases import fold as F
from edgenode.cases.fold import CaseState, fold
from edgenode.cases.rules import MaterialMarks, assess_materials, choose_outcome, may_decide
from edgenode.errors import CaseError
from sync.envelope import Event, heads, new_event_id

DOC_PREFIX = {"acceptance": "受", "one_time": "告", "registration_receipt": "登", "proxy_receipt": "代收",
              "rejection": "不受", "decision": "决"}
HANDOVER_METHODS = ("窗口领取", "邮寄送达", "上门送达", "电子送达")


@dataclass(frozen=True)
class Intake:
    """One application as the clerk enters it."""

    item_code: str
    form: Any
    files: dict[str, Path]
    marks: MaterialMarks = MaterialMarks()
    complex_: bool = False
    confirmed: frozenset[str] = frozenset()
    channel: str = "counter"


# -- reading ------------------------------------------------------------------------------------------
def _event_of(r: Any) -> Event:
    return Event(id=r["id"], case_id=r["case_id"], type=r["type"], hlc=r["hlc"], author_node=r["author_node"],
                 author_staff=r["author_staff"], causal_base=tuple(json.loads(r["causal_base"])),
                 payload=json.loads(r["payload"]), version=r["version"])


def load_events(node: Any, case_id: str) -> list[Event]:
    rows = node.store.query("SELECT * FROM events WHERE case_id = ? ORDER BY hlc, id", (case_id,))
    return [_event_of(r) for r in rows]


def load_events_of(node: Any, case_ids: list[str]) -> dict[str, list[Event]]:
    """The events of several cases in one query (a list page), each case's in (hlc, id) order."""
    found: dict[str, list[Event]] = {case_id: [] for case_id in case_ids}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        for r in node.store.query(f"SELECT * FROM events WHERE case_id IN ({marks}) ORDER BY case_id, hlc, id",
                                  tuple(chunk)):
            found[r["case_id"]].append(_event_of(r))
    return found


def find_case_id(node: Any, ref: str) -> str:
    row = node.store.query_one("SELECT id FROM cases WHERE id = ? OR case_no = ?", (ref, ref))
    if row is None:
        raise CaseError("CASE_010", f"找不到办件 {ref[:64]}", hint="可用 edgenode case list 查看本站办件")
    return row["id"]


def load_case(node: Any, ref: str) -> tuple[CaseState, list[Event]]:
    events = load_events(node, find_case_id(node, ref))
    return fold(events), events


# -- writing ------------------------------------------------------------------------------------------
class _Writer:
    """Appends events for one case inside the caller's write transaction."""

    def __init__(self, node: Any, case_id: str, staff: str, existing: Iterable[Event] = ()) -> None:
        self.node, self.case_id, self.staff = node, case_id, staff
        self.events = list(existing)

    def add(self, type_: str, payload: dict[str, Any]) -> Event:
        hlc = self.node.next_hlc()
        wall_ms = int(self.node.now().timestamp() * 1000)
        event = Event(id=new_event_id(wall_ms), case_id=self.case_id, type=type_, hlc=hlc,
                      author_node=self.node.config.node_id, author_staff=self.staff,
                      causal_base=heads(self.events), payload=payload)
        self.node.store.conn.execute(
            "INSERT INTO events(id, case_id, type, hlc, author_node, author_staff, causal_base, payload, version, recorded_at) "
            "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event.id, event.case_id, event.type, event.hlc, event.author_node, event.author_staff,
             json.dumps(list(event.causal_base)), json.dumps(payload, ensure_ascii=False), event.version,
             self.node.now().isoformat()),
        )
        self.events.append(event)
        return event

    def doc_no(self, kind: str) -> str:
        year = self.node.now().year
        seq = self.node.store.next_counter(f"doc:{kind}:{year}")
        return f"{DOC_PREFIX[kind]}〔{year}〕{self.node.config.node_id}-{seq:05d}号"

    def finish(self, action: str, detail: dict[str, Any]) -> CaseState:
        state = fold(self.events)
        self.node.store.conn.execute(
            "INSERT INTO cases(id, case_no, item_code, item_version, item_name, applicant_name, status, received_at, "
            "notice_due, deadline, updated_hlc) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET status = excluded.status, notice_due = excluded.notice_due, "
            "deadline = excluded.deadline, updated_hlc = excluded.updated_hlc",
            (state.case_id, state.case_no, state.item["code"], state.item["version"], state.item["name"],
             state.applicant.get("name", ""), state.status, state.received_at, state.notice_due,
             state.promised_due, state.updated_hlc),
        )
        self.node.record(self.staff, action, self.case_id, detail)
        return state


def _today(node: Any) -> date:
    return node.now().date()


def _deadline(node: Any, start: date, days: int, pauses: Any = ()) -> dict[str, Any]:
    deadline = node.calendar.add_working_days(start, days, pauses)
    return {"due": deadline.due.isoformat(), "provisional": deadline.provisional, "note": deadline.note}


def _item_snapshot(item: Item, version: int) -> dict[str, Any]:
    return {"code": item.code, "version": version, "name": item.name, "type": item.type,
            "delegation": item.delegation, "decided_by": item.decided_by, "limit_days": item.limit_days,
            "legal_limit_days": item.legal_limit_days, "immediate": item.immediate, "flags": list(item.flags),
            "legal_basis": item.legal_basis}


def _material_entry(item: Item, mid: str, state: str, reason: str | None, blob: BlobRef | None) -> dict[str, Any]:
    material = next(m for m in item.materials if m.id == mid)
    entry: dict[str, Any] = {"name": material.name, "state": state}
    if reason:
        entry["reason"] = reason
    if blob is not None:
        entry.update(blob=blob.sha256, filename=blob.filename, media_type=blob.media_type, size=blob.size)
    return entry


def _store_files(node: Any, files: dict[str, Path]) -> dict[str, BlobRef]:
    return {mid: node.blobs.put_file(path, mid) for mid, path in sorted(files.items())}


def _insert_blobs(node: Any, refs: Iterable[BlobRef]) -> None:
    for ref in refs:
        node.store.conn.execute("INSERT OR IGNORE INTO blobs(sha256, size, media_type, stored_at) VALUES(?, ?, ?, ?)",
                                (ref.sha256, ref.size, ref.media_type, node.now().isoformat()))


def _refuse_problems(code: str, headline: str, problems: list[str], hint: str | None = None) -> None:
    if problems:
        raise CaseError(code, f"{headline}（共 {len(problems)} 处），未做任何记录", errors=problems, hint=hint)


# -- the commands -------------------------------------------------------------------------------------
def receive_case(node: Any, intake: Intake, *, staff: str) -> CaseState:
    from edgenode.cases.applicant import applicant_from_form, validated_form
    from edgenode.replication.numbers import next_case_no

    item, version, offered = get_item(node.store, intake.item_code)
    if not offered:
        raise CaseError("CASE_001", f"事项“{item.name}”未下放到本节点（{node.config.division}），不能在此收件",
                        hint="请引导申请人到有权受理的服务站或中心办理")
    values = validated_form(item, intake.form, today=_today(node), confirmed=intake.confirmed)
    marks = MaterialMarks(frozenset(intake.files), intake.marks.e_licence, intake.marks.tolerated,
                          intake.marks.committed, dict(intake.marks.defective))
    assessment = assess_materials(item, marks)
    _refuse_problems("CASE_004", "材料标记有误", assessment.problems)
    outcome = choose_outcome(item, assessment, complex_=intake.complex_, role=node.config.role,
                             is_village=node.config.is_village)
    refs = _store_files(node, intake.files)
    now, today = node.now(), _today(node)
    case_id = new_event_id(int(now.timestamp() * 1000))
    with node.store.write():
        _insert_blobs(node, refs.values())
        w = _Writer(node, case_id, staff)
        case_no, _ = next_case_no(node, now.year)  # from the county's block; node-prefixed when none is left
        materials = {mid: _material_entry(item, mid, state, assessment.reasons.get(mid), refs.get(mid))
                     for mid, state in assessment.states.items()}
        w.add(F.CASE_RECEIVED, {
            "case_no": case_no, "item": _item_snapshot(item, version), **applicant_from_form(item, values),
            "form": values, "materials": materials, "received_at": now.isoformat(), "received_on": today.isoformat(),
            "channel": intake.channel, "complex": intake.complex_,
            "station": {"node": node.config.node_id, "division": node.config.division, "name": node.config.name}})
        _record_outcome(node, w, item, assessment, outcome, today)
        return w.finish("case.receive", {"item": item.code, "version": version, "outcome": outcome,
                                         "blobs": sorted(r.sha256 for r in refs.values())})


def _record_outcome(node: Any, w: _Writer, item: Item, assessment: Any, outcome: str, today: date) -> None:
    issued = node.now().isoformat()
    if outcome == "proxy_receipt":
        w.add(F.RECEIVED_ON_BEHALF, {"forward_to": item.decided_by, "missing": assessment.listed,
                                     "doc_no": w.doc_no("proxy_receipt"), "issued_at": issued})
    elif outcome == "registration":
        due = _deadline(node, today, node.config.notice_working_days)
        w.add(F.RECEIPT_REGISTERED, {"notice_due": due["due"], "notice_due_provisional": due["provisional"],
                                     "missing": assessment.listed, "doc_no": w.doc_no("registration_receipt"),
                                     "issued_at": issued})
    elif outcome == "one_time":
        _request_correction(w, assessment.states, assessment.reasons, issued)
    else:
        _accept(node, w, item.limit_days, assessment.ids("tolerated"), today, issued)
        if outcome == "immediate":
            w.add(F.CASE_DECIDED, {"outcome": "approved", "reason": "即办件当场办结", "decided_on": today.isoformat(),
                                   "by": node.config.name, "by_role": node.config.role, "doc_no": w.doc_no("decision"), "issued_at": issued})


def _request_correction(w: _Writer, states: dict[str, str], reasons: dict[str, str], issued: str) -> None:
    listed = {mid: {"state": state, "reason": reasons.get(mid, "")}
              for mid, state in states.items() if state in ("missing", "defective")}
    w.add(F.CORRECTION_REQUESTED, {"listed": listed, "doc_no": w.doc_no("one_time"), "issued_at": issued,
                                   "legal_basis": "《中华人民共和国行政许可法》第三十二条第一款第(四)项"})


def _accept(node: Any, w: _Writer, limit_days: int | None, tolerated: list[str], accepted_on: date,
            issued: str, *, deemed: bool = False) -> None:
    payload: dict[str, Any] = {"accepted_on": accepted_on.isoformat(), "deemed": deemed, "limit_days": limit_days,
                               "tolerated": tolerated, "doc_no": w.doc_no("acceptance"), "issued_at": issued}
    if limit_days is not None:
        due = _deadline(node, accepted_on, limit_days)
        payload.update(promised_due=due["due"], promised_due_provisional=due["provisional"])
    if tolerated:
        payload["tolerated_due"] = _deadline(node, accepted_on, node.config.tolerance_working_days)["due"]
    w.add(F.CASE_ACCEPTED, payload)


def _require_status(state: CaseState, allowed: tuple[str, ...], action: str) -> None:
    if state.status not in allowed:
        from edgenode.cases.view import STATUS_NAMES

        raise CaseError("CASE_011", f"办件 {state.case_no} 当前为“{STATUS_NAMES.get(state.status, state.status)}”，不能{action}",
                        context={"status": state.status})
