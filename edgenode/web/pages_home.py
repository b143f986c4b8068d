"""首页: today's cases, deadlines due or overdue (working days), pending sync and link state, conflicts.

The case projection (`cases` table) picks the candidates with an index-friendly query; only those are
folded into today's view (edgenode.cases.view), so the page costs the same with 10,000 cases on file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, render_template

from edgenode.web import auth
from edgenode.web.ui import blueprint

DUE_SOON_WORKING_DAYS = 3
SHOWN = 30        # rows per table; the totals are given (past SHOWN, the projection's count)


def _view(node: Any, case_id: str, today: date, calendar: Any) -> dict[str, Any]:
    from edgenode.cases.fold import fold
    from edgenode.cases.service import load_events
    from edgenode.cases.view import case_view

    return case_view(fold(load_events(node, case_id)), today=today, calendar=calendar, full=False)


def _deadlines(node: Any, today: date, calendar: Any) -> tuple[list[dict[str, Any]], int]:
    """Open cases whose next deadline is past or within DUE_SOON_WORKING_DAYS working days."""
    horizon = calendar.add_working_days(today, DUE_SOON_WORKING_DAYS).due.isoformat()
    rows = node.store.query(
        "SELECT id FROM cases WHERE (status = 'registered' AND notice_due <= ?) "
        "OR (status IN ('registered', 'accepted') AND deadline <= ?) "
        "ORDER BY COALESCE(CASE WHEN status = 'registered' THEN notice_due END, deadline), received_at",
        (horizon, horizon))
    found = []
    for row in rows:   # earliest first by the projection's dates; fold until the table is full
        view = _view(node, row["id"], today, calendar)
        if not view.get("deadline") or view["status"] not in ("registered", "accepted"):
            continue
        due = date.fromisoformat(view["deadline"])
        if due < today:
            left = -calendar.working_days_between(due, today)
        else:
            left = calendar.working_days_between(today, due)
        if left <= DUE_SOON_WORKING_DAYS:
            found.append({**view, "working_days_left": left, "overdue": due < today})
            if len(found) >= SHOWN:
                break
    found.sort(key=lambda v: (v["deadline"], v["case_no"] or ""))
    return found, len(rows) if len(found) >= SHOWN else len(found)


@blueprint.route("/")
@auth.requires("home.view")
def home():
    from edgenode.cases.edits import list_conflicts
    from edgenode.replication.status import status as sync_status

    node = g.node
    today = node.now().date()
    calendar = node.calendar
    todays_total = node.store.query_one("SELECT count(*) AS n FROM cases WHERE substr(received_at, 1, 10) = ?",
                                        (today.isoformat(),))["n"]
    todays = [_view(node, r["id"], today, calendar) for r in node.store.query(
        "SELECT id FROM cases WHERE substr(received_at, 1, 10) = ? ORDER BY received_at DESC LIMIT ?",
        (today.isoformat(), SHOWN))]
    deadlines, deadlines_total = _deadlines(node, today, calendar)
    sync = sync_status(node)
    upstream = [p for p in sync["peers"] if p["relation"] == "upstream"]
    return render_template("home.html", today=today, todays=todays, todays_total=todays_total, deadlines=deadlines,
                           deadlines_total=deadlines_total, shown=SHOWN, soon=DUE_SOON_WORKING_DAYS,
                           upstream=upstream, pending=sum(p["packets_pending"] for p in sync["peers"]),
                           warnings=sync["warnings"], conflicts=list_conflicts(node))
