"""The HTTP transport: the client of a parent node's sync API (`/sync/v1/…`), and the wire helpers both sides share.

httpx is imported here and nowhere else. Every httpx exception is mapped to a ``LinkError`` (a
``SyncError``) where it enters, so callers handle one exception type (a test raises each httpx exception
through the client and checks that none leaks).

Wire (docs/openapi.yaml is the description, tests keep it in step with the server's routes):
- ``POST hello``: canonical JSON ``{"node_id", "time", "seen": {sender: last_seq}, "next_seq_for_you"}``,
  signed by the caller's node key (``Edgenode-Signature``: base64 Ed25519 over ``HELLO_CONTEXT || body``).
  The reply is the hub's own hello, signed over ``HELLO_REPLY_CONTEXT || SHA-256(request body) || reply``,
  so a reply binds to the request it answers and nothing but the hub can produce one.
- ``POST packets``: a batch of packets framed with 4-byte big-endian lengths; the reply frames one answer
  per packet in the same order: a signed receipt, or (for bytes the hub cannot identify as a packet) the
  hub's error code in ASCII.
- ``POST pull``: signed JSON ``{"node_id", "after_seq"}`` → framed packets addressed to the caller.
- ``POST receipts``: the caller's receipts for packets it pulled, framed (``Edgenode-Node`` names the caller;
  each receipt is signed by it) → one framed answer per receipt: the status in ASCII or an error code.
- ``POST blobs/have``: signed JSON ``{"node_id", "blobs": [sha256, …]}`` → JSON ``{"node_id", "blobs": {sha256:
  {"state", "confirmed"[, "chunk_size"]}}}``; ``PUT blobs/<sha256>/<index>``: one sealed blob chunk
  (sync.blob_chunk, signed inside) → JSON ``{"sha256", "index", "confirmed", "complete"}``. Both replies are
  signed by the hub over ``BLOB_REPLY_CONTEXT || SHA-256(request body) || reply``: an answer that ends a
  blob's upload ("held", "complete") comes from the hub or from no one.

A delivery counts only through a receipt that verifies (``sync.receipt.verify_receipt``, called by the
caller): an HTTP 200 with a village Wi-Fi login page is a failed attempt (``HTTP_104``), never a delivery.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import httpx

from seals.keys import NodeKeys, verify_node_signature
from sync.body import canonical_bytes
from sync.errors import SyncError

API_PREFIX = "/sync/v1"
SIGNATURE_HEADER = "Edgenode-Signature"
NODE_HEADER = "Edgenode-Node"
HELLO_CONTEXT = b"edgenode hello v1 signature\x00"
HELLO_REPLY_CONTEXT = b"edgenode hello reply v1 signature\x00"
PULL_CONTEXT = b"edgenode pull v1 signature\x00"
BLOBS_HAVE_CONTEXT = b"edgenode blobs have v1 signature\x00"
BLOB_REPLY_CONTEXT = b"edgenode blob reply v1 signature\x00"
MAX_HAVE_HASHES = 200                 # hashes in one blobs/have question (its body stays under MAX_JSON_BYTES)
MAX_BLOB_REPLY_BYTES = 64 * 1024      # a blobs/have or chunk reply
JSON_TYPE = "application/json"
BINARY_TYPE = "application/octet-stream"
MAX_JSON_BYTES = 16 * 1024            # a hello or pull request, or a hello reply
MAX_BATCH_BYTES = 16 * 1024 * 1024    # one request of packets, or one pull reply
MAX_BATCH_ITEMS = 2000
MAX_FRAME_BYTES = 8 * 1024 * 1024     # sync.packet.DEFAULT_MAX_PACKET_BYTES
MAX_ANSWER_BYTES = 4 * 1024 + 74      # a receipt: prefix, payload of at most 4 KiB, signature
_LEN = struct.Struct(">I")

# Transport codes share the HTTP_ catalogue of docs/errors.md (HTTP_0xx the server, HTTP_1xx this client).
LINK_CODES: dict[str, str] = {
    "HTTP_101": "cannot connect to the upstream node (link down, refused, name or route unknown)",
    "HTTP_102": "the upstream node did not answer in time (connect, read, write or pool timeout)",
    "HTTP_103": "the connection broke during the exchange",
    "HTTP_104": "the reply is not the sync protocol (an HTML login page, a proxy, garbage, bad framing)",
    "HTTP_105": "the upstream node refused the request (its error code is in the context)",
    "HTTP_106": "the reply is larger than the protocol allows",
    "HTTP_107": "the hello reply is not signed by the upstream node's key",
    "HTTP_108": "the upstream URL is invalid or not http(s)",
    "HTTP_109": "any other HTTP client failure",
    "HTTP_110": "a blob reply (have or chunk) is not signed by the upstream node's key",
}


class LinkError(SyncError):
    """A failed attempt on the HTTP link. Nothing was delivered unless a verified receipt says so."""

    def __init__(self, code: str, message: str, *, context: dict[str, Any] | None = None,
                 hint: str | None = None) -> None:
        if code not in LINK_CODES:
            raise ValueError(f"unknown link error code {code!r}")
        Exception.__init__(self, f"{code}: {message}")
        self.code, self.message, self.context, self.hint = code, message, dict(context or {}), hint


def link_error(code: str, zh: str, en: str, *, hint: str | None = None, **context: Any) -> LinkError:
    return LinkError(code, f"{zh}（{en}）", context=context, hint=hint)


# -- wire helpers shared with the server (pure) ----------------------------------------------------------
def frame(items: list[bytes]) -> bytes:
    """Concatenate byte strings, each preceded by its length as a 4-byte big-endian integer."""
    return b"".join(_LEN.pack(len(item)) + bytes(item) for item in items)


def unframe(data: bytes, *, max_items: int = MAX_BATCH_ITEMS, max_item: int = MAX_FRAME_BYTES) -> list[bytes]:
    """Split framed bytes; ValueError (English) if the framing is wrong or exceeds a limit."""
    view, items, at = memoryview(bytes(data)), [], 0
    while at < len(view):
        if len(items) >= max_items:
            raise ValueError(f"more than {max_items} frames")
        if at + _LEN.size > len(view):
            raise ValueError("truncated frame length")
        (length,) = _LEN.unpack_from(view, at)
        at += _LEN.size
        if length > max_item:
            raise ValueError(f"frame of {length} bytes exceeds {max_item}")
        if at + length > len(view):
            raise ValueError("truncated frame")
        items.append(bytes(view[at:at + length]))
        at += length
    return items


def sign_body(keys: NodeKeys, context: bytes, body: bytes) -> str:
    return base64.b64encode(keys.sign(context + body)).decode("ascii")


def signature_valid(public_raw: bytes, context: bytes, body: bytes, header_value: str | None) -> bool:
    if not header_value or len(header_value) > 200:
        return False
    try:
        signature = base64.b64decode(header_value, validate=True)
    except ValueError:
        return False
    return verify_node_signature(public_raw, context + body, signature)


def reply_context(request_body: bytes) -> bytes:
    """What a hello reply's signature covers before the reply body: its label and the request's hash."""
    return HELLO_REPLY_CONTEXT + hashlib.sha256(request_body).digest()


def blob_reply_context(request_body: bytes) -> bytes:
    """What a blob reply's signature covers before the reply body: its label and the request's hash."""
    return BLOB_REPLY_CONTEXT + hashlib.sha256(request_body).digest()


def valid_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


# -- backoff ----------------------------------------------------------------------------------------------
@dataclass
class Backoff:
    """Exponential backoff with full jitter (delay uniform in [0, min(cap, base * 2**attempt)])."""

    base: float = 2.0
    cap: float = 240.0
    rand: Callable[[], float] = random.random
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return ceiling * self.rand()

    def reset(self) -> None:
        self.attempt = 0


# -- the client -------------------------------------------------------------------------------------------
_TIMEOUTS = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


@contextmanager
def mapped_errors(url: str, what: str) -> Iterator[None]:
    """Map every httpx exception raised inside to a LinkError naming the step."""
    ctx = {"url": url, "step": what}
    try:
        yield
    except httpx.TimeoutException as exc:
        raise link_error("HTTP_102", "上级节点未在规定时间内应答，稍后自动重试。", f"{what}: timed out ({type(exc).__name__})",
                         **ctx) from None
    except httpx.ConnectError as exc:
        raise link_error("HTTP_101", "无法连接上级节点（网络未通或对方未运行），稍后自动重试。",
                         f"{what}: cannot connect ({exc})", **ctx) from None
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
        raise link_error("HTTP_103", "与上级节点的连接中断，未确认的数据包稍后重新发送。",
                         f"{what}: connection broke ({type(exc).__name__})", **ctx) from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise link_error("HTTP_108", "上级节点地址无效，请检查配置中的 URL（应以 http:// 或 https:// 开头）。",
                         f"{what}: invalid upstream URL ({exc})", **ctx) from None
    except (httpx.HTTPError, httpx.StreamError, httpx.CookieConflict) as exc:
        raise link_error("HTTP_109", "与上级节点通信失败，稍后自动重试。", f"{what}: {type(exc).__name__}: {exc}",
                         **ctx) from None


MAX_CONNECTIONS = 4   # the sync calls use one; scan chunks up to four at once (blob_sync.LANES)


class HttpTransport:
    """Kept-open connections to one upstream node: one for the sync calls, up to `MAX_CONNECTIONS` while scan
    chunks are in flight (edgenode.replication.blob_sync.LANES). Each call is one request; each raises only
    LinkError. Thread-safe."""

    def __init__(self, base_url: str, *, node_id: str, keys: NodeKeys, upstream_id: str,
                 upstream_signing_public: bytes, timeout: httpx.Timeout | float | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.node_id, self.upstream_id = node_id, upstream_id
        self._keys, self._upstream_key = keys, bytes(upstream_signing_public)
        self.bytes_sent = self.bytes_received = self.requests = 0
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS)
        self._count_lock = threading.Lock()
        with mapped_errors(self.base_url, "open"):
            if transport is None:  # no Nagle: a request's last segment must not wait for a delayed ACK (40 ms)
                transport = httpx.HTTPTransport(limits=limits, trust_env=False, socket_options=_SOCKET_OPTIONS)
            self._client = httpx.Client(
                base_url=self.base_url + API_PREFIX, timeout=timeout if timeout is not None else _TIMEOUTS,
                limits=limits, trust_env=False,
                headers={"User-Agent": "edgenode/1", "Accept-Encoding": "identity"}, transport=transport,
            )

    def close(self) -> None:
        with mapped_errors(self.base_url, "close"):
            self._client.close()

    def __enter__(self) -> "HttpTransport":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the three calls ----------------------------------------------------------------------------------
    def hello(self, mine: dict[str, Any]) -> dict[str, Any]:
        """Send our hello; the hub's hello, once its signature and shape check out."""
        body = canonical_bytes(mine)
        reply, headers = self._post("hello", body, JSON_TYPE, JSON_TYPE, MAX_JSON_BYTES,
                                    {SIGNATURE_HEADER: sign_body(self._keys, HELLO_CONTEXT, body)})
        if not signature_valid(self._upstream_key, reply_context(body), reply, headers.get(SIGNATURE_HEADER)):
            raise link_error("HTTP_107", "上级节点的应答签名无效（可能不是真正的上级节点），本次同步不算成功。",
                             "hello reply is not signed by the upstream node's key", url=self.base_url,
                             upstream=self.upstream_id)
        return self._hello_shape(reply)

    def send_packets(self, packets: list[bytes]) -> list[bytes]:
        """One request for the batch; one answer per packet, in order (a receipt to verify, or an error code)."""
        answers = self._framed("packets", frame(packets), BINARY_TYPE, max_item=MAX_ANSWER_BYTES)
        if len(answers) != len(packets):
            raise self._not_protocol("packets", f"{len(answers)} answers for {len(packets)} packets")
        return answers

    def pull(self, after_seq: int) -> list[bytes]:
        """Packets the upstream holds for us after ``after_seq`` (opened and checked by the caller)."""
        body = canonical_bytes({"node_id": self.node_id, "after_seq": int(after_seq)})
        return self._framed("pull", body, JSON_TYPE, max_item=MAX_FRAME_BYTES,
                            headers={SIGNATURE_HEADER: sign_body(self._keys, PULL_CONTEXT, body)})

    def send_receipts(self, receipts: list[bytes]) -> list[bytes]:
        """Hand back our receipts for pulled packets; one answer per receipt (a status, or an error code)."""
        answers = self._framed("receipts", frame(receipts), BINARY_TYPE, max_item=64,
                               headers={NODE_HEADER: self.node_id})
        if len(answers) != len(receipts):
            raise self._not_protocol("receipts", f"{len(answers)} answers for {len(receipts)} receipts")
        return answers

    def blobs_have(self, hashes: list[str]) -> dict[str, dict[str, Any]]:
        """Which of these blobs the upstream holds, and how many chunks of each it has confirmed."""
        body = canonical_bytes({"node_id": self.node_id, "blobs": list(hashes)})
        reply = self._blob_call("POST", "blobs/have", body, JSON_TYPE,
                                {SIGNATURE_HEADER: sign_body(self._keys, BLOBS_HAVE_CONTEXT, body)})
        answers = reply.get("blobs")
        ok = reply.get("node_id") == self.upstream_id and isinstance(answers, dict) and all(
            isinstance(v, dict) and isinstance(v.get("state"), str) and type(v.get("confirmed")) is int
            for v in answers.values())
        if not ok:
            raise self._not_protocol("blobs/have", "reply does not have the blobs/have fields")
        return answers

    def put_blob_chunk(self, sha256: str, index: int, chunk: bytes) -> dict[str, Any]:
        """Send one sealed chunk; the upstream's signed answer: chunks confirmed, blob complete."""
        if not valid_sha256(sha256) or type(index) is not int or index < 0:
            raise ValueError("put_blob_chunk needs a lowercase hex SHA-256 and a chunk index")
        reply = self._blob_call("PUT", f"blobs/{sha256}/{index}", bytes(chunk), BINARY_TYPE, {})
        if reply.get("sha256") != sha256 or type(reply.get("confirmed")) is not int or \
                not isinstance(reply.get("complete"), bool):
            raise self._not_protocol("blobs/chunk", "reply does not have the chunk answer fields")
        return reply

    # -- plumbing -----------------------------------------------------------------------------------------
    def _blob_call(self, method: str, route: str, body: bytes, content_type: str,
                   headers: dict[str, str]) -> dict[str, Any]:
        step = route.split("/", 2)[0] + ("/have" if route.endswith("have") else "/chunk")
        reply, reply_headers = self._post(route, body, content_type, JSON_TYPE, MAX_BLOB_REPLY_BYTES, headers,
                                          method=method, step=step)
        if not signature_valid(self._upstream_key, blob_reply_context(body), reply,
                               reply_headers.get(SIGNATURE_HEADER)):
            raise link_error("HTTP_110", "上级节点对扫描件传输的应答签名无效（可能不是真正的上级节点），本次不算送达。",
                             f"{step}: reply is not signed by the upstream node's key", url=self.base_url,
                             upstream=self.upstream_id)
        try:
            value = json.loads(reply)
        except ValueError:
            raise self._not_protocol(step, "reply is not JSON") from None
        if not isinstance(value, dict):
            raise self._not_protocol(step, "reply is not a JSON object")
        return value

    def _framed(self, route: str, body: bytes, content_type: str, *, max_item: int,
                headers: dict[str, str] | None = None) -> list[bytes]:
        data, _ = self._post(route, body, content_type, BINARY_TYPE, MAX_BATCH_BYTES, headers or {})
        try:
            return unframe(data, max_item=max_item)
        except ValueError as exc:
            raise self._not_protocol(route, f"bad framing ({exc})") from None

    def _post(self, route: str, body: bytes, content_type: str, want_type: str, cap: int,
              headers: dict[str, str], *, method: str = "POST", step: str | None = None) -> tuple[bytes, httpx.Headers]:
        route_name = step or route
        with mapped_errors(self.base_url, route_name):
            with self._client.stream(method, route, content=body,
                                     headers={"Content-Type": content_type, **headers}) as response:
                with self._count_lock:
                    self.requests += 1
                    self.bytes_sent += len(body)
                data = self._read_capped(response, route_name, cap)
                status, got_type, reply_headers = response.status_code, response.headers.get("content-type", ""), response.headers
        with self._count_lock:
            self.bytes_received += len(data)
        if status != 200:
            raise self._refused(route_name, status, got_type, data)
        if got_type.split(";")[0].strip().lower() != want_type:
            raise self._not_protocol(route_name, f"content type {got_type[:60]!r}, expected {want_type}")
        return data, reply_headers

    def _read_capped(self, response: httpx.Response, route: str, cap: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise self._too_large(route, int(declared), cap)
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if len(data) > cap:
                raise self._too_large(route, len(data), cap)
        return bytes(data)

    def _hello_shape(self, reply: bytes) -> dict[str, Any]:
        try:
            value = json.loads(reply)
        except ValueError:
            raise self._not_protocol("hello", "reply is not JSON") from None
        ok = (isinstance(value, dict) and value.get("node_id") == self.upstream_id
              and isinstance(value.get("time"), str) and isinstance(value.get("seen"), dict)
              and type(value.get("next_seq_for_you")) is int
              and all(isinstance(k, str) and type(v) is int for k, v in value["seen"].items()))
        if not ok:
            raise self._not_protocol("hello", "reply does not have the hello fields of this upstream")
        return value

    def _not_protocol(self, route: str, en: str) -> LinkError:
        return link_error("HTTP_104", "上级地址的应答不是同步协议（可能是村里 Wi-Fi 的登录页面或代理服务器），本次不算送达，稍后重试。",
                          f"{route}: not the sync protocol: {en}", url=self.base_url, step=route,
                          hint="Log in to the village Wi-Fi, or check the upstream URL and any proxy.")

    def _too_large(self, route: str, size: int, cap: int) -> LinkError:
        return link_error("HTTP_106", "上级节点的应答超过协议允许的大小，已放弃本次应答。",
                          f"{route}: reply of {size} bytes exceeds {cap}", url=self.base_url, step=route)

    def _refused(self, route: str, status: int, content_type: str, data: bytes) -> LinkError:
        try:
            problem = json.loads(data) if content_type.startswith(JSON_TYPE) else None
        except ValueError:
            problem = None
        if not (isinstance(problem, dict) and problem.get("ok") is False and isinstance(problem.get("code"), str)):
            return self._not_protocol(route, f"HTTP {status} without the API's error shape")
        error = str(problem.get("error", ""))[:300]
        return link_error("HTTP_105", f"上级节点拒绝了请求：{error}", f"{route}: HTTP {status}, {problem['code']}",
                          url=self.base_url, step=route, status=status, upstream_code=problem["code"][:40])


__all__ = [
    "API_PREFIX", "BLOBS_HAVE_CONTEXT", "Backoff", "HttpTransport", "LINK_CODES", "LinkError", "MAX_BATCH_BYTES", "MAX_BATCH_ITEMS",
    "MAX_JSON_BYTES", "NODE_HEADER", "SIGNATURE_HEADER", "blob_reply_context", "frame", "mapped_errors", "reply_context", "sign_body",
    "signature_valid", "unframe",
]
