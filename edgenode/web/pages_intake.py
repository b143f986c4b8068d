"""收件: pick an item → the applicant and the item's form → the materials checklist → the case, by the rules.

Nothing is written to the case store before the clerk submits the last step: the form's values travel in
hidden fields between the steps; a scan uploaded on a materials page that had to be shown again (another
material's mistake) waits in a staging folder of the signed-in clerk under the node's home, named by a
random token, never by anything the user typed. The case itself is made by `edgenode.cases.service
.receive_case` (the CLI's `case receive` calls the same), then its notices are sealed by
`edgenode.cases.issuing.issue_after_step`. Every validation error is shown at once, next to its field.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import g, redirect, render_template, request, url_for

from edgenode.web import auth
from edgenode.web.ui import blueprint

LIST_LIMIT = 50
FIELD_PREFIX = "f_"
STAGING_MAX_AGE_S = 24 * 3600
TOKEN = re.compile(r"^[0-9a-f]{32}$")
# What the clerk chose for a material: its state name in the rules (MaterialMarks).
CHOICES = [("none", "未提交"), ("provided", "已提交扫描件"), ("e_licence", "电子证照"), ("tolerated", "容缺（后补）"),
           ("committed", "告知承诺")]
OUTCOME_NAMES = {"proxy_receipt": "代收（出具代收回执）", "registration": "收件登记（出具收件登记回执）",
                 "one_time": "一次性告知（出具一次性告知书）", "accepted": "受理（出具受理通知书）",
                 "immediate": "即办（当场办结）"}


# -- the item's form ------------------------------------------------------------------------------------
APPLICANT_NAMES = ("applicant_name", "name", "id_number", "applicant_id", "phone", "applicant_phone")


def form_sections(item: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """The form's fields, the applicant's first (申请人), then the agent's (代办人), then the rest (申请表)."""
    labels = {f["name"]: f["label"] for f in item.form.get("fields", [])}
    fields = []
    for spec in item.form.get("fields", []):
        cond = spec.get("required_if")
        if cond:
            equals = cond["equals"]
            shown = "是" if equals is True else "否" if equals is False else equals
            spec = {**spec, "when": f"当“{labels.get(cond['field'], cond['field'])}”为“{shown}”时必填"}
        fields.append(spec)
    applicant = [f for f in fields if f["name"] in APPLICANT_NAMES]
    agent = [f for f in fields if (f["name"].startswith("agent") or f["name"] == "is_agent") and f not in applicant]
    rest = [f for f in fields if f not in applicant and f not in agent]
    return [(title, group) for title, group in (("申请人", applicant), ("代办人（代为申请时填写）", agent),
                                                ("申请表", rest)) if group]


def submitted_form(item: Any, source: Any) -> dict[str, Any]:
    """The form's values as the browser sent them (strings, lists for multi_choice), only the form's fields."""
    values: dict[str, Any] = {}
    for spec in item.form.get("fields", []):
        key = FIELD_PREFIX + spec["name"]
        if spec["type"] == "multi_choice":
            chosen = [v[:200] for v in source.getlist(key)][:200]
            if chosen:
                values[spec["name"]] = chosen
        else:
            text = source.get(key, "")[:20_000]
            if text.strip():
                values[spec["name"]] = text
    return values


def field_errors(exc: Any) -> tuple[dict[str, list[str]], list[str]]:
    """A CASE_002/003 refusal split by field (the messages name the label); form-level ones apart."""
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    names = (exc.context or {}).get("fields") or []
    for index, message in enumerate(exc.errors or []):
        name = names[index] if index < len(names) else ""
        if name:
            by_field.setdefault(name, []).append(message)
        else:
            general.append(message)
    return by_field, general


def _offered_item(code: str) -> Any:
    from edgenode.catalog_store import get_item
    from edgenode.errors import CatalogError

    try:
        item, version, offered = get_item(g.node.store, code[:64])
    except CatalogError:
        raise auth.PageError(404, "WEB_050", "目录中没有这个事项", hint="请从收件页面搜索事项") from None
    if not offered:
        raise auth.PageError(400, "WEB_051", f"事项“{item.name}”未下放到本站，不能在此收件",
                             hint="请引导申请人到有权受理的服务站或中心办理")
    return item, version


# -- staged uploads -------------------------------------------------------------------------------------
def _staging_root() -> Path:
    who = hashlib.sha256(g.staff["login"].encode()).hexdigest()[:16]
    return g.node.home / "tmp" / "intake" / who


