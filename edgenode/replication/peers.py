"""Peers: the nodes this node exchanges packets with, and how far it trusts each.

Where a peer comes from (`repl_peers.source`):
- `enrolment`: the county hub's node certificate, carried in the enrolment bundle (meta `hub_node_cert`);
- `ca`: at a county, every node certificate its CA issued (the register `ca_certificates`);
- `card`: a node card (`edgenode sync card`) added by a person: trusted because its certificate chains to
  one of our CA anchors, or because the person typed the key fingerprint read out by the other side;
- `introduced:<node>`: a peer our county hub (or, at the province, a county) vouched for in a packet.

The relation follows the roles (field < station = township < county < province): a higher role is an
upstream, a lower one a child; a field laptop's only upstreams are stations (its county is `known`, used to
verify the releases it signs). The signing key used to check a sender is always the registered one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from edgenode.replication import ReplicationError

RANK = {"field": 0, "station": 1, "township": 1, "county": 2, "province": 3}
CARD_FORMAT = "edgenode.node-card/1"
HUB_CERT_META = "hub_node_cert"
_O = "2.5.4.10"  # organizationName: the node's display name in a node certificate


@dataclass(frozen=True)
class Peer:
    node_id: str
    role: str
    name: str
    url: str | None
    signing_public_raw: bytes
    exchange_public_raw: bytes


def relation_for(own_role: str, peer_role: str) -> str:
    own, other = RANK[own_role], RANK[peer_role]
    if own_role == "field":
        return "upstream" if other == 1 else "known"
    return "upstream" if other > own else "child" if other < own else "known"


def _peer(row: Any) -> Peer:
    return Peer(row["node_id"], row["role"], row["name"], row["url"], bytes.fromhex(row["signing_public"]),
                bytes.fromhex(row["exchange_public"]))


# -- certificates ------------------------------------------------------------------------------------
def cert_facts(pem: str) -> dict[str, Any] | None:
    """node id, role, division, name and both raw keys of a node certificate (None if not one)."""
    from seals import certs

    try:
        cert = certs.load_cert(pem)
    except Exception:  # noqa: BLE001 - SealError or a parser error: not a usable certificate
        return None
    info = certs.node_info(cert)
    signing = certs.node_public_raw(cert)
    if info is None or len(signing) != 32:
        return None
    name = next((str(a.value) for a in cert.subject if a.oid.dotted_string == _O), info.node_id)
    return {"node_id": info.node_id, "role": info.role, "division": info.division, "name": name,
            "signing_public": signing.hex(), "exchange_public": info.exchange_public_raw.hex(),
            "cert_pem": certs.cert_pem(cert), "not_before": cert.not_valid_before_utc}


def _derived(node: Any) -> list[tuple[dict[str, Any], str]]:
    """Peers the trust store names: the hub (enrolment bundle) and, at a county, its CA's nodes."""
    found = []
    hub = node.store.get_meta(HUB_CERT_META)
    if hub:
        facts = cert_facts(hub)
        if facts and facts["node_id"] != node.config.node_id:
            found.append((facts, "enrolment"))
    if node.config.role == "county":
        newest: dict[str, dict[str, Any]] = {}
        for row in node.store.query("SELECT pem FROM ca_certificates WHERE kind = 'node' ORDER BY issued_at"):
            facts = cert_facts(row["pem"])
            if facts and facts["node_id"] != node.config.node_id:
                newest[facts["node_id"]] = facts
        found += [(facts, "ca") for facts in newest.values()]
    return found


def _upsert(node: Any, facts: dict[str, Any], source: str) -> None:
    """Within a write transaction. Keeps url, contact and skew; a re-enrolled node's new keys replace the old."""
    node.store.conn.execute(
        "INSERT INTO repl_peers(node_id, role, division, name, relation, url, signing_public, exchange_public, "
        "cert_pem, source, added_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(node_id) DO UPDATE SET "
        "role = excluded.role, division = excluded.division, name = excluded.name, relation = excluded.relation, "
        "url = COALESCE(excluded.url, repl_peers.url), signing_public = excluded.signing_public, "
        "exchange_public = excluded.exchange_public, cert_pem = excluded.cert_pem, source = excluded.source",
        (facts["node_id"], facts["role"], facts["division"], facts["name"],
         relation_for(node.config.role, facts["role"]), facts.get("url"), facts["signing_public"],
         facts["exchange_public"], facts.get("cert_pem"), source, node.now().isoformat()))


REFRESH_META = "repl_peers_source"


