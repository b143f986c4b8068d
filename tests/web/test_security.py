"""Security of the web UI over plain HTTP (Flask test client on a real node): every route checks the role
from the one permission table, CSRF on every POST, sessions expire, typed values are escaped, errors are
Chinese pages without stack traces, pages stay small."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgenode.accounts.roles import PERMISSIONS, ROLE_NAMES
from tests.web.conftest import COUNTY_ROLES, STATION_ROLES, csrf_of, login_of

API_PREFIX = "/sync/"


def ui_rules(app):
    """Every route of the app that is not the sync API or Flask's static files."""
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static" and not r.rule.startswith(API_PREFIX)]


def url_for_rule(rule) -> str:
    url = rule.rule
    for name in rule.arguments:
        url = re.sub(rf"<(?:[^:<>]+:)?{name}>", "nobody", url)
    return url


def methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_ui_route_names_an_action_of_the_permission_table_or_is_public(web):
    rules = ui_rules(web.app)
    assert len(rules) >= 8
    for rule in rules:
        view = web.app.view_functions[rule.endpoint]
        action = getattr(view, "required_action", None)
        assert action is not None or getattr(view, "public", False), f"{rule.rule} checks no role"
        assert action is None or action in PERMISSIONS
    public = sorted(r.rule for r in rules if getattr(web.app.view_functions[r.endpoint], "public", False))
    assert public == ["/login"]


def test_the_permission_table_names_only_known_roles_and_every_role_can_open_the_home_page():
    assert all(roles <= set(ROLE_NAMES) and roles for roles in PERMISSIONS.values())
    assert PERMISSIONS["home.view"] == frozenset(ROLE_NAMES)


@pytest.mark.parametrize("where", ["station", "county"])
def test_every_route_is_refused_to_each_role_not_permitted_and_open_to_those_permitted(where, web, county_web):
    target = web if where == "station" else county_web
    roles = STATION_ROLES if where == "station" else COUNTY_ROLES
    checked = 0
    for role in roles:
        client = target.signed_in(role)
        token = target.csrf(client)
        for rule in ui_rules(target.app):
            action = getattr(target.app.view_functions[rule.endpoint], "required_action", None)
            if action is None:
                continue
            for method in methods(rule):
                url = url_for_rule(rule)
                if method == "GET":
                    answer = client.get(url)
                else:
                    if rule.endpoint == "ui.logout":
                        continue
                    answer = client.post(url, data={"csrf_token": token})
                body = answer.get_data(as_text=True)
                if role in PERMISSIONS[action]:
                    assert answer.status_code != 403 and answer.status_code < 500, (role, method, url, body[-300:])
                else:
                    assert answer.status_code == 403 and "WEB_012" in body, (role, method, url, answer.status_code)
                    checked += 1
                assert "Traceback" not in body
    assert checked > 0


def test_anonymous_requests_go_to_sign_in_and_change_nothing(web):
    client = web.client()
    token = csrf_of(client.get("/login").get_data(as_text=True))    # a valid pre-session token
    for rule in ui_rules(web.app):
        if getattr(web.app.view_functions[rule.endpoint], "public", False):
            continue
        for method in methods(rule):
            url = url_for_rule(rule)
            answer = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token})
            assert answer.status_code == 303 and answer.headers["Location"].startswith("/login"), (method, url)
    with web.node() as node:
        assert [r["login"] for r in node.store.query("SELECT login FROM staff ORDER BY login")] == \
            sorted(login_of(r) for r in STATION_ROLES)


def _staff_count(web) -> int:
    with web.node() as node:
        return node.store.query_one("SELECT count(*) AS n FROM staff")["n"]


@pytest.mark.parametrize("token", [None, "", "forged-token-of-the-right-shape-xxxxxxxxxxxx"])
def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(web, token):
    admin = web.signed_in("admin")
    before = _staff_count(web)
    data = {"login": "newclerk", "display_name": "新人", "role": "clerk", "password": "Window2026ab",
            "password_again": "Window2026ab"}
    if token is not None:
        data["csrf_token"] = token
    answer = admin.post("/staff", data=data)
    assert answer.status_code == 400 and "WEB_011" in answer.get_data(as_text=True)
    assert _staff_count(web) == before
    data["csrf_token"] = web.csrf(admin)
    assert admin.post("/staff", data=data).status_code == 303
    assert _staff_count(web) == before + 1


def test_another_sessions_token_does_not_pass(web):
    admin, clerk = web.signed_in("admin"), web.signed_in("clerk")
    answer = admin.post("/staff/clerk/disable", data={"csrf_token": web.csrf(clerk), "disabled": "1"})
    assert answer.status_code == 400


def test_sign_in_needs_the_pre_session_token_too(web):
    client = web.client()
    csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"login": "admin", "password": "Counter2026x"})
    assert answer.status_code == 400 and "WEB_011" in answer.get_data(as_text=True)
    fresh = web.client()   # no pre-session cookie at all
    assert fresh.post("/login", data={"login": "admin", "password": "Counter2026x", "csrf_token": "x" * 32}).status_code == 400


