"""Sign-in and sign-out."""

from __future__ import annotations

from flask import g, make_response, redirect, render_template, request

from edgenode.accounts import AccountError, sessions
from edgenode.accounts.staff import authenticate
from edgenode.web import auth
from edgenode.web.ui import blueprint

MESSAGES = {"signed_out": "已退出登录", "expired": "登录已过期，请重新登录"}


@blueprint.route("/login", methods=["GET", "POST"])
@auth.public
def login():
    next_url = auth.safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.staff is not None:
            return redirect(next_url, code=303)
        return render_template("login.html", next_url=next_url, login_name="",
                               message=MESSAGES.get(request.args.get("msg", "")))
    login_name = request.form.get("login", "").strip()[:64]
    try:
        staff = authenticate(g.node, login_name, request.form.get("password", "")[:256])
    except AccountError as exc:
        return render_template("login.html", next_url=next_url, login_name=login_name, error=exc.message,
                               hint=exc.hint, error_code=exc.code), 401
    token, _csrf = sessions.start(g.node, staff["login"])
    response = make_response(redirect(next_url, code=303))
    auth.set_cookie(response, auth.SESSION_COOKIE, token)
    return response


@blueprint.route("/logout", methods=["POST"])
@auth.requires("home.view")
def logout():
    sessions.end(g.node, request.cookies.get(auth.SESSION_COOKIE))
    response = make_response(redirect("/login?msg=signed_out", code=303))
    response.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure)
    return response
