"""The blob API (`/sync/v1/blobs/…`): scans uploaded by a child in encrypted chunks, resumable at any byte.

- `POST blobs/have`: the caller's signed `{"node_id", "blobs": [sha256, …]}` → for each hash its state here
  (`held`, `partial` with the chunks confirmed, `absent`, `unreferenced`).
- `PUT blobs/<sha256>/<index>`: one sealed chunk (sync.blob_chunk: encrypted to this node, signed by its
  sender inside, so the request needs no header signature) → `{"sha256", "index", "confirmed", "complete"}`.

Both replies are signed with this node's key over `BLOB_REPLY_CONTEXT || SHA-256(request) || reply`. The
checks and the storing are edgenode.replication.blob_intake; its REPL_ refusals keep their codes, with the
statuses of `blob_intake.STATUS`. Request signatures reuse sync_api's helpers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from edgenode.replication import ReplicationError
from edgenode.web.errors import ApiError, malformed
from edgenode.web.sync_api import _body, _caller, _json_object, _state
from sync.body import canonical_bytes
from sync.transport_http import (
    BINARY_TYPE, BLOBS_HAVE_CONTEXT, JSON_TYPE, MAX_HAVE_HASHES, MAX_JSON_BYTES, SIGNATURE_HEADER, blob_reply_context,
    sign_body, valid_sha256,
)

blueprint = Blueprint("blob_api", __name__)


def _signed(node: Any, request_body: bytes, value: dict[str, Any]) -> Response:
    reply = canonical_bytes(value)
    response = Response(reply, mimetype=JSON_TYPE)
    response.headers[SIGNATURE_HEADER] = sign_body(node.keys, blob_reply_context(request_body), reply)
    return response


def _as_api_error(exc: ReplicationError) -> ApiError:
    from edgenode.replication.blob_intake import STATUS

    error = ApiError(STATUS.get(exc.code, 400), exc.code, "", "", hint=exc.hint, **exc.context)
    error.message = exc.message
    return error


@blueprint.post("/blobs/have")
def have() -> Response:
    from edgenode.replication import blob_intake

    body = _body(JSON_TYPE, MAX_JSON_BYTES)
    value = _json_object(body)
    st = _state()
    node = st.pool.node()
    _caller(node, st.engine, value, BLOBS_HAVE_CONTEXT, body)
    hashes = value.get("blobs")
    if not isinstance(hashes, list) or len(hashes) > MAX_HAVE_HASHES or not all(valid_sha256(h) for h in hashes):
        raise malformed(f"blobs is not a list of at most {MAX_HAVE_HASHES} lowercase hex SHA-256 hashes")
    return _signed(node, body, {"node_id": node.config.node_id, "blobs": blob_intake.have(node, hashes)})


@blueprint.put("/blobs/<sha256>/<int:index>")
def put_chunk(sha256: str, index: int) -> Response:
    from edgenode.replication import blob_intake
    from sync.blob_chunk import MAX_CHUNK_WIRE

    if not valid_sha256(sha256):
        raise malformed("the URL's blob hash is not 64 lowercase hex digits")
    body = _body(BINARY_TYPE, MAX_CHUNK_WIRE)
    node = _state().pool.node()
    try:
        answer = blob_intake.take_chunk(node, body, sha256=sha256, index=index)
    except ReplicationError as exc:
        raise _as_api_error(exc) from None
    return _signed(node, body, answer)
