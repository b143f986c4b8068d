"""Sign-in sessions: a random token in an HttpOnly cookie; the database keeps only its SHA-256.

A session ends after 30 idle minutes or 10 hours in all (the node's clock decides, so EDGENODE_NOW and
test clocks move it), at sign-out, or when the account's password is changed or it is disabled. Each
session has its own CSRF secret, sent in every form and checked on every POST.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from edgenode.accounts.staff import public_view

IDLE_MINUTES = 30
ABSOLUTE_HOURS = 10
TOUCH_SECONDS = 60          # last_seen is written at most once a minute


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def start(node: Any, login: str) -> tuple[str, str]:
    """A new session for `login`: (token for the cookie, CSRF secret). Audited as staff.signin."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = node.now()
    with node.store.write():
        node.store.conn.execute(
            "INSERT INTO staff_sessions(token_hash, login, csrf_secret, created_at, last_seen, idle_expires, "
            "absolute_expires) VALUES(?, ?, ?, ?, ?, ?, ?)",
            (token_hash(token), login, csrf, _iso(now), _iso(now), _iso(now + timedelta(minutes=IDLE_MINUTES)),
             _iso(now + timedelta(hours=ABSOLUTE_HOURS))))
        node.store.conn.execute("DELETE FROM staff_sessions WHERE absolute_expires < ? OR idle_expires < ?",
                                (_iso(now), _iso(now)))
        node.record(login, "staff.signin")
    return token, csrf


def lookup(node: Any, token: str | None) -> dict[str, Any] | None:
    """The signed-in staff member and the session's CSRF secret, or None (no, ended or expired session)."""
    if not token or len(token) > 200:
        return None
    digest = token_hash(token)
    row = node.store.query_one(
        "SELECT s.*, st.login AS staff_login, st.display_name, st.role, st.disabled, st.locked_until, "
        "st.failed_attempts, st.created_at AS staff_created, st.changed_at FROM staff_sessions s "
        "JOIN staff st ON st.login = s.login WHERE s.token_hash = ?", (digest,))
    if row is None or row["disabled"]:
        return None
    now = node.now()
    if now >= datetime.fromisoformat(row["idle_expires"]) or now >= datetime.fromisoformat(row["absolute_expires"]):
        with node.store.write():
            node.store.conn.execute("DELETE FROM staff_sessions WHERE token_hash = ?", (digest,))
            node.record(row["login"], "staff.session_expired")
        return None
    if (now - datetime.fromisoformat(row["last_seen"])).total_seconds() >= TOUCH_SECONDS:
        with node.store.write():
            node.store.conn.execute("UPDATE staff_sessions SET last_seen = ?, idle_expires = ? WHERE token_hash = ?",
                                    (_iso(now), _iso(now + timedelta(minutes=IDLE_MINUTES)), digest))
    staff = public_view({"login": row["staff_login"], "display_name": row["display_name"], "role": row["role"],
                         "disabled": row["disabled"], "locked_until": None,
                         "failed_attempts": row["failed_attempts"], "created_at": row["staff_created"],
                         "changed_at": row["changed_at"]})
    return {"staff": staff, "csrf": row["csrf_secret"], "token_hash": digest}


def end(node: Any, token: str | None) -> None:
    """Sign out: the session is deleted (audited)."""
    if not token:
        return
    digest = token_hash(token)
    row = node.store.query_one("SELECT login FROM staff_sessions WHERE token_hash = ?", (digest,))
    if row is None:
        return
    with node.store.write():
        node.store.conn.execute("DELETE FROM staff_sessions WHERE token_hash = ?", (digest,))
        node.record(row["login"], "staff.signout")
