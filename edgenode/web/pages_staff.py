"""人员 (admin): create staff, reset a password, disable or enable, unlock. Every change is audited."""

from __future__ import annotations

from flask import g, redirect, render_template, request

from edgenode.accounts import AccountError
from edgenode.accounts import staff as accounts
from edgenode.accounts.roles import roles_for_node
from edgenode.web import auth
from edgenode.web.ui import blueprint

MESSAGES = {"added": "已创建人员账号", "passwd": "已重设密码（该人员须用新密码重新登录）", "disabled": "已停用账号",
            "enabled": "已启用账号", "unlocked": "已解锁账号"}


def _page(status: int = 200, **extra):
    return render_template("staff.html", people=accounts.list_staff(g.node),
                           roles=roles_for_node(g.node.config.role), message=MESSAGES.get(request.args.get("msg", "")),
                           form=extra.pop("form", {}), **extra), status


@blueprint.route("/staff")
@auth.requires("staff.manage")
def staff():
    return _page()


@blueprint.route("/staff", methods=["POST"])
@auth.requires("staff.manage")
def staff_add():
    form = {k: request.form.get(k, "")[:256] for k in ("login", "display_name", "role")}
    password, again = request.form.get("password", "")[:256], request.form.get("password_again", "")[:256]
    try:
        if password != again:
            raise AccountError("WEB_010", "两次输入的密码不一致")
        accounts.add_staff(g.node, login=form["login"], display_name=form["display_name"], role=form["role"],
                           password=password, by=g.staff["login"])
    except AccountError as exc:
        return _page(400, form=form, error=exc.message, error_code=exc.code)
    return redirect("/staff?msg=added", code=303)


@blueprint.route("/staff/<login>/password", methods=["POST"])
@auth.requires("staff.manage")
def staff_password(login: str):
    password, again = request.form.get("password", "")[:256], request.form.get("password_again", "")[:256]
    try:
        if password != again:
            raise AccountError("WEB_010", "两次输入的密码不一致")
        accounts.set_password(g.node, login[:64], password, by=g.staff["login"])
    except AccountError as exc:
        return _page(400, error=f"{login[:32]}：{exc.message}", error_code=exc.code)
    return redirect("/staff?msg=passwd", code=303)


@blueprint.route("/staff/<login>/disable", methods=["POST"])
@auth.requires("staff.manage")
def staff_disable(login: str):
    disable = request.form.get("disabled", "1") == "1"
    if disable and login == g.staff["login"]:
        return _page(400, error="不能停用自己的账号")
    try:
        accounts.set_disabled(g.node, login[:64], disable, by=g.staff["login"])
    except AccountError as exc:
        return _page(400, error=exc.message, error_code=exc.code)
    return redirect(f"/staff?msg={'disabled' if disable else 'enabled'}", code=303)


@blueprint.route("/staff/<login>/unlock", methods=["POST"])
@auth.requires("staff.manage")
def staff_unlock(login: str):
    try:
        accounts.unlock(g.node, login[:64], by=g.staff["login"])
    except AccountError as exc:
        return _page(400, error=exc.message, error_code=exc.code)
    return redirect("/staff?msg=unlocked", code=303)
