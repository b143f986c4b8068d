"""Listing cases from the projection, with today's view of each (deemed acceptance, deadlines)."""

from __future__ import annotations

from typing import Any

from edgenode.cases.service import load_events_of
from edgenode.cases.fold import fold
from edgenode.cases.view import case_view


def _where(node: Any, status: str | None, item_code: str | None = None, received_from: str | None = None,
           received_to: str | None = None, case_no: str | None = None) -> tuple[str, list[Any]]:
    today = node.now().date().isoformat()
    clauses: list[str] = []
    params: list[Any] = []
    if status == "accepted":  # includes registered receipts deemed accepted after their notice deadline
        clauses.append("(status = 'accepted' OR (status = 'registered' AND notice_due < ?))")
        params.append(today)
    elif status == "registered":
        clauses.append("(status = 'registered' AND notice_due >= ?)")
        params.append(today)
    elif status:
        clauses.append("status = ?")
        params.append(status)
    if item_code:
        clauses.append("item_code = ?")
        params.append(item_code)
    if received_from:   # received_at is ISO local time: a date prefix compares correctly
        clauses.append("received_at >= ?")
        params.append(received_from)
    if received_to:
        clauses.append("received_at < ?")
        params.append(received_to + "T99")
    if case_no:
        escaped = case_no.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("case_no LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_cases(node: Any, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    return search_cases(node, status=status, limit=limit)[0]


def search_cases(node: Any, *, status: str | None = None, item_code: str | None = None,
                 received_from: str | None = None, received_to: str | None = None, case_no: str | None = None,
                 offset: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of cases, newest first, and how many match. Dates are ISO days (received on or between)."""
    where, params = _where(node, status, item_code, received_from, received_to, case_no)
    total = node.store.query_one(f"SELECT count(*) AS n FROM cases {where}", tuple(params))["n"]
    rows = node.store.query(f"SELECT id FROM cases {where} ORDER BY received_at DESC, id DESC LIMIT ? OFFSET ?",
                            (*params, limit, max(0, offset)))
    calendar, today = node.calendar, node.now().date()
    events = load_events_of(node, [row["id"] for row in rows])
    return [case_view(fold(events[row["id"]]), today=today, calendar=calendar, full=False) for row in rows], total
