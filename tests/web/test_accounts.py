"""Staff accounts: argon2id hashes, password rules, lock-out, the permission table's roles per node, the
`edgenode staff` CLI, and the audit trail of every change (with the staff login, never a password)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgenode.accounts import AccountError
from edgenode.accounts import staff as accounts
from tests.sealing.conftest import EDGENODE
from tests.web.conftest import PASSWORD, START


def test_passwords_are_stored_as_argon2id_with_the_low_spec_parameters(web):
    with web.node() as node:
        hashed = node.store.query_one("SELECT password_hash FROM staff WHERE login = 'clerk'")["password_hash"]
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$") and PASSWORD not in hashed


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_the_password_rules_list_every_problem_and_accept_only_what_they_say(password):
    problems = accounts.password_problems(password, "linxy")
    ok = (8 <= len(password) <= 128 and any(c.isascii() and c.isalpha() for c in password)
          and any(c.isdigit() and c.isascii() for c in password) and "linxy" not in password.lower()
          and len(set(password)) >= 4 and all(c.isprintable() or c == " " for c in password))
    if ok:
        assert problems == [], (password, problems)
    else:
        assert problems and all(isinstance(p, str) and p for p in problems)


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_login_names_are_checked_before_anything_is_stored(name):
    try:
        assert accounts.check_login(name) == name.strip()
        assert accounts.LOGIN_RE.fullmatch(name.strip())
    except AccountError as exc:
        assert exc.code == "WEB_001"


@given(password=st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]),
                        min_size=8, max_size=30).filter(lambda p: not accounts.password_problems(p, "pw")))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.filter_too_much])
def test_any_acceptable_password_signs_in_and_no_other_does(web, password):
    with web.node() as node:
        with node.store.write():
            node.store.conn.execute("DELETE FROM staff WHERE login = 'pw'")
        accounts.add_staff(node, login="pw", display_name="测试", role="clerk", password=password, by="test")
        assert accounts.authenticate(node, "pw", password)["login"] == "pw"
        with pytest.raises(AccountError) as wrong:
            accounts.authenticate(node, "pw", password + "x")
        assert wrong.value.code == "WEB_007"


def test_five_wrong_passwords_lock_the_account_for_15_minutes_and_it_is_audited(web):
    client = web.client()
    for attempt in range(4):
        answer = web.sign_in(client, "clerk", "Wrong2026pass")
        assert answer.status_code == 401 and "WEB_007" in answer.get_data(as_text=True)
    fifth = web.sign_in(client, "clerk", "Wrong2026pass")
    assert fifth.status_code == 401 and "WEB_008" in fifth.get_data(as_text=True) and "锁定" in fifth.get_data(as_text=True)
    right = web.sign_in(client, "clerk", PASSWORD)
    assert right.status_code == 401 and "WEB_008" in right.get_data(as_text=True)
    web.clock.at += timedelta(minutes=14, seconds=59)
    assert web.sign_in(client, "clerk", PASSWORD).status_code == 401
    web.clock.at += timedelta(seconds=1)
    assert web.sign_in(client, "clerk", PASSWORD).status_code == 303
    with web.node() as node:
        rows = node.store.query("SELECT staff, action, detail FROM audit WHERE action LIKE 'staff.%' "
                                "AND staff = 'clerk' ORDER BY seq")
    actions = [r["action"] for r in rows]
    assert actions.count("staff.signin_failed") == 5 and actions.count("staff.locked") == 1
    assert actions[-1] == "staff.signin" and all(PASSWORD not in (r["detail"] or "") for r in rows)


def test_an_unknown_login_gets_the_same_answer_as_a_wrong_password(web):
    client = web.client()
    unknown = web.sign_in(client, "nobody", PASSWORD).get_data(as_text=True)
    wrong = web.sign_in(client, "clerk", "Wrong2026pass").get_data(as_text=True)
    assert "登录名或密码不对" in unknown and "登录名或密码不对" in wrong


def test_an_admin_unlocks_a_locked_account(web):
    client = web.client()
    for _ in range(5):
        web.sign_in(client, "reviewer", "Wrong2026pass")
    admin = web.signed_in("admin")
    assert "已锁定至" in admin.get("/staff").get_data(as_text=True)
    assert admin.post("/staff/reviewer/unlock", data={"csrf_token": web.csrf(admin)}).status_code == 303
    assert web.sign_in(web.client(), "reviewer").status_code == 303


def test_staff_changes_in_the_ui_are_audited_with_the_admins_login(web):
    admin = web.signed_in("admin")
    token = web.csrf(admin)
    new = {"login": "linxy", "display_name": "林晓燕", "role": "clerk", "password": "Window2026ab",
           "password_again": "Window2026ab", "csrf_token": token}
    assert admin.post("/staff", data=new).status_code == 303
    assert admin.post("/staff/linxy/password", data={"password": "Counter2027b", "password_again": "Counter2027b",
                                                     "csrf_token": token}).status_code == 303
    assert admin.post("/staff/linxy/disable", data={"disabled": "1", "csrf_token": token}).status_code == 303
    assert admin.post("/staff/linxy/disable", data={"disabled": "0", "csrf_token": token}).status_code == 303
    with web.node() as node:
        rows = node.store.query("SELECT staff, action, detail FROM audit WHERE action IN "
                                "('staff.add', 'staff.passwd', 'staff.disable', 'staff.enable') ORDER BY seq")
        rows = [r for r in rows if json.loads(r["detail"]).get("login") == "linxy"]
    assert [(r["staff"], r["action"]) for r in rows] == [("admin", "staff.add"), ("admin", "staff.passwd"),
                                                         ("admin", "staff.disable"), ("admin", "staff.enable")]
    assert all("Window2026ab" not in r["detail"] and "Counter2027b" not in r["detail"] for r in rows)
    assert web.sign_in(web.client(), "linxy", "Counter2027b").status_code == 303


def test_a_refused_new_account_shows_every_problem_in_chinese(web):
    admin = web.signed_in("admin")
    page = admin.post("/staff", data={"login": "x y", "display_name": "甲", "role": "clerk", "password": "a",
                                      "password_again": "a", "csrf_token": web.csrf(admin)})
    assert page.status_code == 400 and "登录名格式不对" in page.get_data(as_text=True)
    page = admin.post("/staff", data={"login": "abc", "display_name": "甲", "role": "clerk", "password": "abc",
                                      "password_again": "abc", "csrf_token": web.csrf(admin)})
    text = page.get_data(as_text=True)
    assert "密码至少 8 位" in text and "须同时包含字母和数字" in text and "不能包含登录名" in text


def test_county_admin_exists_only_on_a_county_node(web, county_web):
    admin = web.signed_in("admin")
    assert 'value="county_admin"' not in admin.get("/staff").get_data(as_text=True)
    page = admin.post("/staff", data={"login": "ca", "display_name": "县", "role": "county_admin",
                                      "password": "Window2026ab", "password_again": "Window2026ab",
                                      "csrf_token": web.csrf(admin)})
    assert page.status_code == 400 and "只能在县级节点设立" in page.get_data(as_text=True)
    county = county_web.signed_in("county_admin")
    assert 'value="county_admin"' in county.get("/staff").get_data(as_text=True)


def _cli(*args: str, home, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "EDGENODE_HOME": str(home), "EDGENODE_NOW": START, "EDGENODE_STAFF": "安装员"}
    return subprocess.run([EDGENODE, "staff", *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120)


def test_the_staff_cli_adds_lists_changes_disables_and_unlocks(station_home):
    made = _cli("add", "linxy", "--name", "林晓燕", "--role", "clerk", "--password-stdin", "--json",
                home=station_home, stdin="Window2026ab\n")
    assert made.returncode == 0 and json.loads(made.stdout)["staff"]["role_name"] == "代办员"
    listed = json.loads(_cli("list", "--json", home=station_home).stdout)["staff"]
    assert {"linxy", "admin", "clerk"} <= {p["login"] for p in listed}
    assert all("password" not in json.dumps(p) for p in listed)
    again = _cli("add", "linxy", "--name", "林", "--role", "clerk", "--password-stdin", home=station_home,
                 stdin="Window2026ab\n")
    assert again.returncode == 1 and "WEB_003" in again.stderr
    weak = _cli("add", "weak", "--name", "弱", "--role", "clerk", "--password-stdin", "--json", home=station_home,
                stdin="12345678\n")
    assert weak.returncode == 1 and json.loads(weak.stdout)["code"] == "WEB_002"
    assert _cli("passwd", "linxy", "--password-stdin", home=station_home, stdin="Counter2027b\n").returncode == 0
    assert _cli("disable", "linxy", home=station_home).returncode == 0
    assert json.loads(_cli("list", "--json", home=station_home).stdout)["staff"][
        [p["login"] for p in listed].index("linxy")]["disabled"] is True
    assert _cli("unlock", "nobody", home=station_home).returncode == 1
    with __import__("edgenode.node", fromlist=["Node"]).Node.open(station_home) as node:
        actions = [(r["staff"], r["action"]) for r in node.store.query(
            "SELECT staff, action FROM audit WHERE action LIKE 'staff.%' ORDER BY seq")][-3:]
    assert actions == [("安装员", "staff.add"), ("安装员", "staff.passwd"), ("安装员", "staff.disable")]


def test_every_staff_command_has_an_example_and_json_and_no_password_option():
    for command in ("add", "list", "passwd", "disable", "unlock"):
        text = subprocess.run([EDGENODE, "staff", command, "--help"], capture_output=True, text=True).stdout
        assert "例" in text and "--json" in text and "--password " not in text and "--password=" not in text
