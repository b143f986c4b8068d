"""The sync API (`/sync/v1/…`), served by any node with children: three routes, each one round trip.

- `POST hello`: the caller's signed hello (node id, time, high-water marks) → the hub's signed hello (its
  time for skew, how far it has seen the caller, its next sequence number for the caller).
- `POST packets`: a framed batch of packets → one framed answer per packet, in order: the signed receipt
  (accepted, duplicate or refused), or the error code in ASCII for bytes that are not an identifiable packet.
- `POST pull`: the caller's signed `{"node_id", "after_seq"}` → framed packets addressed to it.
- `POST receipts`: the caller's receipts for packets it pulled (framed; `Edgenode-Node` names the caller) →
  one framed answer per receipt: the packet's status in ASCII, or the error code if the receipt does not
  verify for a packet this node sent to the caller.

Packets authenticate themselves (the engine checks their signatures against the sender's certificate);
hello and pull carry a detached Ed25519 signature of the body (`Edgenode-Signature`), checked against the
caller's registered key: an unknown caller gets 403 `HTTP_006`, a bad signature 403 `HTTP_007`.
Wire details and limits: sync/transport_http.py and docs/openapi.yaml.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response, current_app, request

from edgenode.web.errors import ApiError, malformed
from sync.body import canonical_bytes
from sync.errors import SyncError
from sync.header import MAX_SEQ, valid_node_id
from sync.transport_http import (
    BINARY_TYPE, HELLO_CONTEXT, JSON_TYPE, MAX_BATCH_BYTES, MAX_BATCH_ITEMS, MAX_JSON_BYTES, NODE_HEADER,
    PULL_CONTEXT, SIGNATURE_HEADER, frame, reply_context, sign_body, signature_valid, unframe,
)

PREFIX = "/sync/v1"
MAX_REQUEST_BYTES = MAX_BATCH_BYTES
MAX_SEEN_ENTRIES = 1000
log = logging.getLogger("edgenode.sync.api")
blueprint = Blueprint("sync_api", __name__)


def _state() -> Any:
    return current_app.extensions["edgenode"]


def _body(content_type: str, limit: int) -> bytes:
    got = (request.mimetype or "").lower()
    if got != content_type:
        raise ApiError(415, "HTTP_004", f"请求的内容类型应为 {content_type}", f"content type {got or 'none'!r}, "
                       f"expected {content_type}")
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "HTTP_003", "请求内容超过允许的大小", f"body of {request.content_length} bytes exceeds "
                       f"{limit}", limit=limit)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "HTTP_003", "请求内容超过允许的大小", f"body exceeds {limit} bytes", limit=limit)
    return data


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise malformed("body is not JSON") from None
    if not isinstance(value, dict):
        raise malformed("body is not a JSON object")
    return value


def _seq(value: Any, name: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_SEQ:
        raise malformed(f"{name} is not an integer in 0..2^53-1")
    return value


def _registered(node: Any, engine: Any, caller: Any) -> Any:
    """The caller's Peer (403 HTTP_006 if this node has not registered it)."""
    if not valid_node_id(caller):
        raise malformed("node_id is missing or not a node id")
    peer = next((p for p in engine.peers(node) if p.node_id == caller), None)
    if peer is None:
        log.warning("request from unknown node %s refused", caller)
        raise ApiError(403, "HTTP_006", f"节点 {caller} 不是本节点登记的下级或上级节点，已拒绝", f"unknown node {caller}",
                       hint="该节点须先在县级登记（enrol）并取得节点证书", node_id=caller)
    return peer


def _caller(node: Any, engine: Any, value: dict[str, Any], context: bytes, body: bytes) -> str:
    """The caller's node id, once its signature over the body verifies against its registered key."""
    caller = value.get("node_id")
    peer = _registered(node, engine, caller)
    if not signature_valid(peer.signing_public_raw, context, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("request from %s with a bad signature refused", caller)
        raise ApiError(403, "HTTP_007", f"来自节点 {caller} 的请求签名无效，已拒绝", f"bad request signature from {caller}",
                       node_id=caller)
    return caller


def _check_hello(value: dict[str, Any]) -> None:
    if not isinstance(value.get("time"), str) or not 0 < len(value["time"]) <= 64:
        raise malformed("time is missing or not a string")
    seen = value.get("seen")
    if not isinstance(seen, dict) or len(seen) > MAX_SEEN_ENTRIES:
        raise malformed("seen is not an object of node id to sequence number")
    for sender, last in seen.items():
        if not valid_node_id(sender):
            raise malformed("seen has a key that is not a node id")
        _seq(last, "a seen sequence number")
    _seq(value.get("next_seq_for_you"), "next_seq_for_you")


@blueprint.post("/hello")
def hello() -> Response:
    body = _body(JSON_TYPE, MAX_JSON_BYTES)
    value = _json_object(body)
    st = _state()
    node = st.pool.node()
    caller = _caller(node, st.engine, value, HELLO_CONTEXT, body)
    _check_hello(value)
    st.engine.note_contact(node, caller, value["time"])
    reply = canonical_bytes(st.engine.hello(node, caller))
    response = Response(reply, mimetype=JSON_TYPE)
    response.headers[SIGNATURE_HEADER] = sign_body(node.keys, reply_context(body), reply)
    return response


@blueprint.post("/packets")
def packets() -> Response:
    body = _body(BINARY_TYPE, MAX_REQUEST_BYTES)
    try:
        batch = unframe(body)
    except ValueError as exc:
        raise malformed(f"packet batch framing: {exc}") from None
    from sync.receipt import MAGIC as RECEIPT_MAGIC

    st = _state()
    node = st.pool.node()
    answers = st.engine.accept_batch(node, batch)  # one durable transaction; receipts once it is committed
    for answer in answers:
        if not answer.startswith(RECEIPT_MAGIC):  # the SyncError code of bytes that are not a packet
            log.warning("unidentifiable packet refused without receipt: %s", answer.decode("ascii", "replace"))
    return Response(frame(answers), mimetype=BINARY_TYPE)


@blueprint.post("/pull")
def pull() -> Response:
    body = _body(JSON_TYPE, MAX_JSON_BYTES)
    value = _json_object(body)
    st = _state()
    node = st.pool.node()
    caller = _caller(node, st.engine, value, PULL_CONTEXT, body)
    after = _seq(value.get("after_seq"), "after_seq")
    out, size = [], 0
    for data in st.engine.pull(node, caller, after_seq=after):
        size += 4 + len(data)
        if out and (size > MAX_BATCH_BYTES or len(out) >= MAX_BATCH_ITEMS):
            break
        out.append(data)
    return Response(frame(out), mimetype=BINARY_TYPE)


@blueprint.post("/receipts")
def receipts() -> Response:
    body = _body(BINARY_TYPE, MAX_REQUEST_BYTES)
    try:
        batch = unframe(body)
    except ValueError as exc:
        raise malformed(f"receipt batch framing: {exc}") from None
    st = _state()
    node = st.pool.node()
    peer = _registered(node, st.engine, request.headers.get(NODE_HEADER))
    answers = []
    for receipt in batch:
        try:
            answers.append(st.engine.acknowledge(node, peer, receipt).encode("ascii"))
        except SyncError as exc:
            log.warning("receipt from %s not taken: %s", peer.node_id, exc.code)
            answers.append(exc.code.encode("ascii"))
    return Response(frame(answers), mimetype=BINARY_TYPE)
