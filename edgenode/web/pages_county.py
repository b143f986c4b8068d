"""County pages: 目录发布 (upload a catalog, every error shown, preview against the current release, publish a
signed release), 节点注册 (an enrolment request in, the one-time bundle out, the enrolled nodes), and 待决定
(cases that arrived for this node to decide: approve, or deny with a reason).

Uploads never keep the sender's file name: a catalog is kept as web-uploads/catalog-<sha256>.json and a
bundle as web-uploads/bundle-<enrolment id>.json inside the node home, names the server makes, so nothing a
user sends can name a path. The publish step names the upload by its SHA-256 only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import g, redirect, render_template, request, send_file

from edgenode.web import auth
from edgenode.web.ui import blueprint

UPLOADS = "web-uploads"
SHOWN_DECISIONS = 30     # cases folded and shown on 待决定 (earliest deadline first; the total is given)
MAX_ENROL_REQUEST = 256 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ENROLMENT_ID = re.compile(r"[0-9A-Za-z_-]{8,80}")
MESSAGES = {"decided": "已作出决定（已记入审计日志）"}
# Catalog keys as the preview names them (format 1, edgenode/catalog.py); an unknown key is shown as it is.
KEY_NAMES = {"name": "名称", "basic_code": "基本编码", "decided_by_code": "实施机构编码", "type": "事项类型", "level": "行使层级",
             "decided_by": "实施机构", "delegation": "下放方式", "delegated_to": "下放范围", "conditions": "受理条件",
             "legal_basis": "设定依据", "process": "办理流程", "legal_limit_days": "法定办结时限",
             "promised_limit_days": "承诺办结时限", "immediate": "即办", "fee": "收费", "online_depth": "网办深度",
             "visits": "到现场次数", "special_procedures": "特别程序", "flags": "标记", "result": "办理结果",
             "materials": "申请材料", "form": "申请表"}


def _uploads(node: Any) -> Path:
    folder = node.home / UPLOADS
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def _uploaded(field: str, limit: int) -> bytes:
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise auth.PageError(400, "WEB_093", "请选择要上传的文件")
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise auth.PageError(413, "WEB_094", f"文件过大（超过 {limit // 1024} KB）")
    if not data:
        raise auth.PageError(400, "WEB_093", "上传的文件是空的")
    return data


# -- 目录发布 ----------------------------------------------------------------------------------------
def catalog_changes(node: Any, release: Any) -> dict[str, Any]:
    """Items added, removed and changed (with the keys that differ) against the node's newest release."""
    from edgenode.catalog_store import current_version

    current = current_version(node.store)
    old: dict[str, dict[str, Any]] = {}
    if current is not None:
        old = {r["code"]: json.loads(r["data"])
               for r in node.store.query("SELECT code, data FROM item_documents WHERE release = ?", (current,))}
    new = {item.code: raw for item, raw in zip(release.items, release.raw_items)}
    names = {item.code: item.name for item in release.items}
    added = [{"code": c, "name": names[c]} for c in sorted(set(new) - set(old))]
    removed = [{"code": c, "name": old[c].get("name", "")} for c in sorted(set(old) - set(new))]
    changed = []
    for code in sorted(set(new) & set(old)):
        if new[code] != old[code]:
            keys = sorted(k for k in set(new[code]) | set(old[code]) if new[code].get(k) != old[code].get(k))
            changed.append({"code": code, "name": names[code], "keys": [f"{KEY_NAMES.get(k, k)}（{k}）" for k in keys]})
    return {"current": current, "version": release.version, "added": added, "removed": removed,
            "changed": changed, "same": len(new) - len(added) - len(changed)}


def _publish_page(status: int = 200, **extra: Any):
    from edgenode.catalog_store import current_version

    row = g.node.store.query_one("SELECT version, stored_at, sha256 FROM repl_releases ORDER BY version DESC LIMIT 1")
    return render_template("publish.html", current=current_version(g.node.store), published=row,
                           message=extra.pop("message", None), **extra), status


@blueprint.route("/publish")
@auth.requires("catalog.publish")
def publish():
    done = request.args.get("published", "")
    return _publish_page(message=f"已发布目录第 {int(done)} 版，同步时下发到各站点" if done.isdigit() else None)