def test_cookies_are_httponly_and_samesite_strict_and_secure_only_over_tls(web):
    client = web.client()
    page = client.get("/login")
    assert "HttpOnly" in page.headers["Set-Cookie"] and "SameSite=Strict" in page.headers["Set-Cookie"]
    assert "Secure" not in page.headers["Set-Cookie"]
    answer = client.post("/login", data={"login": "admin", "password": "Counter2026x",
                                         "csrf_token": csrf_of(page.get_data(as_text=True))})
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("edgenode_session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    tls = web.client()
    page = tls.get("/login", base_url="https://localhost")
    assert "Secure" in page.headers["Set-Cookie"]


def test_the_database_keeps_only_a_hash_of_the_session_token(web):
    client = web.client()
    answer = web.sign_in(client, "admin")
    token = answer.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    with web.node() as node:
        rows = node.store.query("SELECT * FROM staff_sessions")
    assert rows and all(token not in json.dumps([*row]) for row in rows)


def test_a_session_ends_after_30_idle_minutes(web):
    client = web.signed_in("clerk")
    web.clock.at += timedelta(minutes=29)
    assert client.get("/").status_code == 200
    web.clock.at += timedelta(minutes=29)      # 29 idle minutes since the last request: still signed in
    assert client.get("/").status_code == 200
    web.clock.at += timedelta(minutes=30)
    answer = client.get("/items")
    assert answer.status_code == 303 and answer.headers["Location"].startswith("/login?next=/items")
    with web.node() as node:
        assert node.store.query_one("SELECT count(*) AS n FROM audit WHERE action = 'staff.session_expired' "
                                    "AND staff = 'clerk'")["n"] == 1


def test_a_busy_session_still_ends_after_10_hours(web):
    client = web.signed_in("clerk")
    for _ in range(39):                          # a request every 15 minutes: 9 h 45 min
        web.clock.at += timedelta(minutes=15)
        assert client.get("/").status_code == 200
    web.clock.at += timedelta(minutes=15)
    assert client.get("/").status_code == 303


def test_sign_out_ends_the_session_on_the_server(web):
    client = web.signed_in("clerk")
    cookie = client.get_cookie("edgenode_session").value
    assert client.post("/logout", data={"csrf_token": web.csrf(client)}).status_code == 303
    replay = web.client()
    replay.set_cookie("edgenode_session", cookie)
    assert replay.get("/").status_code == 303


def test_a_disabled_account_loses_its_session_at_once(web):
    clerk, admin = web.signed_in("clerk"), web.signed_in("admin")
    assert admin.post("/staff/clerk/disable", data={"csrf_token": web.csrf(admin), "disabled": "1"}).status_code == 303
    assert clerk.get("/").status_code == 303
    assert web.sign_in(web.client(), "clerk").status_code == 401


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_typed_values_are_escaped_everywhere_they_are_shown(web):
    admin = web.signed_in("admin")
    found = admin.get("/items", query_string={"q": XSS}).get_data(as_text=True)
    assert "<script>alert" not in found and "&lt;script&gt;" in found and "<img src=x" not in found
    answer = admin.post("/staff", data={"login": "xss", "display_name": XSS[:40], "role": "clerk",
                                        "password": "Window2026ab", "password_again": "Window2026ab",
                                        "csrf_token": web.csrf(admin)})
    assert answer.status_code == 303
    listing = admin.get("/staff").get_data(as_text=True)
    assert "&lt;script&gt;" in listing and "<script>alert" not in listing
    refused = web.client()
    token = csrf_of(refused.get("/login").get_data(as_text=True))
    page = refused.post("/login", data={"login": XSS, "password": "x", "csrf_token": token}).get_data(as_text=True)
    assert "<script>alert" not in page and "onerror=alert" not in page.replace("&lt;", "").split("<input")[0]
    assert admin.get("/items/" + "%3Cscript%3E").status_code == 404


def test_pages_carry_a_strict_content_security_policy(web):
    answer = web.signed_in("admin").get("/")
    assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Frame-Options"] == "DENY" and answer.headers["Cache-Control"] == "no-store"


def test_error_pages_are_chinese_and_the_sync_api_keeps_its_json(web):
    client = web.signed_in("clerk")
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert "没有这个页面" in missing.get_data(as_text=True) and "WEB_013" in missing.get_data(as_text=True)
    api = client.get("/sync/v1/no-such-route")
    assert api.status_code == 404 and api.mimetype == "application/json" and api.get_json()["code"] == "HTTP_001"
    wrong = client.put("/items")
    assert wrong.status_code == 405 and "WEB_016" in wrong.get_data(as_text=True)
    assert "Traceback" not in missing.get_data(as_text=True)


def test_an_unexpected_error_is_a_chinese_500_page_without_a_trace(web, monkeypatch):
    import edgenode.catalog_store as catalog_store

    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail /home/x")

    monkeypatch.setattr(catalog_store, "search_items", broken)
    answer = web.signed_in("clerk").get("/items?q=低保")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 500 and "WEB_014" in body and "系统内部错误" in body
    assert "secret internal detail" not in body and "Traceback" not in body


def test_every_page_weighs_under_200_kb(web):
    from edgenode.catalog_store import list_items

    admin = web.signed_in("admin")
    with web.node() as node:
        codes = [i["code"] for i in list_items(node.store)]
    pages = ["/", "/items", "/items?q=证明", "/staff", "/static/style.css", *[f"/items/{c}" for c in codes]]
    for url in pages:
        answer = admin.get(url)
        assert answer.status_code == 200, url
        assert len(answer.data) < 200 * 1024, (url, len(answer.data))
    assert len(web.client().get("/login").data) < 200 * 1024


def test_next_after_sign_in_stays_on_this_site(web):
    client = web.client()
    token = csrf_of(client.get("/login?next=//evil.example/x").get_data(as_text=True))
    answer = client.post("/login", data={"login": "admin", "password": "Counter2026x", "csrf_token": token,
                                         "next": "//evil.example/x"})
    assert answer.headers["Location"] == "/"


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_safe_next_only_ever_gives_a_local_path(target):
    from edgenode.web.auth import safe_next

    result = safe_next(target)
    assert result.startswith("/") and not result.startswith("//") and "\\" not in result
    assert result in (target, "/")