def _sweep_staging(root: Path) -> None:
    parent = root.parent
    if not parent.exists():
        return
    for folder in parent.glob("*/*"):
        try:
            if time.time() - folder.stat().st_mtime > STAGING_MAX_AGE_S:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def stage_upload(upload: Any, material: str) -> tuple[str | None, Path | None, str | None]:
    """Check an uploaded scan by content and size, keep it under a random token. (token, path, error)."""
    from edgenode.blobs import MAX_BLOB_BYTES, safe_filename, sniff_media_type

    head = upload.stream.read(16)
    if sniff_media_type(head) is None:
        return None, None, "WEB_052"
    root = _staging_root()
    token = secrets.token_hex(16)
    folder = root / token
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_filename(upload.filename or "scan")
    if target.name.startswith("."):
        target = folder / ("scan" + target.name)
    size = len(head)
    with open(target, "wb") as out:
        out.write(head)
        while chunk := upload.stream.read(1 << 16):
            size += len(chunk)
            if size > MAX_BLOB_BYTES:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                return None, None, "WEB_053"
            out.write(chunk)
    return token, target, None


def staged_path(token: str) -> Path | None:
    """The staged file for a token of this clerk, or None (an unknown or malformed token, or expired)."""
    if not TOKEN.match(token or ""):
        return None
    folder = _staging_root() / token
    files = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink()] if folder.is_dir() else []
    return files[0] if len(files) == 1 else None


UPLOAD_ERRORS = {
    "WEB_052": "不是 PDF、JPEG 或 PNG 文件（按文件内容识别），未收下；请重新扫描为 PDF 或图片",
    "WEB_053": "文件太大（超过 20 MB），未收下；请降低扫描分辨率后重试",
    "WEB_054": "扫描文件夹中已没有这个文件（已被取走、已改动或名称无效），请重新选择",
    "WEB_055": "选择了“已提交扫描件”，但没有上传文件，也没有从扫描文件夹中选择",
    "WEB_056": "暂存的扫描件已失效，请重新上传",
}


# -- the materials step ---------------------------------------------------------------------------------
@dataclass
class MaterialsEntry:
    choice: dict[str, str] = field(default_factory=dict)          # mid -> one of CHOICES
    files: dict[str, Path] = field(default_factory=dict)          # mid -> file to store
    staged: dict[str, tuple[str, str]] = field(default_factory=dict)   # mid -> (token, shown filename)
    scans: dict[str, str] = field(default_factory=dict)           # mid -> scanner folder name
    defective: dict[str, str] = field(default_factory=dict)       # mid -> reason
    errors: dict[str, list[str]] = field(default_factory=dict)    # mid -> messages


def read_materials(item: Any) -> MaterialsEntry:
    from edgenode.web import scanner

    scans = scanner.current()
    entry = MaterialsEntry()
    for material in item.materials:
        mid = material.id
        choice = request.form.get(f"m_{mid}", "none")
        entry.choice[mid] = choice if choice in dict(CHOICES) else "none"
        reason = request.form.get(f"defect_{mid}", "").strip()[:300]
        if reason:
            entry.defective[mid] = reason
        upload = request.files.get(f"file_{mid}")
        scan_name = request.form.get(f"scan_{mid}", "")[:300]
        token = request.form.get(f"staged_{mid}", "")[:64]
        if entry.choice[mid] == "none" and ((upload is not None and upload.filename) or scan_name or token):
            entry.choice[mid] = "provided"   # a scan attached means it was provided
        if entry.choice[mid] != "provided":
            continue
        if upload is not None and upload.filename:
            token, path, error = stage_upload(upload, mid)
            if error:
                entry.errors.setdefault(mid, []).append(f"{error}：{UPLOAD_ERRORS[error]}")
                continue
            entry.files[mid] = path
            entry.staged[mid] = (token, path.name)
        elif scan_name:
            path = scans.path_of(scan_name) if scans is not None else None
            if path is None:
                entry.errors.setdefault(mid, []).append(f"WEB_054：{UPLOAD_ERRORS['WEB_054']}")
                continue
            entry.files[mid] = path
            entry.scans[mid] = scan_name
        elif token:
            path = staged_path(token)
            if path is None:
                entry.errors.setdefault(mid, []).append(f"WEB_056：{UPLOAD_ERRORS['WEB_056']}")
                continue
            entry.files[mid] = path
            entry.staged[mid] = (token, path.name)
        else:
            entry.errors.setdefault(mid, []).append(f"WEB_055：{UPLOAD_ERRORS['WEB_055']}")
    return entry


def marks_of(entry: MaterialsEntry) -> Any:
    from edgenode.cases.rules import MaterialMarks

    def chosen(kind: str) -> frozenset[str]:
        return frozenset(mid for mid, c in entry.choice.items() if c == kind)

    return MaterialMarks(provided=chosen("provided"), e_licence=chosen("e_licence"), tolerated=chosen("tolerated"),
                         committed=chosen("committed"), defective=dict(entry.defective))


def material_problems(item: Any, entry: MaterialsEntry) -> dict[str, list[str]]:
    """The rules' marking mistakes (edgenode.cases.rules.assess_materials), by material."""
    from edgenode.cases.rules import assess_materials

    problems: dict[str, list[str]] = {}
    names = {m.id: m for m in item.materials}
    for problem in assess_materials(item, marks_of(entry)).problems:
        mid = next((m for m in names if f"材料 {m}（" in problem), "")
        problems.setdefault(mid, []).append(problem)
    return problems


