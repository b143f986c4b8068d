"""Staff accounts: create, list, change password, disable, unlock, and check a sign-in.

Passwords are hashed with argon2id (argon2-cffi) at parameters a low-spec station PC can afford:
19 MiB memory, 2 passes, 1 lane (OWASP's minimum for argon2id). Five wrong passwords in a row lock the
account for 15 minutes (audited as `staff.locked`). Every change is audited with the staff member who
made it; audit details never hold passwords or hashes.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from edgenode.accounts import AccountError
from edgenode.accounts.roles import COUNTY_NODE_ROLES, COUNTY_ONLY_ROLES, ROLE_NAMES

ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
MAX_PASSWORD = 128
LOGIN_RE = re.compile(r"^[a-z][a-z0-9_.\-]{1,31}$")


@lru_cache(maxsize=1)
def _hasher():  # -> argon2.PasswordHasher
    from argon2 import PasswordHasher, Type

    return PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                          parallelism=ARGON2_PARALLELISM, hash_len=32, salt_len=16, type=Type.ID)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash("edgenode-dummy-password-0")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify(hashed: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problems(password: str, login: str = "") -> list[str]:
    """Every reason a new password is refused (empty list: acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"密码至少 {MIN_PASSWORD} 位")
    if len(password) > MAX_PASSWORD:
        problems.append(f"密码最多 {MAX_PASSWORD} 位")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        problems.append("密码须同时包含字母和数字")
    if any(unicodedata.category(ch)[0] == "C" for ch in password):
        problems.append("密码不能包含控制字符")
    if login and login.lower() in password.lower():
        problems.append("密码不能包含登录名")
    if len(set(password)) < 4:
        problems.append("密码过于简单（不同字符太少）")
    return problems


def check_login(login: str) -> str:
    login = (login or "").strip()
    if not LOGIN_RE.fullmatch(login):
        raise AccountError("WEB_001", "登录名格式不对：应为 2–32 位小写字母、数字、点、下划线或连字符，以字母开头",
                           hint="例如 linxy 或 clerk01")
    return login


def _check_password(password: str, login: str) -> None:
    problems = password_problems(password, login)
    if problems:
        raise AccountError("WEB_002", "密码不符合要求：" + "；".join(problems), errors=problems)


def _check_display(display: str) -> str:
    display = (display or "").strip()
    if not 1 <= len(display) <= 40 or any(unicodedata.category(ch)[0] == "C" for ch in display):
        raise AccountError("WEB_015", "显示名称应为 1–40 个字符，不含控制字符")
    return display


def _check_role(node: Any, role: str) -> str:
    if role not in ROLE_NAMES:
        raise AccountError("WEB_005", f"角色无效：{role[:40]}，可选 " + "、".join(f"{k}（{v}）" for k, v in ROLE_NAMES.items()))
    if role in COUNTY_ONLY_ROLES and node.config.role not in COUNTY_NODE_ROLES:
        raise AccountError("WEB_006", f"{ROLE_NAMES[role]}只能在县级节点设立")
    return role


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _row(node: Any, login: str) -> Any:
    row = node.store.query_one("SELECT * FROM staff WHERE login = ?", (login,))
    if row is None:
        raise AccountError("WEB_004", f"没有登录名为 {login[:32]} 的人员", hint="可用 edgenode staff list 查看")
    return row


def public_view(row: Any, now: datetime | None = None) -> dict[str, Any]:
    locked = bool(row["locked_until"]) and (now is None or datetime.fromisoformat(row["locked_until"]) > now)
    return {"login": row["login"], "display_name": row["display_name"], "role": row["role"],
            "role_name": ROLE_NAMES.get(row["role"], row["role"]), "disabled": bool(row["disabled"]),
            "locked_until": row["locked_until"] if locked else None, "failed_attempts": row["failed_attempts"],
            "created_at": row["created_at"], "changed_at": row["changed_at"]}


def add_staff(node: Any, *, login: str, display_name: str, role: str, password: str, by: str) -> dict[str, Any]:
    login = check_login(login)
    display_name = _check_display(display_name)
    role = _check_role(node, role)
    _check_password(password, login)
    hashed = hash_password(password)
    now = _iso(node.now())
    with node.store.write():
        if node.store.query_one("SELECT 1 FROM staff WHERE login = ?", (login,)):
            raise AccountError("WEB_003", f"登录名 {login} 已被使用", hint="请换一个登录名")
        node.store.conn.execute(
            "INSERT INTO staff(login, display_name, role, password_hash, failed_attempts, locked_until, disabled, "
            "created_at, changed_at) VALUES(?, ?, ?, ?, 0, NULL, 0, ?, ?)",
            (login, display_name, role, hashed, now, now))
        node.record(by, "staff.add", detail={"login": login, "role": role})
    return public_view(_row(node, login), node.now())


