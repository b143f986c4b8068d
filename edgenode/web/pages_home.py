"""首页: today's cases, deadlines due or overdue (working days), pending sync and link state, conflicts.

The case projection (`cases` table) picks the candidates from indexes; only those are folded into today's view
(edgenode.cases.view), and kept folded while they gain no events (edgenode.web.kept), so the page costs the
same with 10,000 cases on file.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, render_template

from edgenode.web import auth
from edgenode.web.ui import blueprint

DUE_SOON_WORKING_DAYS = 3
SHOWN = 30        # rows per table; the totals are given (past SHOWN, the projection's count)


# The case's next date in the projection: the notice deadline while registered, else the completion deadline.
# The same expression as the index cases_by_due (migration 0009), named in the query: without statistics the
# planner would take cases_by_status and sort every open case.
DUE_KEY = "COALESCE(CASE WHEN status = 'registered' THEN notice_due END, deadline)"


def _views(node: Any, case_ids: list[str], today: date, calendar: Any) -> list[dict[str, Any]]:
    """Today's view of each case (edgenode.cases.view), folded again only if it gained events (edgenode.web.kept)."""
    from edgenode.cases.view import case_view
    from edgenode.web.kept import case_states

    states = case_states(node, case_ids)
    return [case_view(states[case_id], today=today, calendar=calendar, full=False) for case_id in case_ids]


def _deadlines(node: Any, today: date, calendar: Any) -> tuple[list[dict[str, Any]], int]:
    """Open cases whose next deadline is past or within DUE_SOON_WORKING_DAYS working days."""
    horizon = calendar.add_working_days(today, DUE_SOON_WORKING_DAYS).due.isoformat()
    where = f"INDEXED BY cases_by_due WHERE status IN ('registered', 'accepted') AND {DUE_KEY} <= ?"
    total = node.store.query_one(f"SELECT count(*) AS n FROM cases {where}", (horizon,))["n"]
    found: list[dict[str, Any]] = []
    for offset in range(0, total, SHOWN):   # earliest first by the projection's dates; fold until the table is full
        ids = [r["id"] for r in node.store.query(
            f"SELECT id FROM cases {where} ORDER BY {DUE_KEY}, received_at LIMIT ? OFFSET ?", (horizon, SHOWN, offset))]
        for view in _views(node, ids, today, calendar):
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
    found = sorted(found, key=lambda v: (v["deadline"], v["case_no"] or ""))[:SHOWN]
    return found, total if len(found) >= SHOWN else len(found)


@blueprint.route("/")
@auth.requires("home.view")
def home():
    from edgenode.replication.status import status as sync_status
    from edgenode.web.pages_conflicts import open_conflicts

    node = g.node
    today = node.now().date()
    calendar = node.calendar
    day = (today.isoformat(), today.isoformat() + "T99")   # received_at is ISO local time: the day's range
    todays_total = node.store.query_one("SELECT count(*) AS n FROM cases WHERE received_at >= ? AND received_at < ?",
                                        day)["n"]
    todays = _views(node, [r["id"] for r in node.store.query(
        "SELECT id FROM cases WHERE received_at >= ? AND received_at < ? ORDER BY received_at DESC, id DESC LIMIT ?",
        (*day, SHOWN))], today, calendar)
    deadlines, deadlines_total = _deadlines(node, today, calendar)
    sync = sync_status(node)
    upstream = [p for p in sync["peers"] if p["relation"] == "upstream"]
    return render_template("home.html", today=today, todays=todays, todays_total=todays_total, deadlines=deadlines,
                           deadlines_total=deadlines_total, shown=SHOWN, soon=DUE_SOON_WORKING_DAYS,
                           upstream=upstream, pending=sum(p["packets_pending"] for p in sync["peers"]),
                           warnings=sync["warnings"], conflicts=open_conflicts(node))
