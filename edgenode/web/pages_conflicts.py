"""冲突: each open conflict with the values side by side, resolved by choosing one (audited by the case writer).

The browser never sends a value back: each choice is the id of the event that wrote it, and the value passed
to `resolve_conflict` is read again from the case on the server, so masked ID numbers stay masked and a
stale page cannot choose something that is no longer in conflict.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import g, redirect, render_template, request

from edgenode.web import auth
from edgenode.web.ui import blueprint, mask_id

KIND_NAMES = {"field": "申请表字段", "material": "材料", "decision": "决定", "evaluation": "评价"}
OUTCOMES = {"approved": "准予", "denied": "不予", "rejected": "不予受理"}
MESSAGES = {"resolved": "冲突已处理（已记入审计日志）"}
SHOWN = 20        # conflicts rendered per page (the total is given); a page of them stays fast to render
_ID_LIKE = re.compile(r"\d{6,}[\dXx]")   # ID numbers and other long numbers (phone, account): first 6 and last 4


def shown_value(kind: str, value: Any) -> str:
    """A value as staff see it: materials by state and scan, ID-like numbers masked, lists joined."""
    if kind == "material" and isinstance(value, dict):
        state = {"provided": "已提供", "tolerated": "容缺", "pledged": "告知承诺", "elicence": "电子证照",
                 "missing": "未提交", "defective": "不符合要求", "not_required": "非必需"}.get(
            str(value.get("state")), str(value.get("state") or ""))
        scan = f"扫描件 {str(value['blob'])[:12]}…" if value.get("blob") else ""
        name = str(value.get("filename") or "")
        return " ".join(part for part in (state, scan, name) if part)
    if kind == "decision":
        return OUTCOMES.get(str(value), str(value))
    if value is None or value == "":
        return "（空）"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _ID_LIKE.sub(lambda m: mask_id(m.group(0)) if len(m.group(0)) > 10 else m.group(0), text)


def hlc_time(hlc: str) -> str:
    """When the value was written, in Beijing time (the wall-clock part of the hybrid timestamp)."""
    from datetime import datetime

    from edgenode.clock import CHINA_TZ

    wall = str(hlc).partition(".")[0]
    if len(wall) != 13 or not wall.isdigit():
        return ""
    return datetime.fromtimestamp(int(wall) / 1000, CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _label(node: Any, case_id: str, kind: str, field: str, forms: dict[tuple[str, int], dict[str, str]]) -> str:
    """The form field's label (items parsed once per request: `forms` maps (code, version) to labels)."""
    if kind != "field":
        return KIND_NAMES.get(kind, kind)
    from edgenode.catalog_store import get_item
    from edgenode.errors import EdgeNodeError

    row = node.store.query_one("SELECT item_code, item_version FROM cases WHERE id = ?", (case_id,))
    if row is None:
        return field
    key = (row["item_code"], row["item_version"])
    if key not in forms:
        try:
            item = get_item(node.store, *key)[0]
            forms[key] = {f["name"]: f.get("label") or f["name"] for f in item.form.get("fields", [])}
        except EdgeNodeError:
            forms[key] = {}
    return forms[key].get(field, field)


# Open conflicts per case, kept between requests: {(node home, case id): (event marks, conflicts shown)}, marks
# from edgenode.web.kept.event_marks (the event count and newest id).
# Events are only ever added, so a case whose event count is unchanged has the same conflicts; a case with a
# new event (an edit, a resolution, a packet) is folded again. Bounded: cleared when it grows past _CACHE_MAX.
_CACHE: dict[tuple[str, str], tuple[tuple[int, str], list[dict[str, Any]]]] = {}
_CACHE_MAX = 5000