@blueprint.route("/publish", methods=["POST"])
@auth.requires("catalog.publish")
def publish_check():
    """Validate an uploaded catalog (every error at once) and preview its changes; nothing published yet."""
    import hashlib

    from edgenode.catalog import MAX_CATALOG_BYTES, CatalogRejected, read_catalog_bytes

    node = g.node
    try:
        data = _uploaded("catalog", MAX_CATALOG_BYTES)
    except auth.PageError as exc:
        return _publish_page(exc.status, error=exc.message, error_code=exc.code)
    try:
        release = read_catalog_bytes(data)
    except CatalogRejected as rejected:
        return _publish_page(400, problems=rejected.problems, error_code="WEB_095",
                             error=f"目录文件有 {len(rejected.errors)} 处错误，未发布；请逐条修改后重新上传")
    if release.publisher != node.config.division:
        return _publish_page(400, error=f"目录发布者 {release.publisher} 不是本县（{node.config.division}）",
                             error_code="WEB_096")
    digest = hashlib.sha256(data).hexdigest()
    (_uploads(node) / f"catalog-{digest}.json").write_bytes(data)
    changes = catalog_changes(node, release)
    stale = changes["current"] is not None and release.version <= changes["current"]
    return _publish_page(changes=changes, upload=digest, warnings=release.warnings, stale=stale)


@blueprint.route("/publish/confirm", methods=["POST"])
@auth.requires("catalog.publish")
def publish_confirm():
    from edgenode.replication.releases import publish as do_publish

    digest = request.form.get("upload", "")
    path = g.node.home / UPLOADS / f"catalog-{digest}.json"
    if not _HEX64.fullmatch(digest) or not path.is_file():
        return _publish_page(400, error="没有找到已校验的目录文件，请重新上传", error_code="WEB_097")
    done = do_publish(g.node, path, staff=g.staff["login"])
    path.unlink(missing_ok=True)
    return redirect(f"/publish?published={done['version']}", code=303)


# -- 节点注册 ----------------------------------------------------------------------------------------
def enrolled_nodes(node: Any) -> list[dict[str, Any]]:
    rows = node.store.query(
        "SELECT e.enrolment_id, e.node_id, e.node_fingerprint, e.issued_at, e.expires_at, c.subject, c.serial, "
        "c.not_after, r.revoked_at FROM ca_enrolments e "
        "LEFT JOIN ca_certificates c ON c.enrolment_id = e.enrolment_id AND c.kind = 'node' "
        "LEFT JOIN ca_revocations r ON r.serial = c.serial ORDER BY e.issued_at DESC LIMIT 200")
    return [dict(r) for r in rows]


def _enrol_page(status: int = 200, **extra: Any):
    from edgenode.errors import EdgeNodeError
    from edgenode.sealing.authority import ca_summary

    try:
        summary, problem = ca_summary(g.node), None
    except EdgeNodeError as exc:
        summary, problem = None, exc.message
    return render_template("enrol.html", summary=summary, ca_problem=problem,
                           nodes=enrolled_nodes(g.node) if summary else [], form=extra.pop("form", {}), **extra), status


@blueprint.route("/enrol")
@auth.requires("node.enrol")
def enrol():
    return _enrol_page()


@blueprint.route("/enrol", methods=["POST"])
@auth.requires("node.enrol")
def enrol_issue():
    """Verify the request with the CA (its passphrase typed here, never kept) and issue the bundle."""
    from edgenode.errors import EdgeNodeError
    from edgenode.sealing.authority import enrol_node, load_ca, require_ca
    from seals.errors import SealError

    node = g.node
    fingerprint = request.form.get("node_fingerprint", "").strip()[:128] or None
    form = {"node_fingerprint": fingerprint or ""}
    passphrase = request.form.get("passphrase", "")[:256]
    try:
        require_ca(node)
        data = _uploaded("request", MAX_ENROL_REQUEST)
        if not passphrase:
            raise auth.PageError(400, "WEB_098", "请输入县级CA口令")
        out = _uploads(node) / f"bundle-pending-{g.session['csrf'][:8]}.json"
        out.unlink(missing_ok=True)
        done = enrol_node(node, load_ca(node, passphrase), data, out=out, staff=g.staff["login"],
                          node_fingerprint=fingerprint)
        Path(done["bundle"]).rename(_uploads(node) / f"bundle-{done['enrolment_id']}.json")
    except (EdgeNodeError, SealError) as exc:   # a wrong passphrase is the seals package's SEALS_016
        return _enrol_page(getattr(exc, "status", 400), form=form, error=exc.message, error_code=exc.code,
                           hint=getattr(exc, "hint", None))
    return _enrol_page(issued=done)