def _source_mark(node: Any) -> str:
    """Changes whenever the trust store's peers may have: a new or re-issued certificate, a new hub."""
    import hashlib

    hub = node.store.get_meta(HUB_CERT_META) or ""
    issued = node.store.query_one("SELECT count(*) AS n, COALESCE(max(rowid), 0) AS top FROM ca_certificates")
    return f"{issued['n']}:{issued['top']}:{hashlib.sha256(hub.encode()).hexdigest()[:16]}"


def refresh(node: Any) -> None:
    """Bring `repl_peers` in step with the trust store (reads it only when it changed)."""
    mark = _source_mark(node)
    if node.store.get_meta(REFRESH_META) == mark:
        return
    stale = []
    for facts, source in _derived(node):
        row = node.store.query_one("SELECT signing_public, exchange_public, cert_pem, role FROM repl_peers "
                                   "WHERE node_id = ?", (facts["node_id"],))
        if row is None or (row["signing_public"], row["exchange_public"], row["cert_pem"], row["role"]) != (
                facts["signing_public"], facts["exchange_public"], facts["cert_pem"], facts["role"]):
            stale.append((facts, source))
    with node.store.write():
        for facts, source in stale:
            _upsert(node, facts, source)
        node.store.set_meta(REFRESH_META, mark)


# -- reading ------------------------------------------------------------------------------------------
def all_rows(node: Any) -> list[Any]:
    refresh(node)
    return node.store.query("SELECT * FROM repl_peers ORDER BY relation DESC, role, node_id")


def row_for(node: Any, peer_id: str) -> Any:
    row = node.store.query_one("SELECT * FROM repl_peers WHERE node_id = ?", (peer_id,))
    if row is None:
        refresh(node)
        row = node.store.query_one("SELECT * FROM repl_peers WHERE node_id = ?", (peer_id,))
    if row is None:
        raise ReplicationError("REPL_001", f"节点 {peer_id[:40]} 不是本节点登记的同步对象",
                               context={"peer": peer_id[:40]},
                               hint="可用 edgenode sync peers 查看；新对象用 edgenode sync peer add 名片文件 登记")
    return row


def get(node: Any, peer_id: str) -> Peer:
    return _peer(row_for(node, peer_id))


def listed(node: Any, relation: str | None = None) -> list[Peer]:
    return [_peer(r) for r in all_rows(node) if relation is None or r["relation"] == relation]


# -- trust for the packet codec ------------------------------------------------------------------------
def standing(node: Any, row: Any) -> Any:
    """What our trust store says of a peer's node certificate now (sync.packet.Standing)."""
    from edgenode.sealing.trust import anchor_pems, crl_pems
    from sync.packet import Standing

    if not row["cert_pem"]:
        return Standing.VALID  # a card registered by fingerprint: valid until a person retires it
    return _standing_of(row["cert_pem"], tuple(anchor_pems(node)), tuple(crl_pems(node)), node.now())


# The verdict is a function of the certificate, the anchors, the CRLs and the time; between two instants where
# a comparison in `check_signer` can flip (validity bounds of the certificate and of each anchor, the
# certificate's revocation dates) it is constant. So it is kept by (certificate, anchors, CRLs) with the open
# interval of time it holds for: a new CRL, anchor or certificate is another key, and a hub checks a sender's
# certificate once instead of once per packet (parsing it and the CRL and verifying both signatures).
_STANDING: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[Any, Any, Any]] = {}
_STANDING_MAX = 1024


def _standing_of(cert_pem: str, anchors: tuple[str, ...], crls: tuple[str, ...], now: Any) -> Any:
    key = (cert_pem, anchors, crls)
    held = _STANDING.get(key)
    if held is not None and (held[1] is None or held[1] < now) and (held[2] is None or now < held[2]):
        return held[0]
    verdict = _check_standing(cert_pem, anchors, crls, now)
    bounds = _time_bounds(cert_pem, anchors, crls)
    if bounds and now not in bounds:
        if len(_STANDING) >= _STANDING_MAX:
            _STANDING.clear()
        _STANDING[key] = (verdict, max((b for b in bounds if b < now), default=None),
                          min((b for b in bounds if b > now), default=None))
    return verdict