# -- views ----------------------------------------------------------------------------------------------
@blueprint.route("/intake")
@auth.requires("case.receive")
def intake():
    from edgenode.catalog_store import current_version, list_items, search_items

    query = request.args.get("q", "").strip()[:100]
    found = (search_items(g.node.store, query, limit=LIST_LIMIT) if query
             else list_items(g.node.store, limit=LIST_LIMIT))
    return render_template("intake_pick.html", query=query, items=found, limit=LIST_LIMIT,
                           version=current_version(g.node.store), offers=_scan_offers())


def _scan_offers() -> list[Any] | None:
    from edgenode.web import scanner

    scans = scanner.current()
    return None if scans is None else scans.offers()


def _form_page(item: Any, values: dict[str, Any], *, errors: dict[str, list[str]] | None = None,
               general: list[str] | None = None, warned: list[str] | None = None, status: int = 200,
               error: str | None = None, error_code: str | None = None) -> Any:
    return render_template("intake_form.html", item=item, sections=form_sections(item), values=values,
                           errors=errors or {}, general=general or [], warned=warned or [], prefix=FIELD_PREFIX,
                           error=error, error_code=error_code), status


def _materials_page(item: Any, values: dict[str, Any], entry: MaterialsEntry | None = None, *,
                    confirmed: list[str] | None = None, complex_: bool = False, general: list[str] | None = None,
                    status: int = 200, error: str | None = None, error_code: str | None = None) -> Any:
    return render_template("intake_materials.html", item=item, values=values, entry=entry or MaterialsEntry(),
                           choices=CHOICES, offers=_scan_offers(), confirmed=confirmed or [], complex_=complex_,
                           prefix=FIELD_PREFIX, general=general or [], error=error, error_code=error_code), status


@blueprint.route("/intake/<code>")
@auth.requires("case.receive")
def intake_item(code: str):
    item, _ = _offered_item(code)
    return _form_page(item, {})


@blueprint.route("/intake/<code>", methods=["POST"])
@auth.requires("case.receive")
def intake_submit(code: str):
    from edgenode.cases.applicant import validated_form
    from edgenode.errors import CaseError

    item, _ = _offered_item(code)
    values = submitted_form(item, request.form)
    confirmed = [name for name in request.form.getlist("confirm")[:50]
                 if any(f["name"] == name for f in item.form.get("fields", []))]
    try:
        validated_form(item, values, today=g.node.now().date(), confirmed=confirmed)
    except CaseError as exc:
        by_field, general = field_errors(exc)
        warned = list(by_field) if exc.code == "CASE_003" else []
        return _form_page(item, values, errors=by_field, general=general, warned=warned, status=400,
                          error=exc.message, error_code=exc.code)
    if request.form.get("step") != "materials":
        return _materials_page(item, values, confirmed=confirmed)
    return _receive(item, values, confirmed)


def _receive(item: Any, values: dict[str, Any], confirmed: list[str]) -> Any:
    from edgenode.cases.issuing import issue_after_step
    from edgenode.cases.service import Intake, receive_case
    from edgenode.errors import CaseError
    from edgenode.web.app import new_work

    complex_ = request.form.get("complex") == "1"
    entry = read_materials(item)
    problems = material_problems(item, entry)
    for mid, messages in problems.items():
        if mid:
            entry.errors.setdefault(mid, []).extend(messages)
    general = problems.get("", [])
    if entry.errors or general:
        count = sum(len(v) for v in entry.errors.values()) + len(general)
        return _materials_page(item, values, entry, confirmed=confirmed, complex_=complex_, general=general,
                               status=400, error=f"材料有 {count} 处需要处理，尚未收件", error_code="CASE_004")
    marks = marks_of(entry)
    intake_ = Intake(item_code=item.code, form=values, files=dict(entry.files), marks=marks, complex_=complex_,
                     confirmed=frozenset(confirmed))
    try:
        state = receive_case(g.node, intake_, staff=g.staff["login"])
    except CaseError as exc:
        return _materials_page(item, values, entry, confirmed=confirmed, complex_=complex_,
                               general=list(exc.errors or []), status=400, error=exc.message, error_code=exc.code)
    _after_receipt(entry)
    result = issue_after_step(g.node, state, staff=g.staff["login"])
    new_work()
    args = {"msg": "received"}
    if result["notice_error"]:
        args["seal"] = result["notice_error"]["code"]
    return redirect(url_for("ui.case", ref=state.case_id, **args), code=303)


def _after_receipt(entry: MaterialsEntry) -> None:
    """The scans are in the node's blobs now: take them out of the scanner folder and the staging area."""
    from edgenode.web import scanner

    scans = scanner.current()
    for name in entry.scans.values():
        if scans is not None:
            scans.discard(name)
    root = _staging_root()
    for token, _ in entry.staged.values():
        if TOKEN.match(token):
            shutil.rmtree(root / token, ignore_errors=True)
    _sweep_staging(root)
