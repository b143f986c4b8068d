"""The case state as a deterministic fold of its events.

Pure: events in any storage order, with duplicates, give the same state, because the fold dedupes by
event id and applies events in (HLC, id) order; where order is not enough (concurrent events from
replicas that had not seen each other) it decides from the causal bases (`sync.merge`), which are the
same whatever order the events arrived in. The rules (docs/adr/0009-conflicts.md):

- the case concludes once (decided, rejected or handed over): among the first concurrent concluding
  events, the one by the highest authority wins (county above township above station; a decision
  records `by_role`), the earliest by (HLC, id) among equals; the others are kept in `late_events` and
  in a decision conflict record. A concluded case never moves back: a later status change is kept in
  `late_events` and flagged, not applied;
- materials merge by union; concurrent corrections of the same material with different scans keep
  both and open a conflict;
- applicant field edits are multi-value registers: a causally later edit replaces an earlier one,
  concurrent different values keep both in one open conflict per field until a person resolves it
  (`ConflictResolved`); an edit the conclusion had not seen is applied and flagged in `late_events`;
- evaluations (好差评) are never edited: one per visit (a service outcome event, `visit`); an evaluation
  made after another of the same visit had been seen is kept in `late_events`, not applied; concurrent
  evaluations of the same visit (two devices that had not seen each other) are all listed and open an
  evaluation conflict: the first by (HLC, id) is the one counted, a person acknowledges (docs/adr/0013).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from sync.envelope import Event
from sync.merge import CausalIndex, Contest, Write, canonical, registers

# Event types (past tense). Payloads are documented in docs/events.md.
CASE_RECEIVED = "CaseReceived"
RECEIPT_REGISTERED = "ReceiptRegistered"
RECEIVED_ON_BEHALF = "ReceivedOnBehalf"
CORRECTION_REQUESTED = "CorrectionRequested"
MATERIALS_CORRECTED = "MaterialsCorrected"
CASE_ACCEPTED = "CaseAccepted"
CASE_REJECTED = "CaseRejected"
CASE_TRANSFERRED = "CaseTransferred"
CLOCK_SUSPENDED = "ClockSuspended"
CLOCK_RESUMED = "ClockResumed"
CASE_DECIDED = "CaseDecided"
CASE_HANDED_OVER = "CaseHandedOver"
APPLICANT_FIELDS_EDITED = "ApplicantFieldsEdited"
CONFLICT_RESOLVED = "ConflictResolved"
EVALUATION_GIVEN = "EvaluationGiven"
BAD_RATING_FOLLOWED_UP = "BadRatingFollowedUp"
RECTIFICATION_REPORTED = "RectificationReported"

# Conflict keys: form field names are identifiers, so these cannot clash with them.
MATERIAL_KEY = "material:"      # + material id
DECISION_KEY = "case:decision"
EVALUATION_KEY = "evaluation:"  # + the id of the visit (service outcome event) evaluated
# 好差评 levels by name; GB/T 39046 codes them 1 = 非常满意 … 5 = 非常不满意 (the opposite of stars).
LEVELS = ("非常满意", "满意", "基本满意", "不满意", "非常不满意")
BAD_LEVELS = frozenset({"不满意", "非常不满意"})
LEVEL_CODE_SYSTEM = "GB/T 39046"
# Service outcome events: each is one visit (一次服务) the applicant may evaluate once. A registration
# receipt (收件登记) is not: the formal review that completes that service is still to come.
VISIT_KIND = {
    RECEIVED_ON_BEHALF: "proxy_receipt",
    CORRECTION_REQUESTED: "one_time",
    CASE_ACCEPTED: "acceptance",
    CASE_REJECTED: "rejection",
    CASE_DECIDED: "decision",
    CASE_HANDED_OVER: "handover",
}
CONCLUDING = frozenset({CASE_DECIDED, CASE_REJECTED, CASE_HANDED_OVER})
# Who outranks whom when concurrent events conclude a case: the deciding body above everything below it.
# A field laptop acts for its station; a concluding event without `by_role` proves no authority.
AUTHORITY = {"field": 0, "station": 0, "township": 1, "county": 2, "province": 3}
CONCLUDED = frozenset({"decided", "handed_over", "rejected"})
# Statuses an event moves a case to; None leaves the status alone.
_STATUS_OF = {
    RECEIPT_REGISTERED: "registered",
    RECEIVED_ON_BEHALF: "received_on_behalf",
    CORRECTION_REQUESTED: "incomplete",
    CASE_ACCEPTED: "accepted",
    CASE_REJECTED: "rejected",
    CASE_DECIDED: "decided",
    CASE_HANDED_OVER: "handed_over",
}
NOTICE_KIND = {
    RECEIPT_REGISTERED: "registration_receipt",
    RECEIVED_ON_BEHALF: "proxy_receipt",
    CORRECTION_REQUESTED: "one_time",
    CASE_ACCEPTED: "acceptance",
    CASE_REJECTED: "rejection",
    CASE_DECIDED: "decision",
}


@dataclass
class CaseState:
    case_id: str
    case_no: str = ""
    status: str = "received"
    item: dict[str, Any] = field(default_factory=dict)
    applicant: dict[str, Any] = field(default_factory=dict)
    agent: dict[str, Any] | None = None
    form: dict[str, Any] = field(default_factory=dict)
    materials: dict[str, dict[str, Any]] = field(default_factory=dict)
    received_at: str = ""
    received_on: str = ""
    channel: str = "counter"
    complex: bool = False
    notice_due: str | None = None
    accepted_on: str | None = None
    deemed: bool = False
    limit_days: int | None = None
    promised_due: str | None = None
    tolerated_due: str | None = None
    outstanding: list[str] = field(default_factory=list)
    pauses: list[list[str | None]] = field(default_factory=list)
    transferred_to: str | None = None
    decision: dict[str, Any] | None = None
    handover: dict[str, Any] | None = None
    rejection: dict[str, Any] | None = None
    notices: list[dict[str, Any]] = field(default_factory=list)
    spot_check: bool = False
    late_events: list[str] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    visits: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    updated_hlc: str = ""

    @property
    def suspended(self) -> bool:
        return bool(self.pauses) and self.pauses[-1][1] is None

    @property
    def open_conflicts(self) -> list[dict[str, Any]]:
        return [conflict for conflict in self.conflicts if not conflict["resolved"]]

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items()}


def _received(state: CaseState, p: dict[str, Any]) -> None:
    state.case_no = p["case_no"]
    state.item = dict(p["item"])
    state.applicant = dict(p["applicant"])
    state.agent = p.get("agent")
    state.form = dict(p["form"])
    state.materials = {mid: dict(m) for mid, m in p["materials"].items()}
    state.received_at = p["received_at"]
    state.received_on = p["received_on"]
    state.channel = p.get("channel", "counter")
    state.complex = bool(p.get("complex"))
    state.spot_check = any(m["state"] == "committed" for m in state.materials.values())


def _registered(state: CaseState, p: dict[str, Any]) -> None:
    state.notice_due = p["notice_due"]
    state.outstanding = list(p.get("missing", []))


def _correction_requested(state: CaseState, p: dict[str, Any]) -> None:
    for mid, reason in p["listed"].items():
        if mid in state.materials:
            state.materials[mid] = {**state.materials[mid], "state": reason["state"], "reason": reason["reason"]}
    state.outstanding = sorted(p["listed"])


def _materials_corrected(state: CaseState, p: dict[str, Any]) -> None:
    for mid, material in p["materials"].items():
        state.materials[mid] = {**state.materials.get(mid, {}), **material}
        state.spot_check = state.spot_check or material.get("state") == "committed"
    resolved = {mid for mid, m in p["materials"].items() if m["state"] in ("provided", "e_licence", "committed", "tolerated")}
    state.outstanding = [mid for mid in state.outstanding if mid not in resolved]


def _accepted(state: CaseState, p: dict[str, Any]) -> None:
    state.accepted_on = p["accepted_on"]
    state.deemed = bool(p.get("deemed"))
    state.limit_days = p.get("limit_days")
    state.promised_due = p.get("promised_due")
    state.tolerated_due = p.get("tolerated_due")
    state.outstanding = list(p.get("tolerated", []))


def _rejected(state: CaseState, p: dict[str, Any]) -> None:
    state.rejection = dict(p)


def _transferred(state: CaseState, p: dict[str, Any]) -> None:
    state.transferred_to = p["to"]
    if state.status == "received_on_behalf":
        state.status = "transferred"


def _suspended(state: CaseState, p: dict[str, Any]) -> None:
    if not state.suspended:
        state.pauses.append([p["on"], None])


def _resumed(state: CaseState, p: dict[str, Any]) -> None:
    if state.suspended:
        state.pauses[-1][1] = p["on"]


def _decided(state: CaseState, p: dict[str, Any]) -> None:
    state.decision = dict(p)


def _handed_over(state: CaseState, p: dict[str, Any]) -> None:
    state.handover = dict(p)


_APPLY: dict[str, Callable[[CaseState, dict[str, Any]], None]] = {
    CASE_RECEIVED: _received,
    RECEIPT_REGISTERED: _registered,
    RECEIVED_ON_BEHALF: lambda state, p: None,
    CORRECTION_REQUESTED: _correction_requested,
    MATERIALS_CORRECTED: _materials_corrected,
    CASE_ACCEPTED: _accepted,
    CASE_REJECTED: _rejected,
    CASE_TRANSFERRED: _transferred,
    CLOCK_SUSPENDED: _suspended,
    CLOCK_RESUMED: _resumed,
    CASE_DECIDED: _decided,
    CASE_HANDED_OVER: _handed_over,
}


def fold(events: Iterable[Event]) -> CaseState:
    unique = {event.id: event for event in events}
    ordered = sorted(unique.values(), key=Event.sort_key)
    if not ordered:
        raise ValueError("a case needs at least one event")
    state = CaseState(case_id=ordered[0].case_id)
    for event in ordered:
        if event.case_id != state.case_id:
            raise ValueError(f"event {event.id} belongs to another case")
    index = CausalIndex(ordered)
    winner = _conclusion(ordered, index)
    late: set[str] = set()
    deferred: list[Event] = []  # hand-overs, settled once the winning decision is known
    for event in ordered:
        state.event_ids.append(event.id)
        state.updated_hlc = event.hlc
        if winner is not None and event.type in CONCLUDING and event.id != winner.id:
            if event.type == CASE_HANDED_OVER and winner.type == CASE_DECIDED:
                deferred.append(event)
            else:
                late.add(event.id)
            continue
        new_status = _STATUS_OF.get(event.type)
        if state.status in CONCLUDED and (new_status or event.type in (MATERIALS_CORRECTED, CASE_TRANSFERRED)):
            late.add(event.id)
            continue
        apply = _APPLY.get(event.type)
        if apply is not None:
            apply(state, dict(event.payload))
        if new_status:
            state.status = new_status
        if event.type in NOTICE_KIND and event.payload.get("doc_no"):
            state.notices.append({"kind": NOTICE_KIND[event.type], "doc_no": event.payload["doc_no"],
                                  "issued_at": event.payload.get("issued_at"), "event": event.id})
    stale_handover = _settle_handovers(state, winner, deferred, index, late) if deferred else None
    conflicts = _decision_conflict(ordered, winner, index, stale_handover)
    conflicts += _merge_materials(state, ordered, index, late)
    conflicts += _merge_fields(state, ordered, index)
    if winner is not None:
        late.update(e.id for e in ordered if e.type == APPLICANT_FIELDS_EDITED
                    and not index.happened_before(e.id, winner.id))
    state.visits = _visits(ordered, late)
    conflicts += _evaluations(state, ordered, index, late)
    state.conflicts = sorted(conflicts, key=lambda c: (c["field"], c["values"][0]["hlc"], c["values"][0]["event"]))
    state.late_events = [eid for eid in state.event_ids if eid in late]
    return state


# -- conclusion: authority, then (HLC, id) ------------------------------------------------------------
def _rank(event: Event) -> int:
    return AUTHORITY.get(str(event.payload.get("by_role")), 0)


def _first_conclusions(ordered: list[Event], index: CausalIndex) -> list[Event]:
    """Concluding events made without having seen another one (pairwise concurrent), in (HLC, id) order."""
    by_id = {e.id: e for e in ordered if e.type in CONCLUDING}
    firsts = index.minimal(by_id) or list(by_id)  # `or`: only a forged cycle leaves no minimal one
    return [by_id[eid] for eid in firsts]


def _conclusion(ordered: list[Event], index: CausalIndex) -> Event | None:
    firsts = _first_conclusions(ordered, index)
    return min(firsts, key=lambda e: (-_rank(e), e.hlc, e.id)) if firsts else None


def _settle_handovers(state: CaseState, winner: Event, handovers: list[Event], index: CausalIndex,
                      late: set[str]) -> str | None:
    """The case is handed over; prefer a hand-over of the winning decision. Returns a stale one's id."""
    of_winner = [h for h in handovers if index.happened_before(winner.id, h.id)]
    chosen = (of_winner or handovers)[0]
    state.handover = dict(chosen.payload)
    state.status = "handed_over"
    late.update(h.id for h in handovers if h.id != chosen.id)
    return None if of_winner else chosen.id


