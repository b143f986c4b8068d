"""Editing a case's application form, and resolving the conflicts replicas raise (ADR 0009).

`edit_case_fields` records `ApplicantFieldsEdited` with the changed fields only, after validating the
whole merged form with the item's form (the version the case was received under), so a replica that
applies the edit never holds a form the clerk could not have entered. `resolve_conflict` records
`ConflictResolved`: a person's choice for a field or a material, or the acknowledgement that a decision
by a higher authority stands. Both write the event, the case projection and the audit entry in one
transaction; the audit entry names fields and event ids, never the values (personal data).
"""

from __future__ import annotations

from typing import Any, Collection, Mapping

from edgenode.catalog import Item
from edgenode.catalog_store import get_item
from edgenode.cases import fold as F
from edgenode.cases.fold import CONCLUDED, CaseState, fold
from edgenode.cases.followup import _text
from edgenode.cases.service import _today, _Writer, load_case, load_events
from edgenode.errors import CaseError

_PROBE = "\x00edgenode-probe\x00"
# Cases worth folding when looking for conflicts: a conflict needs two events of one of these groups (two
# edits, two corrections, two decisions or refusals, two hand-overs, two evaluations); a decision followed by
# its hand-over is no candidate. The search runs on the events_by_type index (migration 0006).
_CONTESTED_GROUPS = ((F.APPLICANT_FIELDS_EDITED,), (F.MATERIALS_CORRECTED,), (F.CASE_DECIDED, F.CASE_REJECTED),
                     (F.CASE_HANDED_OVER,), (F.EVALUATION_GIVEN,))
_CONTESTED_TYPES = tuple(t for group in _CONTESTED_GROUPS for t in group)


def contested_cases_query() -> tuple[str, tuple[str, ...]]:
    """(SQL, parameters) giving the ids of cases that may hold a conflict record."""
    def marks(types: tuple[str, ...]) -> str:
        return ", ".join("?" for _ in types)

    having = " OR ".join(f"sum(type IN ({marks(group)})) > 1" for group in _CONTESTED_GROUPS)
    return (f"SELECT case_id FROM events WHERE type IN ({marks(_CONTESTED_TYPES)}) GROUP BY case_id HAVING {having}",
            _CONTESTED_TYPES + tuple(t for group in _CONTESTED_GROUPS for t in group))


def _form_fields(item: Item) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in item.form.get("fields", [])}


def _label(item: Item, name: str) -> str:
    spec = _form_fields(item).get(name, {})
    return f"{spec.get('label', name)}（{name}）"


def _validated_values(node: Any, item: Item, form: dict[str, Any], changed: Collection[str],
                      confirmed: Collection[str]) -> dict[str, Any]:
    """The merged form through the item's form; fields not changed count as confirmed (they were)."""
    from edgenode.cases.applicant import validated_form

    unchanged = set(_form_fields(item)) - set(changed)
    return validated_form(item, form, today=_today(node), confirmed=unchanged | set(confirmed))


def _applicant_keys(item: Item, values: dict[str, Any], names: Collection[str]) -> dict[str, list[str]]:
    """Which applicant / agent keys each field fills, found by asking `applicant_from_form` itself."""
    from edgenode.cases.applicant import applicant_from_form

    found: dict[str, list[str]] = {}
    for name in sorted(names):
        try:
            picked = applicant_from_form(item, {**values, name: _PROBE})
        except CaseError:
            continue
        paths = [f"{holder}.{key}" for holder in ("applicant", "agent")
                 for key, value in sorted((picked.get(holder) or {}).items()) if value == _PROBE]
        if paths:
            found[name] = paths
    return found


def project_applicant(node: Any, state: CaseState) -> None:
    """Keep the projection's applicant name in step with edits (the case upsert leaves it alone)."""
    if state.applicant.get("name"):
        node.store.conn.execute("UPDATE cases SET applicant_name = ? WHERE id = ?",
                                (str(state.applicant["name"]), state.case_id))


