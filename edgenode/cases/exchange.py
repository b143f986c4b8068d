"""Taking in case events made at another node: the step sync's inbox (and, until then, tests and a
station copying from its field laptop) uses to apply what arrived.

`import_events` checks every event first (known type, well-formed envelope, the payload keys the fold
needs, an HLC that names its author, not too far in the future) and refuses the whole batch with every
problem listed, writing nothing. Then, in one transaction, it writes the events not yet held (an id
already held with the same content is skipped, so importing twice changes nothing; the same id with
other content is refused), moves this node's hybrid logical clock past them (so local events made
afterwards sort after what was seen), refreshes each touched case's projection and writes one audit
entry per case. Events may arrive before the event that received their case: they are kept, and the
case appears in lists once its `CaseReceived` arrives. When corrections made at different nodes
together complete what the one-time notice listed, the node that received the case records the
acceptance (no single node could have).
"""

from __future__ import annotations

import json
import uuid
from datetime import date
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from edgenode.cases import fold as F
from edgenode.cases.edits import project_applicant
from edgenode.cases.service import _Writer, load_events, load_events_of
from edgenode.errors import CaseError
from sync.envelope import Event
from sync.hlc import HybridClock, Timestamp

DEFAULT_MAX_DRIFT_MS = 24 * 3600 * 1000  # provisional until the sync protocol fixes the bound
# Payload keys the fold reads, by event type; the value says what type each must have.
REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    F.CASE_RECEIVED: {"case_no": str, "item": dict, "applicant": dict, "form": dict, "materials": dict,
                      "received_at": str, "received_on": str},
    F.RECEIPT_REGISTERED: {"notice_due": str},
    F.RECEIVED_ON_BEHALF: {},
    F.CORRECTION_REQUESTED: {"listed": dict},
    F.MATERIALS_CORRECTED: {"materials": dict},
    F.CASE_ACCEPTED: {"accepted_on": str},
    F.CASE_REJECTED: {},
    F.CASE_TRANSFERRED: {"to": str},
    F.CLOCK_SUSPENDED: {"on": str},
    F.CLOCK_RESUMED: {"on": str},
    F.CASE_DECIDED: {"outcome": str},
    F.CASE_HANDED_OVER: {},
    F.APPLICANT_FIELDS_EDITED: {"fields": dict, "reason": str},
    F.CONFLICT_RESOLVED: {"field": str, "event_ids_resolved": list},
    F.EVALUATION_GIVEN: {"level": str, "visit": str, "channel": str},
    F.BAD_RATING_FOLLOWED_UP: {"evaluation": str, "on": str},
    F.RECTIFICATION_REPORTED: {"evaluation": str, "on": str},
}


@dataclass
class ImportResult:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"imported": len(self.imported), "skipped": len(self.skipped), "cases": list(self.cases)}


def _envelope_problems(event: Event) -> list[str]:
    where = f"事件 {str(event.id)[:40]}"
    problems = []
    try:
        if uuid.UUID(event.id).version != 7 or str(uuid.UUID(event.id)) != event.id:
            problems.append(f"{where}：编号不是规范的 UUIDv7")
    except (ValueError, AttributeError, TypeError):
        problems.append(f"{where}：编号不是 UUID")
    if event.type not in REQUIRED:
        problems.append(f"{where}：未知的事件类型 {str(event.type)[:40]}")
    if not isinstance(event.case_id, str) or not 0 < len(event.case_id) <= 64:
        problems.append(f"{where}：办件编号缺失或过长")
    if not isinstance(event.author_staff, str) or len(event.author_staff) > 64:
        problems.append(f"{where}：操作人员缺失或过长")
    try:
        if Timestamp.decode(event.hlc).node != event.author_node:
            problems.append(f"{where}：时间戳所属节点与作者节点不符")
    except (ValueError, AttributeError):
        problems.append(f"{where}：时间戳格式不正确")
    if not all(isinstance(base, str) for base in event.causal_base) or event.id in event.causal_base:
        problems.append(f"{where}：因果依据应为其他事件的编号")
    if event.version != 1:
        problems.append(f"{where}：不支持的载荷版本 {event.version}")
    return problems


