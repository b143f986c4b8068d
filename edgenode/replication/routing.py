"""Routing: which events and downstream items a peer should get, and the record of what each packet carried.

What goes where (ADR 0010, "Routing"):
- to an upstream (station/township -> county and province, field -> station, county -> province): every
  case event this node holds that the peer does not (relayed ones included, so a field laptop's cases reach
  the county through its station). Events carry material blob references, never the scans themselves;
- to the province (from a station, township or county): the same case events, evaluations (好差评)
  included, and attestations; nothing else (`PROVINCE_KINDS`): no scans, no blob items, ever (ADR 0013).
  The events go whole: an event's id names its content everywhere (the same id with other content is
  refused), so a copy stripped of applicant details would collide with the one relayed by the county;
- to a child (county -> station, station -> field): the events of the cases that child holds (it sent us
  one of the case's events, or we sent it one), so decisions come back down; the newest signed catalog
  release, CRL and working-day calendar; its case-number blocks; and the peers its upstream vouches for.

`repl_carried` records per peer what was sent to it or received from it (events by id, other items by a
key); a peer "lacks" what has no row there. `repl_peer_cases` is the set of cases a peer holds. The event
scan keeps a per-peer cursor on the events table's rowid, checked against the event id found there so a
renumbering (VACUUM) only costs one full scan; `repl_rescan` queues cases to look at again whatever the
cursor (a case newly shared, or a repair after a digest mismatch).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from edgenode.replication import numbers
from sync.body import Item
from sync.envelope import Event

SCAN_META = "repl_scan:"
# What a packet to the province may carry: the case record (events, evaluations included) and attestations.
PROVINCE_KINDS = frozenset({"event", "attestation"})


def province_may_carry(peer_role: str, item: Item) -> bool:
    """False for anything but events and attestations bound for the province (scans never go there)."""
    return peer_role != "province" or item.kind in PROVINCE_KINDS


def event_from_row(row: Any) -> Event:
    return Event(id=row["id"], case_id=row["case_id"], type=row["type"], hlc=row["hlc"],
                 author_node=row["author_node"], author_staff=row["author_staff"],
                 causal_base=tuple(json.loads(row["causal_base"])), payload=json.loads(row["payload"]),
                 version=row["version"])


# -- bookkeeping (inside the caller's write transaction) ---------------------------------------------
def mark(node: Any, peer_id: str, kind: str, ref: str, packet_id: str, *, direction: str,
         case_id: str | None = None) -> None:
    node.store.conn.execute(
        "INSERT INTO repl_carried(peer_id, kind, ref, case_id, direction, packet_id) VALUES(?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(peer_id, kind, ref) DO NOTHING", (peer_id, kind, ref, case_id, direction, packet_id))


def mark_events(node: Any, peer_id: str, events: Iterable[Event], packet_id: str, *, direction: str) -> None:
    """`mark` for every event of a packet, in one statement."""
    node.store.conn.executemany(
        "INSERT INTO repl_carried(peer_id, kind, ref, case_id, direction, packet_id) VALUES(?, 'event', ?, ?, ?, ?) "
        "ON CONFLICT(peer_id, kind, ref) DO NOTHING",
        [(peer_id, event.id, event.case_id, direction, packet_id) for event in events])


def hold_cases(node: Any, peer_id: str, case_ids: Iterable[str]) -> None:
    """The peer holds these cases from now on; a case newly shared is scanned in full once."""
    for case_id in set(case_ids):
        cur = node.store.conn.execute("INSERT OR IGNORE INTO repl_peer_cases(peer_id, case_id, since) VALUES(?, ?, ?)",
                                      (peer_id, case_id, node.now().isoformat()))
        if cur.rowcount:
            node.store.conn.execute("INSERT OR IGNORE INTO repl_rescan(peer_id, case_id) VALUES(?, ?)",
                                    (peer_id, case_id))


def forget_case(node: Any, peer_id: str, case_id: str) -> None:
    """Repair: treat every event of the case as not yet exchanged with the peer, so it is all sent again."""
    node.store.conn.execute("DELETE FROM repl_carried INDEXED BY repl_carried_by_case WHERE peer_id = ? "
                            "AND case_id = ? AND kind = 'event'", (peer_id, case_id))
    node.store.conn.execute("INSERT OR IGNORE INTO repl_rescan(peer_id, case_id) VALUES(?, ?)", (peer_id, case_id))


def forget_kind(node: Any, peer_id: str, kind: str) -> None:
    node.store.conn.execute("DELETE FROM repl_carried WHERE peer_id = ? AND kind = ?", (peer_id, kind))


def forget_packet(node: Any, packet_id: str) -> list[str]:
    """Release of a refused outgoing packet: what it carried becomes due again. Returns its case ids."""
    cases = [r[0] for r in node.store.conn.execute(
        "SELECT DISTINCT case_id FROM repl_carried WHERE packet_id = ? AND case_id IS NOT NULL", (packet_id,))]
    node.store.conn.execute("DELETE FROM repl_carried WHERE packet_id = ? AND direction = 'sent'", (packet_id,))
    return cases


def contiguous_seen(node: Any, sender: str) -> int:
    """The highest n such that packets 1..n from `sender` are all recorded here (applied or set aside)."""
    seqs = [r[0] for r in node.store.conn.execute(
        "SELECT DISTINCT seq FROM repl_inbox WHERE sender = ? ORDER BY seq", (sender,))]
    n = 0
    for seq in seqs:
        if seq != n + 1:
            break
        n = seq
    return n


# -- events -------------------------------------------------------------------------------------------
_LACKS = "NOT EXISTS (SELECT 1 FROM repl_carried c WHERE c.peer_id = :peer AND c.kind = 'event' AND c.ref = e.id)"


def _cursor(node: Any, peer_id: str) -> int:
    raw = node.store.get_meta(SCAN_META + peer_id)
    if not raw:
        return 0
    rowid, _, event_id = raw.partition(":")
    row = node.store.query_one("SELECT id FROM events WHERE rowid = ?", (int(rowid),))
    return int(rowid) if row is not None and row["id"] == event_id else 0


def events_due(node: Any, peer: Any, limit: int) -> tuple[list[Any], bool]:
    """Events the peer lacks, oldest first: (rows, more left). Moves the scan cursor (caller's transaction)."""
    if peer["relation"] == "known" or limit <= 0 or node.config.role == "province":
        return [], False  # the province takes in case records and evaluations; it sends none back
    params = {"peer": peer["node_id"], "limit": limit}
    scope = "" if peer["relation"] == "upstream" else \
        "AND e.case_id IN (SELECT case_id FROM repl_peer_cases WHERE peer_id = :peer)"
    rescued = node.store.conn.execute(
        f"SELECT e.rowid AS rid, e.* FROM events e WHERE e.case_id IN "
        f"(SELECT case_id FROM repl_rescan WHERE peer_id = :peer) AND {_LACKS} ORDER BY e.rowid LIMIT :limit",
        params).fetchall()
    scan_limit = limit - len(rescued)
    scanned: list[Any] = []
    more = scan_limit <= 0
    if scan_limit > 0:
        params.update(cursor=_cursor(node, peer["node_id"]), limit=scan_limit)
        scanned = node.store.conn.execute(
            f"SELECT e.rowid AS rid, e.* FROM events e WHERE e.rowid > :cursor {scope} AND {_LACKS} "
            "ORDER BY e.rowid LIMIT :limit", params).fetchall()
        more = len(scanned) >= scan_limit
        top = scanned[-1] if more else node.store.conn.execute(
            "SELECT rowid AS rid, id FROM events ORDER BY rowid DESC LIMIT 1").fetchone()
        if top is not None:
            node.store.set_meta(SCAN_META + peer["node_id"], f"{top['rid']}:{top['id']}")
    if len(rescued) < limit:
        node.store.conn.execute("DELETE FROM repl_rescan WHERE peer_id = ?", (peer["node_id"],))
    seen = {r["id"] for r in rescued}
    return [*rescued, *(r for r in scanned if r["id"] not in seen)], more


# -- downstream items -----------------------------------------------------------------------------------
def _lacks(node: Any, peer_id: str, kind: str, ref: str) -> bool:
    return node.store.conn.execute("SELECT 1 FROM repl_carried WHERE peer_id = ? AND kind = ? AND ref = ?",
                                   (peer_id, kind, ref)).fetchone() is None


def _newest_release(node: Any) -> tuple[str, Item] | None:
    row = node.store.conn.execute("SELECT * FROM repl_releases ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        return None
    from edgenode.replication.releases import release_item

    return str(row["version"]), release_item(row)


def _newest_crl(node: Any) -> tuple[str, Item] | None:
    row = node.store.conn.execute("SELECT number, pem FROM crls ORDER BY number DESC LIMIT 1").fetchone()
    return (str(row["number"]), Item("crl", {"number": row["number"], "pem": row["pem"]})) if row else None


def _newest_calendar(node: Any) -> tuple[str, Item] | None:
    row = node.store.conn.execute("SELECT version, document FROM calendars ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return str(row["version"]), Item("calendar", {"version": row["version"], "table": json.loads(row["document"])})


def _introductions(node: Any, peer: Any) -> list[tuple[str, Item]]:
    """County -> station: the province, and field laptops of the station's own village.
    County -> province: every node its CA certified. Vouched for by the packet's signature."""
    own = node.config.role
    if own != "county" or peer["relation"] not in ("child", "upstream"):
        return []
    if peer["role"] == "province":
        rows = node.store.conn.execute("SELECT * FROM repl_peers WHERE relation = 'child'").fetchall()
    elif peer["role"] in ("station", "township"):
        rows = node.store.conn.execute(
            "SELECT * FROM repl_peers WHERE (role = 'province' AND relation = 'upstream') "
            "OR (role = 'field' AND division = ?)", (peer["division"],)).fetchall()
    else:
        rows = []
    out = []
    for row in rows:
        data = {"type": "introduce", **{k: row[k] for k in ("node_id", "role", "division", "name", "url",
                                                            "signing_public", "exchange_public")},
                "cert": row["cert_pem"]}
        out.append((f"{row['node_id']}:{row['signing_public'][:16]}", Item("attestation", data)))
    return out


def downstream_due(node: Any, peer: Any) -> list[tuple[str, str, Item]]:
    """(kind, ref, item) the peer lacks among releases, CRLs, calendars, number blocks and introductions."""
    due: list[tuple[str, str, Item]] = []
    if node.config.role == "province":
        return due
    if peer["relation"] == "child":
        for kind, found in (("catalog_release", _newest_release(node)), ("crl", _newest_crl(node)),
                            ("calendar", _newest_calendar(node))):
            if found is not None:
                due.append((kind, *found))
        due += [("number_block", ref, item) for ref, item in numbers.blocks_due(node, peer["node_id"])]
    due += [("introduce", ref, item) for ref, item in _introductions(node, peer)]
    return [(kind, ref, item) for kind, ref, item in due if _lacks(node, peer["node_id"], kind, ref)]