def _decorated(node: Any, case_id: str, forms: dict[tuple[str, int], dict[str, str]]) -> list[dict[str, Any]]:
    from edgenode.cases.fold import fold
    from edgenode.cases.service import load_events

    state = fold(load_events(node, case_id))
    found = []
    for conflict in state.open_conflicts:
        c = {"case_id": state.case_id, "case_no": state.case_no, "item": state.item.get("name"), **conflict}
        c["label"] = _label(node, c["case_id"], c["kind"], c["field"], forms)
        c["choosable"] = c["kind"] == "field" or c["kind"] == "material"
        c["values"] = [{**v, "shown": shown_value(c["kind"], v["value"]), "winner": v["event"] == c.get("winner"),
                        "written": hlc_time(v["hlc"])} for v in c["values"]]
        found.append(c)
    return found


def open_conflicts(node: Any) -> list[dict[str, Any]]:
    """Every open conflict, as `edgenode.cases.edits.list_conflicts` finds them (same candidates, same order),
    each case folded only when it has gained events since the last page view."""
    from edgenode.cases.edits import contested_cases_query
    from edgenode.web.kept import event_marks

    ids = [r["case_id"] for r in node.store.query(*contested_cases_query())]
    counts = event_marks(node, ids)
    if len(_CACHE) > _CACHE_MAX:
        _CACHE.clear()
    forms: dict[tuple[str, int], dict[str, str]] = {}
    found = []
    for case_id in ids:
        key = (str(node.home), case_id)
        held = _CACHE.get(key)
        if held is None or held[0] != counts.get(case_id):
            held = (counts.get(case_id, (0, "")), _decorated(node, case_id, forms))
            _CACHE[key] = held
        found.extend(held[1])
    return sorted(found, key=lambda c: (c["case_no"], c["field"], c["values"][0]["hlc"]))


def _page(status: int = 200, **extra: Any):
    found = open_conflicts(g.node)
    return render_template("conflicts.html", conflicts=found[:SHOWN], total=len(found), kind_names=KIND_NAMES,
                           message=MESSAGES.get(request.args.get("msg", "")), **extra), status


@blueprint.route("/conflicts")
@auth.requires("conflict.view")
def conflicts():
    return _page()


def _choice_value(conflict: dict[str, Any], event_id: str) -> Any:
    """What `resolve_conflict` takes for the value the event wrote (WEB_090 if it is not one of them)."""
    chosen = next((v for v in conflict["values"] if v["event"] == event_id), None)
    if chosen is None or (conflict["kind"] in ("field", "material") and not chosen["current"]):
        raise auth.PageError(400, "WEB_090", "所选的值不在该冲突中（页面可能已过期）", hint="请刷新冲突页面后重新选择")
    if conflict["kind"] in ("decision", "evaluation") and event_id != conflict.get("winner"):
        raise auth.PageError(400, "WEB_091", "同时作出的决定或评价按规则以其中一方为准，不能改选，只能确认",
                             hint="请确认标明“生效”的一方")
    value = chosen["value"]
    if conflict["kind"] == "material" and isinstance(value, dict):
        return value.get("blob") or value.get("state")
    return value


@blueprint.route("/conflicts/<case_id>", methods=["POST"])
@auth.requires("conflict.resolve")
def conflict_resolve(case_id: str):
    from edgenode.cases.edits import resolve_conflict
    from edgenode.cases.service import load_case
    from edgenode.web.app import new_work

    node = g.node
    field = request.form.get("field", "")[:200]
    event_id = request.form.get("choice", "")[:100]
    if not event_id:
        return _page(400, error="请先选定正确的一方", error_code="WEB_090")
    try:
        state, _ = load_case(node, case_id[:100])
        conflict = next((c for c in state.open_conflicts if c["field"] == field), None)
        if conflict is None:
            raise auth.PageError(400, "WEB_092", "该冲突已处理或不存在", hint="请刷新冲突页面")
        resolve_conflict(node, state.case_id, field, _choice_value(conflict, event_id), g.staff["login"])
    except auth.PageError as exc:
        return _page(exc.status, error=exc.message, error_code=exc.code, hint=exc.hint)
    new_work()
    return redirect("/conflicts?msg=resolved", code=303)
