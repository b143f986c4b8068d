"""首页: today's cases, deadlines due or overdue (working days), pending sync and link state, conflicts."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, render_template

from edgenode.web import auth
from edgenode.web.ui import blueprint

DUE_SOON_WORKING_DAYS = 3
OPEN_CASES_LIMIT = 500


def _deadlines(node: Any, today: date) -> list[dict[str, Any]]:
    from edgenode.cases.listing import list_cases

    calendar = node.calendar
    found = []
    for status in ("registered", "accepted"):
        for view in list_cases(node, status=status, limit=OPEN_CASES_LIMIT):
            if not view.get("deadline"):
                continue
            due = date.fromisoformat(view["deadline"])
            if due < today:
                left = -calendar.working_days_between(due, today)
            else:
                left = calendar.working_days_between(today, due)
            if left <= DUE_SOON_WORKING_DAYS:
                found.append({**view, "working_days_left": left, "overdue": due < today})
    return sorted(found, key=lambda v: (v["deadline"], v["case_no"] or ""))


@blueprint.route("/")
@auth.requires("home.view")
def home():
    from edgenode.cases.edits import list_conflicts
    from edgenode.cases.listing import list_cases
    from edgenode.replication.status import status as sync_status

    node = g.node
    today = node.now().date()
    todays = [v for v in list_cases(node, limit=200) if (v.get("received_at") or "")[:10] == today.isoformat()]
    sync = sync_status(node)
    upstream = [p for p in sync["peers"] if p["relation"] == "upstream"]
    return render_template("home.html", today=today, todays=todays, deadlines=_deadlines(node, today),
                           upstream=upstream, pending=sum(p["packets_pending"] for p in sync["peers"]),
                           warnings=sync["warnings"], conflicts=list_conflicts(node))
