"""`edgenode conflicts list` candidate search with and without the events_by_type index (migration 0006).

    .venv/bin/python bench/bench_conflicts_list.py [--cases 20000] [--events-per-case 8] [--repeat 5]

A migrated SQLite database (the real schema) gets ``--cases`` cases of ``--events-per-case`` events each
(received, one-time notice, correction, accepted, clock stopped and resumed, decided, handed over, as many as
``--events-per-case`` allows, and one evaluation; one case in 200 has a second, concurrent decision);
the query `list_conflicts` runs to find cases worth folding is timed (best of ``--repeat``), with the index,
then after dropping it. Only the candidate search: folding the candidates is the same either way.

Wall-clock figures on a shared machine vary; run it a few times. Not a test: tests never time anything.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TYPES = ["CaseReceived", "CorrectionRequested", "MaterialsCorrected", "CaseAccepted", "ClockSuspended",
         "ClockResumed", "CaseDecided", "CaseHandedOver"]


def build(path: Path, cases: int, per_case: int) -> sqlite3.Connection:
    import sqlite_utils

    from edgenode.migrations import migrate

    conn = sqlite3.connect(path)
    migrate(sqlite_utils.Database(conn))
    rows = []
    for c in range(cases):
        types = TYPES[:per_case - 1] + ["EvaluationGiven"]
        if c % 200 == 0:
            types.append("CaseDecided")
        for n, type_ in enumerate(types):
            rows.append((f"e{c:07d}-{n:02d}", f"c{c:07d}", type_, f"{c:013d}.{n:06x}.n", "n", "s", "[]",
                         '{"x": "' + "y" * 300 + '"}', 1, "t"))
    conn.executemany("INSERT INTO events(id, case_id, type, hlc, author_node, author_staff, causal_base, payload, "
                     "version, recorded_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    return conn


def timed(conn: sqlite3.Connection, repeat: int) -> tuple[float, int]:
    from edgenode.cases.edits import contested_cases_query

    sql, params = contested_cases_query()
    best, found = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        found = len(conn.execute(sql, params).fetchall())
        best = min(best, time.perf_counter() - start)
    return best, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--events-per-case", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        conn = build(Path(tmp) / "bench.db", args.cases, args.events_per_case)
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        with_index, found = timed(conn, args.repeat)
        conn.execute("DROP INDEX events_by_type")
        conn.commit()
        without, found_without = timed(conn, args.repeat)
        assert found == found_without
        old = conn.execute("SELECT count(*) FROM (SELECT case_id FROM events WHERE type IN ('ApplicantFieldsEdited', "
                           "'ConflictResolved', 'MaterialsCorrected', 'CaseDecided', 'CaseRejected', 'CaseHandedOver') "
                           "GROUP BY case_id HAVING count(*) > 1)").fetchone()[0]
        print(f"{args.cases} cases, {events} events; candidates to fold: {found} "
              f"(the query before 0006 picked {old}: every decided and handed-over case)")
        print(f"with events_by_type:    {with_index * 1000:8.1f} ms")
        print(f"without (table scan):   {without * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