def _outcome(event: Event) -> Any:
    if event.type == CASE_DECIDED:
        return event.payload.get("outcome")
    return "rejected" if event.type == CASE_REJECTED else "handed_over"


def _value_entry(event: Event, value: Any, current: bool) -> dict[str, Any]:
    return {"value": copy.deepcopy(value), "event": event.id, "event_type": event.type,
            "author_node": event.author_node, "author_staff": event.author_staff, "hlc": event.hlc,
            "current": current}


def _resolutions(ordered: list[Event], key: str, members: set[str]) -> list[Event]:
    return [e for e in ordered if e.type == CONFLICT_RESOLVED and e.payload.get("field") == key
            and members & set(e.payload.get("event_ids_resolved") or ())]


def _decision_conflict(ordered: list[Event], winner: Event | None, index: CausalIndex,
                       stale_handover: str | None) -> list[dict[str, Any]]:
    """Concurrent conclusions: the rule picked the winner; a person acknowledges (ConflictResolved)."""
    firsts = _first_conclusions(ordered, index)
    if winner is None or len(firsts) < 2:
        return []
    members = {e.id for e in firsts}
    acks = _resolutions(ordered, DECISION_KEY, members)
    others = max(_rank(e) for e in firsts if e.id != winner.id)
    values = [{**_value_entry(e, _outcome(e), e.id == winner.id), "by_role": e.payload.get("by_role")}
              for e in firsts]
    return [{"kind": "decision", "field": DECISION_KEY, "values": values, "winner": winner.id,
             "rule": "authority" if _rank(winner) > others else "first", "stale_handover": stale_handover,
             "resolved": any(index.covers(ack.id, members) for ack in acks),
             "resolutions": [ack.id for ack in acks]}]