def _payload_problems(event: Event) -> list[str]:
    payload = event.payload
    if not isinstance(payload, Mapping):
        return [f"事件 {event.id}：载荷应为对象"]
    problems = [f"事件 {event.id}（{event.type}）：缺少或类型不符的载荷项 {key}"
                for key, kind in REQUIRED.get(event.type, {}).items() if not isinstance(payload.get(key), kind)]
    if event.type == F.CASE_RECEIVED and isinstance(payload.get("item"), dict):
        if not all(key in payload["item"] for key in ("code", "version", "name")):
            problems.append(f"事件 {event.id}：受理事项快照缺少 code / version / name")
    if event.type == F.MATERIALS_CORRECTED and isinstance(payload.get("materials"), dict):
        if not all(isinstance(m, dict) and isinstance(m.get("state"), str) for m in payload["materials"].values()):
            problems.append(f"事件 {event.id}：补正材料项应含 state")
    if event.type == F.CONFLICT_RESOLVED and "chosen_value" not in payload:
        problems.append(f"事件 {event.id}：缺少 chosen_value")
    return problems


def _as_event(raw: Event | Mapping[str, Any]) -> Event:
    if isinstance(raw, Event):
        return raw
    try:
        return Event.from_dict(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise CaseError("CASE_045", f"事件格式不正确（{type(exc).__name__}），未导入任何事件") from None


def _stored(node: Any, ids: list[str]) -> dict[str, Event]:
    held: dict[str, Event] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = node.store.query(f"SELECT * FROM events WHERE id IN ({', '.join('?' for _ in chunk)})", chunk)
        held.update({r["id"]: Event(id=r["id"], case_id=r["case_id"], type=r["type"], hlc=r["hlc"],
                                    author_node=r["author_node"], author_staff=r["author_staff"],
                                    causal_base=tuple(json.loads(r["causal_base"])), payload=json.loads(r["payload"]),
                                    version=r["version"]) for r in rows})
    return held


def _same(a: Event, b: Event) -> bool:
    def canon(e: Event) -> str:
        return json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True)
    return canon(a) == canon(b)


def _case_problems(node: Any, new: list[Event]) -> list[str]:
    """A case is received once; its number is not another case's."""
    problems = []
    received: dict[str, Event] = {}
    for event in (e for e in new if e.type == F.CASE_RECEIVED):
        if event.case_id in received:
            problems.append(f"办件 {event.case_id}：收到两个不同的收件事件")
        received[event.case_id] = event
        if node.store.query_one("SELECT 1 FROM events WHERE case_id = ? AND type = ?", (event.case_id, F.CASE_RECEIVED)):
            problems.append(f"办件 {event.case_id}：本节点已有该办件的另一个收件事件")
        clash = node.store.query_one("SELECT id FROM cases WHERE case_no = ? AND id != ?",
                                     (event.payload["case_no"], event.case_id))
        if clash is not None:
            problems.append(f"办件编号 {str(event.payload['case_no'])[:64]} 已被本节点的另一办件使用")
    return problems


def import_events(node: Any, events: Iterable[Event | Mapping[str, Any]], *, staff: str,
                  max_drift_ms: int = DEFAULT_MAX_DRIFT_MS) -> ImportResult:
    """Write the events this node does not hold yet, with projection and audit; idempotent."""
    batch = {e.id: e for e in map(_as_event, events)}
    problems = [p for e in batch.values() for p in _envelope_problems(e)]
    problems += [p for e in batch.values() if e.type in REQUIRED for p in _payload_problems(e)]
    if problems:
        raise CaseError("CASE_045", f"有 {len(problems)} 处事件格式问题，未导入任何事件", errors=problems[:50])
    held = _stored(node, sorted(batch))
    altered = sorted(eid for eid, e in held.items() if not _same(e, batch[eid]))
    if altered:
        raise CaseError("CASE_046", f"{len(altered)} 个事件与本节点已有的同编号事件内容不同，未导入任何事件",
                        errors=[f"事件 {eid}" for eid in altered[:50]], hint="事件一经记录不可更改；请检查来源节点")
    new = sorted((e for eid, e in batch.items() if eid not in held), key=Event.sort_key)
    wall_ms = int(node.now().timestamp() * 1000)
    ahead = [e for e in new if Timestamp.decode(e.hlc).wall_ms - wall_ms > max_drift_ms]
    if ahead:
        raise CaseError("CASE_047", f"{len(ahead)} 个事件的时间比本节点时钟超前过多，未导入任何事件",
                        errors=[f"事件 {e.id}：{e.hlc[:13]}" for e in ahead[:50]],
                        hint="请核对来源节点或本节点的系统时间")
    problems = _case_problems(node, new)
    if problems:
        raise CaseError("CASE_048", "导入的办件与本节点已有办件冲突，未导入任何事件", errors=problems)
    result = ImportResult(imported=[e.id for e in new], skipped=sorted(held))
    if not new:
        return result
    by_case: dict[str, list[Event]] = {}
    for event in new:  # in (hlc, id) order, as load_events gives them
        by_case.setdefault(event.case_id, []).append(event)
    with node.store.write():
        earlier = _cases_with_events(node, sorted(by_case))
        _insert(node, new)
        _observe(node, max(Timestamp.decode(e.hlc) for e in new), wall_ms, max_drift_ms)
        histories = load_events_of(node, earlier)  # a case new here: its history is what just came
        for case_id in sorted(by_case):  # one fold, one projection and one audit entry per case
            _project(node, case_id, histories.get(case_id) or by_case[case_id], by_case[case_id], staff)
            result.cases.append(case_id)
    return result