def edit_case_fields(node: Any, ref: str, fields: Mapping[str, Any], reason: str, staff: str, *,
                     confirmed: Collection[str] = ()) -> CaseState:
    """Correct application form fields of a case that is not concluded; records only what changed."""
    state, events = load_case(node, ref)
    if state.status in CONCLUDED:
        raise CaseError("CASE_011", f"办件 {state.case_no} 已办结或不予受理，不能再修改申请表",
                        context={"status": state.status}, hint="如确需更正，请由决定机关依法处理")
    reason = _text(reason, "修改原因", 200)
    if not fields:
        raise CaseError("CASE_041", "没有指定要修改的字段", hint="用 --set 字段名=值 指定，可多次使用")
    item, _, _ = get_item(node.store, state.item["code"], state.item["version"])
    unknown = sorted(set(fields) - set(_form_fields(item)))
    if unknown:
        raise CaseError("CASE_040", f"事项“{item.name}”的申请表没有这些字段：{'、'.join(n[:64] for n in unknown)}，未做任何修改",
                        errors=[f"没有字段 {n[:64]}" for n in unknown],
                        hint=f"可修改的字段：{'、'.join(sorted(_form_fields(item)))}")
    contested = sorted(name for name in fields if any(c["field"] == name for c in state.open_conflicts))
    if contested:
        raise CaseError("CASE_042", f"{'、'.join(_label(item, n) for n in contested)} 有未解决的冲突（两处同时修改为不同的值），"
                        "请先处理冲突", context={"fields": contested},
                        hint=f"edgenode conflicts resolve {state.case_no} {contested[0]} --value 正确的值")
    values = _validated_values(node, item, {**state.form, **fields}, fields, confirmed)
    changed = {name: values.get(name) for name in sorted(fields) if values.get(name) != state.form.get(name)}
    if not changed:
        raise CaseError("CASE_041", "所填的值与申请表现有内容相同，没有需要修改的内容")
    payload: dict[str, Any] = {"fields": changed, "reason": reason}
    keys = _applicant_keys(item, values, changed)
    if keys:
        payload["applicant_keys"] = keys
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.APPLICANT_FIELDS_EDITED, payload)
        new = w.finish("case.edit", {"fields": sorted(changed)})
        project_applicant(node, new)
        return new


def _field_choice(node: Any, state: CaseState, field: str, value: Any) -> Any:
    item, _, _ = get_item(node.store, state.item["code"], state.item["version"])
    return _validated_values(node, item, {**state.form, field: value}, {field}, ()).get(field)


def _material_choice(conflict: dict[str, Any], value: Any) -> dict[str, Any]:
    text = str(value or "").strip().lower()
    current = [v["value"] for v in conflict["values"] if v["current"] and isinstance(v["value"], dict)]
    matches = [entry for entry in current
               if (entry.get("blob") and len(text) >= 8 and str(entry["blob"]).startswith(text))
               or (not entry.get("blob") and entry.get("state") == text)]
    distinct = {(m.get("state"), m.get("blob")) for m in matches}
    if len(distinct) != 1:
        choices = [str(e.get("blob") or e.get("state")) for e in current]
        raise CaseError("CASE_044", f"“{text[:64]}”不是冲突中的材料之一，请用扫描件的 SHA-256（至少前8位）选定其一",
                        errors=[f"可选：{c}" for c in choices])
    return dict(matches[0])


def _decision_choice(conflict: dict[str, Any], value: Any) -> Any:
    winner = next(v for v in conflict["values"] if v["event"] == conflict["winner"])
    if str(value) != str(winner["value"]):
        raise CaseError("CASE_044", f"同时作出的决定以权限更高或更早的一方为准（{winner['value']}，{winner['author_node']}），"
                        "不能改选；请核对后确认", hint=f"确认时 --value {winner['value']}")
    return winner["value"]


def resolve_conflict(node: Any, ref: str, field: str, value: Any, staff: str) -> CaseState:
    """A person settles the open conflict on `field` of a case (a form field, `material:ID`, `case:decision`)."""
    state, events = load_case(node, ref)
    conflict = next((c for c in state.open_conflicts if c["field"] == field), None)
    if conflict is None:
        raise CaseError("CASE_043", f"办件 {state.case_no} 的 {field[:64]} 没有待处理的冲突",
                        hint="可用 edgenode conflicts list 查看待处理的冲突")
    if conflict["kind"] == "field":
        chosen = _field_choice(node, state, field, value)
        resolved = sorted(v["event"] for v in conflict["values"] if v["current"])
    elif conflict["kind"] == "material":
        chosen = _material_choice(conflict, value)
        resolved = sorted(v["event"] for v in conflict["values"] if v["current"])
    else:
        chosen = _decision_choice(conflict, value)
        resolved = sorted(v["event"] for v in conflict["values"])
    with node.store.write():
        w = _Writer(node, state.case_id, staff, events)
        w.add(F.CONFLICT_RESOLVED, {"field": field, "chosen_value": chosen, "event_ids_resolved": resolved})
        new = w.finish("conflict.resolve", {"field": field, "kind": conflict["kind"], "events": resolved})
        project_applicant(node, new)
        return new


def list_conflicts(node: Any, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """Conflict records across cases (open ones unless `include_resolved`), by case number and field."""
    rows = node.store.query(*contested_cases_query())
    found = []
    for row in rows:
        state = fold(load_events(node, row["case_id"]))
        for conflict in state.conflicts if include_resolved else state.open_conflicts:
            found.append({"case_id": state.case_id, "case_no": state.case_no,
                          "item": state.item.get("name"), **conflict})
    return sorted(found, key=lambda c: (c["case_no"], c["field"], c["values"][0]["hlc"]))