# -- registers: materials by union, applicant fields ------------------------------------------------
def _record(kind: str, contest: Contest) -> dict[str, Any]:
    return {"kind": kind, "field": contest.key,
            "values": [_value_entry(w.event, w.value, w.event.id in contest.current) for w in contest.writes],
            "resolved": not contest.open, "resolutions": [w.event.id for w in contest.resolutions]}


def _resolution_write(event: Event) -> Write:
    return Write(key=str(event.payload.get("field")), value=event.payload.get("chosen_value"), event=event,
                 resolves=tuple(event.payload.get("event_ids_resolved") or ()))


def _material_same(value: Any) -> str:
    if isinstance(value, dict):
        return canonical([value.get("state"), value.get("blob")])
    return canonical(value)


def _merge_materials(state: CaseState, ordered: list[Event], index: CausalIndex,
                     late: set[str]) -> list[dict[str, Any]]:
    writes = [Write(key=MATERIAL_KEY + mid, value=entry, event=e)
              for e in ordered if e.type == MATERIALS_CORRECTED and e.id not in late
              for mid, entry in sorted(e.payload.get("materials", {}).items())]
    writes += [_resolution_write(e) for e in ordered if e.type == CONFLICT_RESOLVED
               and str(e.payload.get("field", "")).startswith(MATERIAL_KEY)]
    records = []
    for key, reg in registers(writes, index, _material_same).items():
        mid = key[len(MATERIAL_KEY):]
        if isinstance(reg.value, dict):
            state.materials[mid] = {**state.materials.get(mid, {}), **copy.deepcopy(reg.value)}
        records += [_record("material", contest) for contest in reg.contests]
    return records