@blueprint.route("/enrol/<enrolment_id>/bundle")
@auth.requires("node.enrol")
def enrol_bundle(enrolment_id: str):
    node = g.node
    row = node.store.query_one("SELECT node_id FROM ca_enrolments WHERE enrolment_id = ?", (enrolment_id[:80],))
    path = node.home / UPLOADS / f"bundle-{enrolment_id}.json"
    if row is None or not _ENROLMENT_ID.fullmatch(enrolment_id) or not path.is_file():
        raise auth.PageError(404, "WEB_099", "没有这份登记文件", hint="登记文件只保存在签发它的县级节点上；可为该站点重新签发")
    return send_file(path, mimetype="application/json", as_attachment=True,
                     download_name=f"{row['node_id']}.bundle")


# -- 待决定 ------------------------------------------------------------------------------------------
def awaiting_decision(node: Any, limit: int = SHOWN_DECISIONS) -> tuple[list[dict[str, Any]], int]:
    """Accepted (or transferred) cases this node may decide, earliest deadline first, and how many in all."""
    from edgenode.cases.fold import fold
    from edgenode.cases.rules import may_decide
    from edgenode.cases.service import load_events
    from edgenode.cases.view import case_view
    from edgenode.catalog_store import get_item

    total = node.store.query_one("SELECT count(*) AS n FROM cases WHERE status IN ('accepted', 'transferred')")["n"]
    rows = node.store.query("SELECT id, item_code, item_version FROM cases WHERE status IN ('accepted', 'transferred') "
                            "ORDER BY deadline, received_at LIMIT ?", (limit * 4,))
    found, items = [], {}
    today = node.now().date()
    for row in rows:
        key = (row["item_code"], row["item_version"])
        if key not in items:
            items[key] = may_decide(get_item(node.store, *key)[0], role=node.config.role)
        if not items[key]:
            continue
        state = fold(load_events(node, row["id"]))
        found.append(case_view(state, today=today, calendar=node.calendar, full=False)
                     | {"case_id": state.case_id, "suspended": state.suspended, "outstanding": list(state.outstanding)})
        if len(found) >= limit:
            break
    return found, total


def _decide_page(status: int = 200, **extra: Any):
    found, total = awaiting_decision(g.node)
    return render_template("decide.html", cases=found, total=total,
                           message=extra.pop("message", MESSAGES.get(request.args.get("msg", ""))), **extra), status


@blueprint.route("/decide")
@auth.requires("case.decide")
def decide():
    return _decide_page()


@blueprint.route("/decide/<case_id>", methods=["POST"])
@auth.requires("case.decide")
def decide_case(case_id: str):
    from edgenode.cases.followup import decide_case as decide_it
    from edgenode.cases.issuing import issue_after_step
    from edgenode.errors import EdgeNodeError
    from edgenode.web.app import new_work

    op = request.form.get("op", "")
    reason = request.form.get("reason", "").strip()[:500] or None
    if op not in ("approve", "deny"):
        return _decide_page(400, error="请选择准予或不予", error_code="WEB_100")
    if op == "deny" and not reason:
        return _decide_page(400, error="不予批准须填写理由", error_code="WEB_101", hint="理由会写入决定书，请写明依据")
    try:
        state = decide_it(g.node, case_id[:100], approve=op == "approve", reason=reason, staff=g.staff["login"])
    except EdgeNodeError as exc:
        return _decide_page(400, error=exc.message, error_code=exc.code, hint=exc.hint)
    issued = issue_after_step(g.node, state, staff=g.staff["login"])
    new_work()
    if issued["notice_error"]:
        return _decide_page(200, message=f"已作出决定（{state.case_no}）；决定书暂未盖章："
                                         f"{issued['notice_error']['message']}")
    return redirect("/decide?msg=decided", code=303)
