"""Sign-in state, CSRF and role checks for the web UI (the sync API under /sync/v1 has its own rules).

Every UI view is either `@requires("action")` (the action must be in edgenode.accounts.roles.PERMISSIONS)
or `@public` (sign-in page only). tests/web/test_security.py walks the app's routes and fails on a view
that is neither, and on a role that gets through to an action not granted to it.

CSRF: every POST carries `csrf_token`. Signed in, it must equal the session's own secret; before sign-in
(the sign-in form) it must equal the random `edgenode_pre` cookie (double submit). Cookies are HttpOnly,
SameSite=Strict, and Secure when the request came over TLS.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from typing import Any, Callable
from urllib.parse import quote

from flask import Response, g, redirect, request

from edgenode.accounts import sessions
from edgenode.accounts.roles import PERMISSIONS, allowed
from edgenode.errors import EdgeNodeError

SESSION_COOKIE = "edgenode_session"
PRE_COOKIE = "edgenode_pre"
CSRF_FIELD = "csrf_token"


class PageError(EdgeNodeError):
    """A web request refused with an HTTP status and a Chinese error page."""

    def __init__(self, status: int, code: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(code, message, hint=hint)
        self.status = status


def requires(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The view needs a signed-in staff member whose role may do `action` (else sign-in page or 403)."""
    if action not in PERMISSIONS:
        raise KeyError(f"action {action!r} is not in edgenode.accounts.roles.PERMISSIONS")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if g.get("staff") is None:
                target = request.full_path.rstrip("?") if request.method == "GET" else "/"
                return redirect("/login?next=" + quote(target, safe="/"), code=303)
            if not allowed(g.staff["role"], action):
                if request.method == "POST":
                    with g.node.store.write():
                        g.node.record(g.staff["login"], "web.denied", detail={"action": action})
                raise PageError(403, "WEB_012", "您的角色无权进行此操作或查看此页面",
                                hint="如需此权限，请联系本节点管理员")
            return view(*args, **kwargs)

        checked.required_action = action  # type: ignore[attr-defined]
        return checked

    return decorate


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view anyone may open (sign-in). Still CSRF-checked on POST."""
    view.public = True  # type: ignore[attr-defined]
    return view


def load_session() -> None:
    """Before every UI request: who is signed in, and the CSRF check for POST."""
    from edgenode.web.app import state

    g.node = state().pool.node()
    g.session = sessions.lookup(g.node, request.cookies.get(SESSION_COOKIE))
    g.staff = g.session["staff"] if g.session else None
    g.new_pre = None
    if request.method == "POST":
        sent = request.form.get(CSRF_FIELD, "")
        expected = g.session["csrf"] if g.session else request.cookies.get(PRE_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise PageError(400, "WEB_011", "表单已过期或来源不明（安全校验未通过），未做任何改动",
                            hint="请返回上一页，刷新后重新提交")


def csrf_token() -> str:
    """The token for the form being rendered (templates: `{{ csrf_field() }}`)."""
    if g.get("session"):
        return g.session["csrf"]
    pre = request.cookies.get(PRE_COOKIE) or g.get("new_pre")
    if not pre:
        pre = g.new_pre = secrets.token_urlsafe(24)
    return pre


def set_cookie(response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="Strict", secure=request.is_secure, path="/")


def finish(response: Response) -> Response:
    """After every UI request: the pre-session cookie if one was made, and the security headers."""
    if g.get("new_pre"):
        set_cookie(response, PRE_COOKIE, g.new_pre)
    return response


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