def _check_standing(cert_pem: str, anchors: tuple[str, ...], crls: tuple[str, ...], now: Any) -> Any:
    from seals.trust import check_signer

    from sync.packet import Standing

    result = check_signer([cert_pem], alg="Ed25519", trusted_cas=list(anchors), crls=list(crls), signed_at=now, now=now)
    codes = {reason.code for reason in result.reasons}
    if any(code.startswith("cert_revoked") for code in codes):
        return Standing.REVOKED
    if codes & {"cert_expired", "cert_not_yet_valid", "ca_expired"}:
        return Standing.EXPIRED
    return Standing.VALID


def _time_bounds(cert_pem: str, anchors: tuple[str, ...], crls: tuple[str, ...]) -> set[Any]:
    """Every instant at which the verdict for this certificate may change (empty: not to be cached)."""
    from seals import certs

    try:
        leaf = certs.load_cert(cert_pem)
        bounds = {leaf.not_valid_before_utc, leaf.not_valid_after_utc}
        for pem in anchors:
            ca = certs.load_cert(pem)
            bounds |= {ca.not_valid_before_utc, ca.not_valid_after_utc}
        for pem in crls:
            entry = certs.load_crl(pem).get_revoked_certificate_by_serial_number(leaf.serial_number)
            if entry is not None:
                bounds.add(entry.revocation_date_utc)
    except Exception:  # noqa: BLE001 - unparsable: not cached, checked every time (and refused by check_signer)
        return set()
    return bounds


class KnownSenders(Mapping[str, Any]):
    """The registered senders, looked up one at a time (a county has hundreds; a packet names one). The
    trust anchors and CRLs are read once for the object's life (one batch); `forget()` after a change."""

    def __init__(self, node: Any) -> None:
        refresh(node)
        self.node = node
        self._trust: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def forget(self) -> None:
        """The trust store may have changed (a CRL or a peer came in): read it again at the next packet."""
        self._trust = None

    def _standing(self, row: Any) -> Any:
        from edgenode.sealing.trust import anchor_pems, crl_pems
        from sync.packet import Standing

        if not row["cert_pem"]:
            return Standing.VALID  # a card registered by fingerprint: valid until a person retires it
        if self._trust is None:
            self._trust = (tuple(anchor_pems(self.node)), tuple(crl_pems(self.node)))
        return _standing_of(row["cert_pem"], *self._trust, self.node.now())

    def __getitem__(self, node_id: str) -> Any:
        from sync.packet import KnownSender

        row = self.node.store.query_one("SELECT * FROM repl_peers WHERE node_id = ?", (node_id,))
        if row is None:
            raise KeyError(node_id)
        return KnownSender(bytes.fromhex(row["signing_public"]), lambda header: self._standing(row))

    def __iter__(self) -> Iterator[str]:
        return iter([r["node_id"] for r in self.node.store.query("SELECT node_id FROM repl_peers")])

    def __len__(self) -> int:
        return self.node.store.query_one("SELECT count(*) AS n FROM repl_peers")["n"]


def known_senders(node: Any) -> KnownSenders:
    return KnownSenders(node)


# -- node cards -----------------------------------------------------------------------------------------
def own_card(node: Any, *, url: str | None = None) -> bytes:
    """This node's card: id, role, division, name, both public keys, its node certificate if it has one,
    self-signed with the node key. A county's card carries its hub certificate."""
    from seals.canonical import b64encode, canonical_json

    cert = node.store.query_one("SELECT pem FROM certificates WHERE kind = 'node' AND node_id = ? "
                                "ORDER BY not_before DESC LIMIT 1", (node.config.node_id,))
    pem = cert["pem"] if cert else (node.store.get_meta(HUB_CERT_META) if node.config.role == "county" else None)
    body = {"format": CARD_FORMAT, "node_id": node.config.node_id, "role": node.config.role,
            "division": node.config.division, "name": node.config.name, "url": url,
            "signing_public": b64encode(node.keys.signing_public_raw()),
            "exchange_public": b64encode(node.keys.exchange_public_raw()), "cert": pem}
    return canonical_json({**body, "signature": b64encode(node.keys.sign(canonical_json(body)))})


def _bad_card(why: str) -> ReplicationError:
    return ReplicationError("REPL_002", f"节点名片无效：{why}，未登记", hint="请让对方重新运行 edgenode sync card 导出名片")


