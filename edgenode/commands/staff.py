"""`edgenode staff`: staff accounts for the web UI (add, list, passwd, disable, unlock).

Passwords are read at a hidden prompt (typed twice) or, with --password-stdin, as the first line of
standard input (for scripts); never from the command line, where other users and shell history see them.
"""

from __future__ import annotations

import sys

import click

from edgenode.commands.node import CliContext, emit, json_option

ROLE_CHOICES = ["clerk", "reviewer", "seal_custodian", "admin", "county_admin"]
stdin_option = click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（第一行），供脚本使用。")


def _read_password(from_stdin: bool) -> str:
    from edgenode.accounts import AccountError

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = click.prompt("密码", hide_input=True, err=True)
    again = click.prompt("再输入一次", hide_input=True, err=True)
    if first != again:
        raise AccountError("WEB_010", "两次输入的密码不一致")
    return first


@click.group()
def staff() -> None:
    """工作人员账号（网页登录用）：新建、列出、改密码、停用、解锁。

    \b
    例：edgenode staff add linxy --name 林晓燕 --role clerk
    """


@staff.command("add")
@click.argument("login")
@click.option("--name", "display_name", required=True, help="显示的姓名，如 林晓燕。")
@click.option("--role", required=True, type=click.Choice(ROLE_CHOICES),
              help="角色：clerk 代办员，reviewer 审核员，seal_custodian 印章管理员，admin 管理员，county_admin 县级管理员（仅县级节点）。")
@stdin_option
@json_option
@click.pass_obj
def add(obj: CliContext, login: str, display_name: str, role: str, password_stdin: bool, as_json: bool) -> None:
    """新建工作人员账号。密码在提示下输入两次（或 --password-stdin）。

    \b
    例：edgenode staff add admin --name 张管理 --role admin
        echo 'Abc12345x' | edgenode staff add linxy --name 林晓燕 --role clerk --password-stdin --json
    """
    from edgenode.accounts.staff import add_staff

    password = _read_password(password_stdin)
    with obj.open_node() as node:
        made = add_staff(node, login=login, display_name=display_name, role=role, password=password,
                         by=obj.staff_name)
    emit({"staff": made}, as_json, lambda d: click.echo(f"已新建 {d['staff']['display_name']}（{d['staff']['login']}，"
                                                         f"{d['staff']['role_name']}）"))


def _print_list(d: dict) -> None:
    if not d["staff"]:
        click.echo("还没有工作人员账号。例：edgenode staff add admin --name 张管理 --role admin")
    for p in d["staff"]:
        state = "已停用" if p["disabled"] else (f"锁定至 {p['locked_until'][11:16]}" if p["locked_until"] else "正常")
        click.echo(f"{p['login']:<16} {p['display_name']:<10} {p['role_name']:<8} {state}")


@staff.command("list")
@json_option
@click.pass_obj
def list_(obj: CliContext, as_json: bool) -> None:
    """列出工作人员账号（登录名、姓名、角色、状态）。

    \b
    例：edgenode staff list --json
    """
    from edgenode.accounts.staff import list_staff

    with obj.open_node() as node:
        people = list_staff(node)
    emit({"staff": people}, as_json, _print_list)


@staff.command("passwd")
@click.argument("login")
@stdin_option
@json_option
@click.pass_obj
def passwd(obj: CliContext, login: str, password_stdin: bool, as_json: bool) -> None:
    """重设某人的密码（其已登录的会话随之失效，锁定解除）。

    \b
    例：edgenode staff passwd linxy
    """
    from edgenode.accounts.staff import set_password

    password = _read_password(password_stdin)
    with obj.open_node() as node:
        set_password(node, login, password, by=obj.staff_name)
    emit({"login": login}, as_json, lambda d: click.echo(f"已重设 {d['login']} 的密码"))


@staff.command("disable")
@click.argument("login")
@click.option("--enable", is_flag=True, help="重新启用已停用的账号。")
@json_option
@click.pass_obj
def disable(obj: CliContext, login: str, enable: bool, as_json: bool) -> None:
    """停用账号（立即退出其所有会话）；加 --enable 重新启用。

    \b
    例：edgenode staff disable linxy
        edgenode staff disable linxy --enable
    """
    from edgenode.accounts.staff import set_disabled

    with obj.open_node() as node:
        set_disabled(node, login, not enable, by=obj.staff_name)
    emit({"login": login, "disabled": not enable}, as_json,
         lambda d: click.echo(f"已{'停用' if d['disabled'] else '启用'} {d['login']}"))


@staff.command("unlock")
@click.argument("login")
@json_option
@click.pass_obj
def unlock(obj: CliContext, login: str, as_json: bool) -> None:
    """解除因密码输错被锁定的账号。

    \b
    例：edgenode staff unlock linxy
    """
    from edgenode.accounts.staff import unlock as do_unlock

    with obj.open_node() as node:
        do_unlock(node, login, by=obj.staff_name)
    emit({"login": login}, as_json, lambda d: click.echo(f"已解锁 {d['login']}"))


COMMANDS = [staff]
