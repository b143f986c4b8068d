"""Folded cases kept between requests, for pages that show many cases (首页; 冲突 keeps its own conflicts).

Events are only ever added to a case, so a case whose event count and newest event id are unchanged folds to
the same state: one aggregate query per page (`event_marks`) says which of its cases gained events since they
were last folded (an edit, a step, a packet), and only those are read and folded again. Kept per node home,
at most KEEP_MAX states (about 10 KB each), cleared when full. Callers must not change a state they get.
"""

from __future__ import annotations

from typing import Any

KEEP_MAX = 1000
_KEPT: dict[tuple[str, str], tuple[tuple[int, str], Any]] = {}


def event_marks(node: Any, case_ids: list[str]) -> dict[str, tuple[int, str]]:
    """(event count, newest event id) of each case, in one query per 500 cases."""
    marks: dict[str, tuple[int, str]] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        marks.update((r["case_id"], (r["n"], r["newest"])) for r in node.store.query(
            f"SELECT case_id, count(*) AS n, max(id) AS newest FROM events WHERE case_id IN "
            f"({', '.join('?' for _ in chunk)}) GROUP BY case_id", tuple(chunk)))
    return marks


def case_states(node: Any, case_ids: list[str]) -> dict[str, Any]:
    """The folded state of each case, folding only those not kept or changed since."""
    from edgenode.cases.fold import fold
    from edgenode.cases.service import load_events_of

    marks = event_marks(node, case_ids)
    if len(_KEPT) > KEEP_MAX:
        _KEPT.clear()
    found: dict[str, Any] = {}
    for case_id in case_ids:
        held = _KEPT.get((str(node.home), case_id))
        if held is not None and held[0] == marks.get(case_id):
            found[case_id] = held[1]
    stale = [case_id for case_id in case_ids if case_id not in found]
    for case_id, events in load_events_of(node, stale).items():
        found[case_id] = fold(events)
        _KEPT[(str(node.home), case_id)] = (marks.get(case_id, (0, "")), found[case_id])
    return found