def list_staff(node: Any) -> list[dict[str, Any]]:
    now = node.now()
    return [public_view(row, now) for row in node.store.query("SELECT * FROM staff ORDER BY login")]


def get_staff(node: Any, login: str) -> dict[str, Any]:
    return public_view(_row(node, login), node.now())


def set_password(node: Any, login: str, password: str, *, by: str) -> None:
    _row(node, login)
    _check_password(password, login)
    hashed = hash_password(password)
    with node.store.write():
        node.store.conn.execute("UPDATE staff SET password_hash = ?, failed_attempts = 0, locked_until = NULL, "
                                "changed_at = ? WHERE login = ?", (hashed, _iso(node.now()), login))
        node.store.conn.execute("DELETE FROM staff_sessions WHERE login = ?", (login,))
        node.record(by, "staff.passwd", detail={"login": login})


def set_disabled(node: Any, login: str, disabled: bool, *, by: str) -> None:
    _row(node, login)
    with node.store.write():
        node.store.conn.execute("UPDATE staff SET disabled = ?, changed_at = ? WHERE login = ?",
                                (int(disabled), _iso(node.now()), login))
        if disabled:
            node.store.conn.execute("DELETE FROM staff_sessions WHERE login = ?", (login,))
        node.record(by, "staff.disable" if disabled else "staff.enable", detail={"login": login})


def unlock(node: Any, login: str, *, by: str) -> None:
    _row(node, login)
    with node.store.write():
        node.store.conn.execute("UPDATE staff SET failed_attempts = 0, locked_until = NULL, changed_at = ? "
                                "WHERE login = ?", (_iso(node.now()), login))
        node.record(by, "staff.unlock", detail={"login": login})


def authenticate(node: Any, login: str, password: str) -> dict[str, Any]:
    """The account if `password` is right and the account usable; else AccountError (failure counted)."""
    login = (login or "").strip()[:64]
    row = node.store.query_one("SELECT * FROM staff WHERE login = ?", (login,)) if LOGIN_RE.fullmatch(login) else None
    if row is None:
        _verify(_dummy_hash(), password)          # the same work as for a real account
        with node.store.write():
            node.record("anonymous", "staff.signin_failed", detail={"reason": "unknown"})
        raise AccountError("WEB_007", "登录名或密码不对")
    now = node.now()
    if row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > now:
        with node.store.write():
            node.record(login, "staff.signin_refused", detail={"reason": "locked"})
        raise AccountError("WEB_008", f"密码连续输错 {MAX_FAILURES} 次，账号已锁定至 "
                           f"{datetime.fromisoformat(row['locked_until']).strftime('%H:%M')}",
                           hint="请稍后再试，或请管理员解锁")
    good = _verify(row["password_hash"], password)
    if good and row["disabled"]:
        with node.store.write():
            node.record(login, "staff.signin_refused", detail={"reason": "disabled"})
        raise AccountError("WEB_009", "该账号已停用", hint="请联系管理员")
    with node.store.write():
        if good:
            node.store.conn.execute("UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE login = ?",
                                    (login,))
            if _hasher().check_needs_rehash(row["password_hash"]):
                node.store.conn.execute("UPDATE staff SET password_hash = ? WHERE login = ?",
                                        (hash_password(password), login))
        else:
            failures = row["failed_attempts"] + 1
            locked = _iso(now + timedelta(minutes=LOCK_MINUTES)) if failures >= MAX_FAILURES else None
            node.store.conn.execute("UPDATE staff SET failed_attempts = ?, locked_until = ? WHERE login = ?",
                                    (0 if locked else failures, locked, login))
            node.record(login, "staff.signin_failed", detail={"failures": failures})
            if locked:
                node.record(login, "staff.locked", detail={"minutes": LOCK_MINUTES})
    if not good:
        if locked:
            raise AccountError("WEB_008", f"密码连续输错 {MAX_FAILURES} 次，账号已锁定 {LOCK_MINUTES} 分钟",
                               hint="请稍后再试，或请管理员解锁")
        raise AccountError("WEB_007", "登录名或密码不对",
                           hint=f"连续输错 {MAX_FAILURES} 次账号将锁定 {LOCK_MINUTES} 分钟")
    return public_view(_row(node, login), now)