def _id_type(number: Any) -> str | None:
    """As `applicant_from_form` names it: a USCC has letters in its first 17 characters."""
    if not number:
        return None
    text = str(number)
    return "统一社会信用代码" if len(text) == 18 and not text[:17].isdigit() else "居民身份证"


def _merge_fields(state: CaseState, ordered: list[Event], index: CausalIndex) -> list[dict[str, Any]]:
    writes: list[Write] = []
    derived: dict[str, tuple[str, ...]] = {}  # form field -> applicant/agent keys it fills
    for e in ordered:
        if e.type == APPLICANT_FIELDS_EDITED:
            writes += [Write(key=name, value=value, event=e) for name, value in sorted(e.payload.get("fields", {}).items())]
            derived.update({name: tuple(paths) for name, paths in (e.payload.get("applicant_keys") or {}).items()})
        elif e.type == CONFLICT_RESOLVED and ":" not in str(e.payload.get("field", "")):
            writes.append(_resolution_write(e))
    records = []
    for key, reg in registers(writes, index).items():
        value = copy.deepcopy(reg.value)
        if value is None:
            state.form.pop(key, None)
        else:
            state.form[key] = value
        for path in derived.get(key, ()):
            holder, _, attr = path.partition(".")
            if holder == "applicant":
                state.applicant[attr] = value
                if attr == "id_number":
                    state.applicant["id_type"] = _id_type(value)
            elif holder == "agent":
                state.agent = {**(state.agent or {}), attr: value}
        records += [_record("field", contest) for contest in reg.contests]
    return records


