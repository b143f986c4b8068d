"""The staff web UI: one blueprint, server-rendered Jinja2 pages in Chinese (see edgenode/web/README.md).

Pages live in `pages_*.py` modules that add routes to `blueprint`; list a new module in PAGE_MODULES and,
if it has a menu entry, in NAV. The sync API (/sync/v1) keeps its JSON errors; everything else gets the
Chinese error pages here (404, 403, 400, 405, 413, 500), never a stack trace.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, g, render_template, request
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from edgenode.accounts.roles import ROLE_NAMES, allowed
from edgenode.errors import EdgeNodeError
from edgenode.web import auth

log = logging.getLogger("edgenode.web")
blueprint = Blueprint("ui", __name__)
blueprint.before_request(auth.load_session)

PAGE_MODULES = ["pages_auth", "pages_home", "pages_items", "pages_staff", "pages_sync", "pages_conflicts", "pages_seals",
                "pages_county", "pages_intake", "pages_cases"]
# The menu: (label, endpoint, action). Entries whose endpoint does not exist yet are left out.
NAV = [
    ("首页", "ui.home", "home.view"),
    ("收件", "ui.intake", "case.receive"),
    ("办件", "ui.cases", "case.view"),
    ("事项", "ui.items", "catalog.view"),
    ("同步", "ui.sync", "sync.view"),
    ("冲突", "ui.conflicts", "conflict.view"),
    ("印章", "ui.seals", "seal.view"),
    ("目录发布", "ui.publish", "catalog.publish"),
    ("节点注册", "ui.enrol", "node.enrol"),
    ("待决定", "ui.decide", "case.decide"),
    ("人员", "ui.staff", "staff.manage"),
]
API_PREFIXES = ("/sync/",)
NODE_ROLE_NAMES = {"station": "村(社区)便民服务站", "township": "乡镇(街道)便民服务中心", "field": "上门服务终端",
                   "county": "县级", "province": "省级"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")

_HTTP_PAGES = {
    404: ("WEB_013", "没有这个页面", "请检查地址，或从上方菜单进入"),
    405: ("WEB_016", "该页面不接受这种操作", "请从页面上的按钮或链接操作"),
    413: ("WEB_017", "提交的内容太大", "请缩小文件后重试"),
}


def mask_id(number: Any) -> Any:
    """ID numbers in every list: the first 6 and last 4 characters (the one helper, from edgenode.cases)."""
    from edgenode.cases.view import mask_id as mask

    return mask(number if number is None else str(number))


def wants_json() -> bool:
    return request.path.startswith(API_PREFIXES) or request.blueprint not in (None, "ui")


def _page(status: int, code: str, message: str, hint: str | None) -> Response:
    html = render_template("error.html", status=status, code=code, problem=message, problem_hint=hint)
    return Response(html, status=status, mimetype="text/html")


def handle_error(exc: BaseException) -> Response:
    """Every error of the app: JSON for the API, a Chinese page for the UI."""
    from edgenode.web import errors

    if wants_json():
        return errors.to_response(exc)
    try:
        if isinstance(exc, HTTPException) and exc.code is not None:
            code, message, hint = _HTTP_PAGES.get(exc.code, ("WEB_018", "请求无法处理", "请返回上一页重试"))
            return _page(exc.code, code, message, hint)
        if isinstance(exc, auth.PageError):
            return _page(exc.status, exc.code, exc.message, exc.hint)
        if isinstance(exc, EdgeNodeError):
            log.warning("page request refused: %s", exc.code)
            return _page(400, exc.code, exc.message, exc.hint)
        log.error("internal error while answering a page", exc_info=exc)
        return _page(500, "WEB_014", "系统内部错误，操作未完成", "请稍后重试；详细信息已写入节点日志")
    except Exception:  # the error page itself failed (e.g. the database is gone): plain text, no trace
        log.exception("error page failed")
        return Response("系统内部错误（WEB_014），请稍后重试。", status=500, mimetype="text/plain")


def _link_state(node: Any) -> dict[str, Any]:
    rows = node.store.query("SELECT node_id, name, last_contact FROM repl_peers WHERE relation = 'upstream'")
    if not rows:
        return {"state": "none", "text": "未设置上级节点"}
    latest = max((r["last_contact"] for r in rows if r["last_contact"]), default=None)
    if latest is None:
        return {"state": "offline", "text": "尚未与上级联系"}
    age = (node.now() - datetime.fromisoformat(latest)).total_seconds()
    if age <= 300:
        return {"state": "online", "text": "与上级连接正常"}
    return {"state": "offline", "text": f"离线，上次联系 {datetime.fromisoformat(latest).strftime('%m-%d %H:%M')}"}


def _context() -> dict[str, Any]:
    node = g.get("node")
    staff = g.get("staff")
    nav = []
    if staff is not None:
        from flask import current_app

        nav = [(label, endpoint) for label, endpoint, action in NAV
               if endpoint in current_app.view_functions and allowed(staff["role"], action)]
    link = None
    if staff is not None and node is not None:
        try:
            link = _link_state(node)
        except Exception:  # the header never breaks a page
            log.exception("link state unavailable")
    return {"node_config": node.config if node is not None else None, "staff": staff, "nav": nav, "link": link,
            "role_names": ROLE_NAMES, "node_role_names": NODE_ROLE_NAMES,
            "csrf_field": lambda: Markup(f'<input type="hidden" name="{auth.CSRF_FIELD}" '
                                         f'value="{escape(auth.csrf_token())}">'),
            "can": lambda action: staff is not None and allowed(staff["role"], action)}


def _headers(response: Response) -> Response:
    if wants_json():
        return response
    response = auth.finish(response)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def install(app: Flask) -> None:
    for name in PAGE_MODULES:
        importlib.import_module(f"edgenode.web.{name}")
    app.register_blueprint(blueprint)
    app.context_processor(_context)
    app.add_template_filter(mask_id, "mask_id")
    app.after_request(_headers)
    app.register_error_handler(Exception, handle_error)
