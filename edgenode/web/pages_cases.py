"""办件: the list (filters, paging, ID numbers masked), a case's page (timeline, notices to print, materials,
deadline in working days) and its actions: 补正, 移交, 出件, the applicant's evaluation (好差评), sealing
notices still pending. Each action calls the same domain function as the CLI's `edgenode case …`.

Notices are served by case and issuance number only (the file name comes from the issuance log, and the
file must still hash to what was sealed); scans by case and content hash only, to the roles allowed
`case.scan`, and only if the case's materials name that scan.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import date, datetime
from typing import Any

from flask import Response, g, redirect, render_template, request, send_file, url_for

from edgenode.web import auth
from edgenode.web.ui import blueprint

PAGE_SIZE = 30
ITEM_CHOICES = 200   # more offered items than this: the filter takes an item code instead of a list (page weight)
SHA = re.compile(r"^[0-9a-f]{64}$")
MESSAGES = {"received": "收件完成", "corrected": "已记录补正材料", "transferred": "已移交决定机关", "handed_over": "已出件",
            "evaluated": "已记录申请人的评价", "issued": "已出具盖章文书"}
STATUS_FILTER = [("", "全部状态"), ("registered", "已收件登记（待审查）"), ("incomplete", "已一次性告知（待补正）"),
                 ("accepted", "已受理"), ("received_on_behalf", "已代收（待移交）"), ("transferred", "已移交"),
                 ("rejected", "不予受理"), ("decided", "已办结"), ("handed_over", "已出件")]
MATERIAL_STATES = {"provided": "已提交", "e_licence": "电子证照", "tolerated": "容缺（待补交）", "committed": "告知承诺",
                   "missing": "未提交", "defective": "不符合要求", "not_required": "未提交（非必交）"}
CORRECT_CHOICES = [("none", "本次未交"), ("provided", "提交扫描件"), ("e_licence", "电子证照"),
                   ("tolerated", "容缺（后补）"), ("committed", "告知承诺")]


def _day(text: str) -> str | None:
    try:
        return date.fromisoformat(text.strip()[:10]).isoformat() if text.strip() else None
    except ValueError:
        return None


@blueprint.route("/cases")
@auth.requires("case.view")
def cases():
    from edgenode.catalog_store import list_items
    from edgenode.cases.listing import search_cases

    status = request.args.get("status", "")
    status = status if status in dict(STATUS_FILTER) else ""
    item_code = request.args.get("item", "")[:64]
    received_from, received_to = _day(request.args.get("from", "")), _day(request.args.get("to", ""))
    query = request.args.get("q", "").strip()[:64]
    try:
        page = max(1, min(100_000, int(request.args.get("page", "1"))))
    except ValueError:
        page = 1
    rows, total = search_cases(g.node, status=status or None, item_code=item_code or None,
                               received_from=received_from, received_to=received_to, case_no=query or None,
                               offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    filters = {"status": status, "item": item_code, "from": received_from or "", "to": received_to or "", "q": query}
    return render_template("cases.html", rows=rows, total=total, page=page, pages=pages, filters=filters,
                           statuses=STATUS_FILTER, items=list_items(g.node.store, limit=ITEM_CHOICES + 1),
                           item_choices=ITEM_CHOICES,
                           today=g.node.now().date().isoformat())


# -- one case -------------------------------------------------------------------------------------------
def _load(ref: str) -> tuple[Any, list[Any]]:
    from edgenode.cases.service import load_case
    from edgenode.errors import CaseError

    try:
        return load_case(g.node, ref[:80])
    except CaseError:
        raise auth.PageError(404, "WEB_060", "找不到这个办件", hint="请从办件列表进入，或按办件编号搜索") from None


def _when(text: Any) -> str:
    try:
        return datetime.fromisoformat(str(text)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(text)[:16]


def _names(state: Any, ids: Any) -> str:
    return "、".join(state.materials.get(mid, {}).get("name", mid) for mid in ids)


def describe(event: Any, state: Any) -> str:
    """One line of the timeline, in Chinese, without ID numbers or phones."""
    p, t = event.payload, event.type
    if t == "CaseReceived":
        return f"收件：{p.get('item', {}).get('name', '')}（{p.get('station', {}).get('name', '')}）"
    if t == "ReceiptRegistered":
        return f"收件登记，出具收件登记回执 {p.get('doc_no', '')}，须于 {p.get('notice_due', '')} 前审查"
    if t == "ReceivedOnBehalf":
        return f"代收，出具代收回执 {p.get('doc_no', '')}，转交 {p.get('forward_to', '')}"
    if t == "CorrectionRequested":
        return f"出具一次性告知书 {p.get('doc_no', '')}，需补正：{_names(state, p.get('listed', {}))}"
    if t == "MaterialsCorrected":
        return f"补正材料：{_names(state, p.get('materials', {}))}"
    if t == "CaseAccepted":
        extra = "（逾期未告知，视为受理）" if p.get("deemed") else ""
        return f"受理{extra}，出具受理通知书 {p.get('doc_no', '')}" + (
            f"，承诺办结日期 {p['promised_due']}" if p.get("promised_due") else "")
    if t == "CaseRejected":
        return f"不予受理：{p.get('reason', '')}"
    if t == "CaseTransferred":
        return f"移交 {p.get('to', '')}"
    if t == "ClockSuspended":
        return f"中止计时：{p.get('reason', '')}"
    if t == "ClockResumed":
        return "恢复计时"
    if t == "CaseDecided":
        return f"{'准予' if p.get('outcome') == 'approved' else '不予'}办理（{p.get('by', '')}）"
    if t == "CaseHandedOver":
        return f"出件：{p.get('method', '')}"
    if t == "ApplicantFieldsEdited":
        return "更正申请表信息"
    if t == "ConflictResolved":
        return "处理冲突"
    if t == "EvaluationGiven":
        return f"记录申请人评价：{p.get('level', '')}（{p.get('channel', '')}）"
    if t == "BadRatingFollowedUp":
        return "差评回访核实"
    if t == "RectificationReported":
        return "差评整改报告"
    return t


def _issued(case_id: str) -> list[dict[str, Any]]:
    names = {"acceptance": "受理通知书", "one_time": "一次性告知书", "registration_receipt": "收件登记回执",
             "proxy_receipt": "代收回执", "rejection": "不予受理通知书", "certificate": "办理结果（证明）"}
    rows = g.node.store.query("SELECT seq, kind, doc_no, issued_at FROM issuance WHERE case_id = ? ORDER BY seq",
                              (case_id,))
    return [{"seq": r["seq"], "name": names.get(r["kind"], r["kind"]), "doc_no": r["doc_no"],
             "issued_at": _when(r["issued_at"])} for r in rows]


def _case_page(ref: str, status: int = 200, **extra: Any) -> Any:
    from edgenode.cases import fold as F
    from edgenode.cases.evaluation import CHANNELS
    from edgenode.cases.issuing import pending_notices
    from edgenode.cases.service import HANDOVER_METHODS
    from edgenode.cases.view import NOTICE_NAMES, VISIT_NAMES, case_view
    from edgenode.web import scanner

    state, events = _load(ref)
    now = g.node.now()
    view = case_view(state, today=now.date(), calendar=g.node.calendar, full=True, now=now)
    names = {row["login"]: row["display_name"] for row in g.node.store.query("SELECT login, display_name FROM staff")}
    timeline = [{"when": _when(_event_time(e)), "who": names.get(e.author_staff, e.author_staff),
                 "what": describe(e, state)} for e in events]
    item = _item_of(state)
    if item is not None:   # materials in the item's order, not by id
        order = {m.id: i for i, m in enumerate(item.materials)}
        view["materials"] = dict(sorted(view["materials"].items(), key=lambda kv: (order.get(kv[0], 999), kv[0])))
    scans = scanner.current()
    return render_template(
        "case.html", case=view, state=state, timeline=timeline, issued=_issued(state.case_id),
        pending=[{"doc_no": n["doc_no"], "name": NOTICE_NAMES.get(n["kind"], n["kind"])}
                 for n in pending_notices(g.node, state)],
        material_states=MATERIAL_STATES, levels=F.LEVELS, channels=CHANNELS, visit_names=VISIT_NAMES,
        handover_methods=HANDOVER_METHODS, correct_choices=CORRECT_CHOICES, item=item,
        offers=scans.offers() if scans is not None else None,
        message=None if request.args.get("msg") == "received" else MESSAGES.get(request.args.get("msg", "")), seal_error=request.args.get("seal", "")[:16],
        received=request.args.get("msg") == "received", **extra), status


def _event_time(event: Any) -> str:
    from edgenode.clock import CHINA_TZ

    try:
        return datetime.fromtimestamp(int(event.hlc[:13]) / 1000, CHINA_TZ).isoformat()
    except (ValueError, OverflowError, OSError):
        return event.payload.get("received_at") or event.payload.get("issued_at") or ""


def _item_of(state: Any) -> Any:
    from edgenode.catalog_store import get_item
    from edgenode.errors import CatalogError

    try:
        return get_item(g.node.store, state.item["code"], state.item["version"])[0]
    except CatalogError:
        return None


@blueprint.route("/cases/<ref>")
@auth.requires("case.view")
def case(ref: str):
    return _case_page(ref)


def _refused(ref: str, exc: Any, **extra: Any) -> Any:
    return _case_page(ref, 400, error=exc.message, error_code=exc.code, hint=getattr(exc, "hint", None),
                      problems=list(getattr(exc, "errors", None) or []), **extra)


def _done(state: Any, msg: str, result: dict[str, Any] | None = None) -> Any:
    from edgenode.web.app import new_work

    new_work()
    args = {"msg": msg}
    if result and result.get("notice_error"):
        args["seal"] = result["notice_error"]["code"]
    return redirect(url_for("ui.case", ref=state.case_id, **args), code=303)


@blueprint.route("/cases/<ref>/notices", methods=["POST"])
@auth.requires("case.receive")
def case_issue(ref: str):
    from edgenode.cases.issuing import issue_after_step

    state, _ = _load(ref)
    result = issue_after_step(g.node, state, staff=g.staff["login"])
    if result["notice_error"]:
        e = result["notice_error"]
        return _case_page(ref, 400, error=f"文书未能盖章：{e['message']}", error_code=e["code"], hint=e.get("hint"))
    return _done(state, "issued")


@blueprint.route("/cases/<ref>/correct", methods=["POST"])
@auth.requires("case.correct")
def case_correct(ref: str):
    from edgenode.cases.followup import correct_case
    from edgenode.cases.issuing import issue_after_step
    from edgenode.cases.rules import MaterialMarks
    from edgenode.errors import CaseError
    from edgenode.web import scanner
    from edgenode.web.pages_intake import UPLOAD_ERRORS, stage_upload

    state, _ = _load(ref)
    scans = scanner.current()
    files, taken, staged, chosen, errors = {}, {}, [], {}, []
    for mid in state.outstanding:
        choice = request.form.get(f"m_{mid}", "none")
        upload = request.files.get(f"file_{mid}")
        scan_name = request.form.get(f"scan_{mid}", "")[:300]
        if choice == "none" and ((upload is not None and upload.filename) or scan_name):
            choice = "provided"
        chosen[mid] = choice if choice in dict(CORRECT_CHOICES) else "none"
        if chosen[mid] != "provided":
            continue
        name = state.materials.get(mid, {}).get("name", mid)
        if upload is not None and upload.filename:
            token, path, error = stage_upload(upload, mid)
            if error:
                errors.append(f"{name}：{error} {UPLOAD_ERRORS[error]}")
                continue
            files[mid] = path
            staged.append(path.parent)
        elif scan_name:
            path = scans.path_of(scan_name) if scans is not None else None
            if path is None:
                errors.append(f"{name}：WEB_054 {UPLOAD_ERRORS['WEB_054']}")
                continue
            files[mid], taken[mid] = path, scan_name
        else:
            errors.append(f"{name}：WEB_055 {UPLOAD_ERRORS['WEB_055']}")
    try:
        if errors:
            raise CaseError("CASE_004", f"补正材料有 {len(errors)} 处需要处理，未做任何记录", errors=errors)
        marks = MaterialMarks(e_licence=frozenset(m for m, c in chosen.items() if c == "e_licence"),
                              tolerated=frozenset(m for m, c in chosen.items() if c == "tolerated"),
                              committed=frozenset(m for m, c in chosen.items() if c == "committed"))
        new = correct_case(g.node, state.case_id, files=files, marks=marks, staff=g.staff["login"])
    except CaseError as exc:
        return _refused(ref, exc)
    finally:
        for folder in staged:
            shutil.rmtree(folder, ignore_errors=True)
    for name in taken.values():
        scans.discard(name)
    return _done(new, "corrected", issue_after_step(g.node, new, staff=g.staff["login"]))


@blueprint.route("/cases/<ref>/transfer", methods=["POST"])
@auth.requires("case.handover")
def case_transfer(ref: str):
    from edgenode.cases.followup import transfer_case
    from edgenode.errors import CaseError

    state, _ = _load(ref)
    try:
        new = transfer_case(g.node, state.case_id, to=None, staff=g.staff["login"])
    except CaseError as exc:
        return _refused(ref, exc)
    return _done(new, "transferred")


@blueprint.route("/cases/<ref>/handover", methods=["POST"])
@auth.requires("case.handover")
def case_handover(ref: str):
    from edgenode.cases.followup import handover_case
    from edgenode.errors import CaseError

    state, _ = _load(ref)
    try:
        new = handover_case(g.node, state.case_id, method=request.form.get("method", "")[:20],
                            recipient=request.form.get("recipient", "")[:50], staff=g.staff["login"])
    except CaseError as exc:
        return _refused(ref, exc)
    return _done(new, "handed_over")


@blueprint.route("/cases/<ref>/evaluate", methods=["POST"])
@auth.requires("case.evaluate")
def case_evaluate(ref: str):
    from edgenode.cases.evaluation import evaluate
    from edgenode.errors import CaseError

    state, _ = _load(ref)
    try:
        evaluate(g.node, state.case_id, level=request.form.get("level", "")[:20],
                 channel=request.form.get("channel", "")[:20], comment=request.form.get("comment", "")[:1000],
                 staff=g.staff["login"])
    except CaseError as exc:
        return _refused(ref, exc)
    return _done(state, "evaluated")


# -- files ------------------------------------------------------------------------------------------------
@blueprint.route("/cases/<ref>/notices/<seq>.pdf")
@auth.requires("case.view")
def case_notice_pdf(ref: str, seq: str):
    state, _ = _load(ref)
    row = None
    if seq.isdigit() and len(seq) < 12:
        row = g.node.store.query_one("SELECT kind, document_sha256 FROM issuance WHERE case_id = ? AND seq = ?",
                                     (state.case_id, int(seq)))
    if row is None:
        raise auth.PageError(404, "WEB_061", "这个办件没有该文书", hint="请从办件页面的文书列表打开")
    sha = row["document_sha256"]
    path = g.node.home / "notices" / f"{state.case_no}-{row['kind']}-{sha[:12]}.pdf"
    try:
        data = path.read_bytes()
    except OSError:
        data = b""
    if hashlib.sha256(data).hexdigest() != sha:
        raise auth.PageError(500, "WEB_062", "文书文件缺失或已被改动，不能打开",
                             hint="请联系管理员从备份恢复 notices 文件夹；原盖章记录仍在")
    name = f"{state.case_no}-{seq}.pdf"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/cases/<ref>/scans/<sha>")
@auth.requires("case.scan")
def case_scan(ref: str, sha: str):
    from edgenode.cases.service import load_events

    state, _ = _load(ref)
    if not SHA.match(sha):
        raise auth.PageError(404, "WEB_063", "这个办件没有该扫描件")
    media = None
    for event in load_events(g.node, state.case_id):
        for entry in (event.payload.get("materials") or {}).values():
            if isinstance(entry, dict) and entry.get("blob") == sha:
                media = entry.get("media_type")
    path = g.node.blobs.path_of(sha)
    if media not in ("application/pdf", "image/jpeg", "image/png") or not path.is_file():
        raise auth.PageError(404, "WEB_063", "这个办件没有该扫描件", hint="扫描件可能尚未同步到本节点")
    response = send_file(path, mimetype=media, max_age=0)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "no-store"
    return response