# -- evaluations (好差评) -------------------------------------------------------------------------------
def _visits(ordered: list[Event], late: set[str]) -> list[dict[str, Any]]:
    """Service outcomes that stand, oldest first: what an applicant can evaluate, once each."""
    return [{"event": e.id, "kind": VISIT_KIND[e.type], "at": _event_time(e)}
            for e in ordered if e.type in VISIT_KIND and e.id not in late]


def _event_time(event: Event) -> str:
    issued = event.payload.get("issued_at")
    if isinstance(issued, str) and issued:
        return issued
    from datetime import datetime

    from edgenode.clock import CHINA_TZ
    from sync.hlc import Timestamp

    try:
        wall_ms = Timestamp.decode(event.hlc).wall_ms
    except ValueError:
        return ""
    return datetime.fromtimestamp(wall_ms / 1000, tz=CHINA_TZ).isoformat()


def _evaluation_record(event: Event, counted: bool) -> dict[str, Any]:
    p = event.payload
    level = p.get("level")
    return {"event": event.id, "visit": p.get("visit"), "visit_kind": p.get("visit_kind"), "level": level,
            "code": p.get("code"), "code_system": p.get("code_system", LEVEL_CODE_SYSTEM),
            "bad": level in BAD_LEVELS, "channel": p.get("channel"), "given_by": p.get("given_by", "applicant"),
            "recorded_by": event.author_staff, "author_node": event.author_node, "given_at": p.get("given_at"),
            "comment": p.get("comment", ""), "follow_up_due": p.get("follow_up_due"),
            "rectification_due": p.get("rectification_due"), "followed_up": None, "rectified": None,
            "counted": counted}


def _evaluations(state: CaseState, ordered: list[Event], index: CausalIndex, late: set[str]) -> list[dict[str, Any]]:
    """One evaluation per visit: later ones (that saw it) are late; concurrent ones open a conflict."""
    by_visit: dict[str, list[Event]] = {}
    for e in ordered:
        if e.type == EVALUATION_GIVEN:
            by_visit.setdefault(str(e.payload.get("visit")), []).append(e)
    records: dict[str, dict[str, Any]] = {}
    conflicts = []
    for visit, given in by_visit.items():
        firsts = index.minimal(e.id for e in given) or [given[0].id]
        late.update(e.id for e in given if e.id not in firsts)
        for e in given:
            if e.id in firsts:
                records[e.id] = _evaluation_record(e, counted=e.id == firsts[0])
        if len(firsts) > 1:
            key, members = EVALUATION_KEY + visit, set(firsts)
            acks = _resolutions(ordered, key, members)
            conflicts.append({
                "kind": "evaluation", "field": key, "winner": firsts[0], "rule": "first", "stale_handover": None,
                "values": [_value_entry(e, e.payload.get("level"), e.id == firsts[0]) for e in given if e.id in members],
                "resolved": any(index.covers(ack.id, members) for ack in acks),
                "resolutions": [ack.id for ack in acks]})
    for e in ordered:  # the first follow-up / report of an evaluation is the one on record
        slot = {BAD_RATING_FOLLOWED_UP: "followed_up", RECTIFICATION_REPORTED: "rectified"}.get(e.type)
        record = records.get(str(e.payload.get("evaluation"))) if slot else None
        if record is not None and record[slot] is None:
            record[slot] = {"on": e.payload.get("on"), "text": e.payload.get("note") or e.payload.get("report"),
                            "event": e.id, "by": e.author_staff, "node": e.author_node}
    state.evaluations = [records[e.id] for e in ordered if e.id in records]
    return conflicts