def _cases_with_events(node: Any, case_ids: list[str]) -> list[str]:
    found: list[str] = []
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        found += [r["case_id"] for r in node.store.query(
            f"SELECT DISTINCT case_id FROM events WHERE case_id IN ({marks})", tuple(chunk))]
    return sorted(found)


def _insert(node: Any, events: list[Event]) -> None:
    at = node.now().isoformat()
    node.store.conn.executemany(
        "INSERT INTO events(id, case_id, type, hlc, author_node, author_staff, causal_base, payload, version, recorded_at) "
        "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(event.id, event.case_id, event.type, event.hlc, event.author_node, event.author_staff,
          json.dumps(list(event.causal_base)), json.dumps(dict(event.payload), ensure_ascii=False), event.version, at)
         for event in events])


def _observe(node: Any, latest: Timestamp, wall_ms: int, max_drift_ms: int) -> None:
    from edgenode.node import HLC_KEY

    last = node.store.get_meta(HLC_KEY)
    clock = HybridClock(node.config.node_id, Timestamp.decode(last) if last else None)
    node.store.set_meta(HLC_KEY, clock.observe(latest, wall_ms, max_drift_ms).encode())


def _project(node: Any, case_id: str, events: list[Event], new: list[Event], staff: str) -> None:
    detail = {"events": len(new), "types": sorted({e.type for e in new}),
              "from": sorted({e.author_node for e in new})}
    if not any(e.type == F.CASE_RECEIVED for e in events):
        node.record(staff, "case.import", case_id, {**detail, "awaiting_receipt": True})
        return
    state = _Writer(node, case_id, staff, events).finish("case.import", detail)
    project_applicant(node, state)
    _accept_completed(node, state, events, staff)


def _accept_completed(node: Any, state: Any, events: list[Event], staff: str) -> None:
    """Corrections made at two nodes, each incomplete on its own, may together supply everything the
    one-time notice listed: the case is then accepted as of the day the last of them arrived (ADR 0002).
    Only the node that received the case records it, so replicas do not issue two acceptances."""
    received = next(e for e in events if e.type == F.CASE_RECEIVED)
    if state.status != "incomplete" or state.outstanding or received.author_node != node.config.node_id:
        return
    from edgenode.cases.service import _accept

    corrected = [e for e in events if e.type == F.MATERIALS_CORRECTED and e.id not in state.late_events]
    last = max((str(e.payload.get("corrected_on", "")) for e in corrected), default=state.received_on)
    tolerated = sorted(mid for mid, m in state.materials.items() if m.get("state") == "tolerated")
    w = _Writer(node, state.case_id, staff, events)
    _accept(node, w, state.item.get("limit_days"), tolerated, date.fromisoformat(last), node.now().isoformat())
    w.finish("case.accept_merged", {"accepted_on": last})


def export_events(node: Any, case_ids: Iterable[str] | None = None) -> list[Event]:
    """Every event of the given cases (default: all cases) in (HLC, id) order, for another node."""
    wanted = sorted(set(case_ids)) if case_ids is not None else [
        row["case_id"] for row in node.store.query("SELECT DISTINCT case_id FROM events ORDER BY case_id")]
    return sorted((e for case_id in wanted for e in load_events(node, case_id)), key=Event.sort_key)