def read_card(data: bytes) -> dict[str, Any]:
    """The facts of a self-signed node card (REPL_002 if it is not one)."""
    from seals.canonical import b64decode, canonical_json, loads_strict
    from seals.keys import key_fingerprint, verify_node_signature

    try:
        doc = loads_strict(data)
        body = {k: doc[k] for k in ("format", "node_id", "role", "division", "name", "url", "signing_public",
                                    "exchange_public", "cert")}
        signing, exchange = b64decode(doc["signing_public"], "signing"), b64decode(doc["exchange_public"], "x")
        signature = b64decode(doc["signature"], "signature")
    except Exception:  # noqa: BLE001 - any shape problem is the same refusal
        raise _bad_card("不是 edgenode 节点名片或已损坏") from None
    if body["format"] != CARD_FORMAT or body["role"] not in RANK or len(signing) != 32 or len(exchange) != 32:
        raise _bad_card("格式、角色或密钥长度不对")
    if not verify_node_signature(signing, canonical_json(body), signature):
        raise _bad_card("名片签名无效（内容被改动）")
    from sync.header import valid_node_id

    if not valid_node_id(body["node_id"]):
        raise _bad_card("节点编号不合规范")
    return {"node_id": body["node_id"], "role": body["role"], "division": str(body["division"]),
            "name": str(body["name"])[:60], "url": body["url"], "signing_public": signing.hex(),
            "exchange_public": exchange.hex(), "cert_pem": body["cert"], "fingerprint": key_fingerprint(signing)}


def anchored(node: Any, facts: dict[str, Any]) -> bool:
    """The card's certificate chains to one of our CA anchors and certifies exactly the card's keys."""
    from seals.trust import check_signer

    from edgenode.sealing.trust import anchor_pems, crl_pems

    if not facts["cert_pem"]:
        return False
    cert = cert_facts(facts["cert_pem"])
    if cert is None or any(cert[k] != facts[k] for k in ("node_id", "role", "signing_public", "exchange_public")):
        return False
    now = node.now()
    result = check_signer([facts["cert_pem"]], alg="Ed25519", trusted_cas=anchor_pems(node), crls=crl_pems(node),
                          signed_at=now, now=now)
    return not result.reasons


def add_card(node: Any, data: bytes, *, fingerprint: str | None, url: str | None, staff: str) -> dict[str, Any]:
    """Register a peer from its card: by a certificate of our CA, or by the fingerprint a person checked."""
    facts = read_card(data)
    if facts["node_id"] == node.config.node_id:
        raise _bad_card("这是本节点自己的名片")
    vouched = anchored(node, facts)
    given = "".join(c for c in (fingerprint or "").lower() if c in "0123456789abcdef")
    if not vouched:
        if len(given) < 16 or not facts["fingerprint"].startswith(given):
            raise ReplicationError(
                "REPL_003", f"节点 {facts['node_id']} 的名片不是本县CA签发的证书所证明的，需核对密钥指纹后登记",
                context={"node_id": facts["node_id"], "fingerprint": facts["fingerprint"]},
                hint=f"请电话向对方核对指纹后用 --fingerprint {facts['fingerprint'][:16]}… 登记")
        facts["cert_pem"] = None  # not vouched for by our CA: trusted by the checked fingerprint alone
    facts["url"] = url or facts["url"]
    with node.store.write():
        _upsert(node, facts, "card")
        node.record(staff, "sync.peer_add", detail={"node_id": facts["node_id"], "role": facts["role"],
                                                    "key": facts["fingerprint"], "by": "ca" if vouched else "fingerprint"})
    return {"node_id": facts["node_id"], "role": facts["role"], "name": facts["name"],
            "relation": relation_for(node.config.role, facts["role"]), "fingerprint": facts["fingerprint"],
            "trusted_by": "ca" if vouched else "fingerprint", "url": facts["url"]}


def set_url(node: Any, peer_id: str, url: str | None, *, staff: str) -> None:
    row_for(node, peer_id)
    with node.store.write():
        node.store.conn.execute("UPDATE repl_peers SET url = ? WHERE node_id = ?", (url, peer_id))
        node.record(staff, "sync.peer_url", detail={"node_id": peer_id, "url": url})


def introduce(node: Any, by: str, facts: dict[str, Any]) -> bool:
    """Within a write transaction: register a peer an upstream vouched for (True if new or changed)."""
    if facts["node_id"] == node.config.node_id or facts.get("role") not in RANK:
        return False
    row = node.store.query_one("SELECT signing_public, exchange_public, source FROM repl_peers WHERE node_id = ?",
                               (facts["node_id"],))
    if row is not None and (row["source"] in ("enrolment", "ca", "card")
                            or (row["signing_public"], row["exchange_public"])
                            == (facts["signing_public"], facts["exchange_public"])):
        return False  # what we established ourselves outranks an introduction
    _upsert(node, facts, f"introduced:{by}")
    return True
