"""Blob chunk format v1: one piece of a scan, encrypted to the recipient and signed by the sender.

    chunk = header (137 bytes) || enc (32) || ciphertext (length + 16) || signature (64)

Header (big-endian): magic ``\\x89ENB``, version (1), the blob's SHA-256 (32 raw bytes), the blob's total
size (u64), the chunk size the blob is cut into (u32), this chunk's index (u32), this chunk's plaintext
length (u32), sender and recipient node ids (ASCII, NUL-padded to 32 bytes each), the sender's key
fingerprint (16 bytes). Chunk ``i`` holds bytes ``[i * chunk_size, min(total, (i + 1) * chunk_size))``.

The plaintext is encrypted with HPKE base mode, the same suite as packets (DHKEM(X25519, HKDF-SHA256) /
HKDF-SHA256 / ChaCha20-Poly1305), a fresh encapsulation per chunk, with the header bound into the key
schedule (``info``): a chunk moved to another blob, index, size or recipient does not decrypt. HPKE base mode
does not say who encrypted, so the sender signs ``SIGNING_CONTEXT || header || enc || ciphertext`` with its
Ed25519 node key. Scans are already compressed (PDF, JPEG, PNG): chunks are not.

``parse_chunk`` checks form only (no key needed); ``open_chunk`` checks the signature, then decrypts. Both
raise ``ChunkError`` (a ValueError, English) whose ``kind`` says which check failed; the node maps kinds to
its REPL_ codes. Pure but for ``seal_chunk``'s fresh HPKE key. Spec: docs/protocol.md, "Blob transfer".
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import x25519

from seals.keys import NodeKeys, key_fingerprint, verify_node_signature
from sync.header import NODE_ID_LEN, valid_node_id
from sync.packet import ENC_LEN, SIGNATURE_LEN, SUITE, TAG_LEN

MAGIC = b"\x89ENB"
FORMAT_VERSION = 1
CHUNK_BYTES = 64 * 1024                    # what this node cuts blobs into
MIN_CHUNK_BYTES, MAX_CHUNK_BYTES = 4 * 1024, 1024 * 1024
MAX_BLOB_BYTES = 64 * 1024 * 1024          # the format's bound; a node's own limit is lower (edgenode.blobs)
HPKE_INFO_LABEL = b"edgenode blob chunk v1 hpke\x00"
SIGNING_CONTEXT = b"edgenode blob chunk v1 signature\x00"
_FIELDS = struct.Struct(">4sB32sQIII32s32s16s")
HEADER_LEN = _FIELDS.size
OVERHEAD = HEADER_LEN + ENC_LEN + TAG_LEN + SIGNATURE_LEN
MAX_CHUNK_WIRE = MAX_CHUNK_BYTES + OVERHEAD
assert HEADER_LEN == 137


class ChunkError(ValueError):
    """A chunk refused: ``kind`` is "malformed", "signature" or "decrypt"."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class ChunkHeader:
    sha256: str            # hex
    total: int
    chunk_size: int
    index: int
    length: int
    sender: str
    recipient: str
    sender_fingerprint: str  # hex
    version: int = FORMAT_VERSION

    def encode(self) -> bytes:
        return _FIELDS.pack(MAGIC, self.version, bytes.fromhex(self.sha256), self.total, self.chunk_size, self.index,
                            self.length, self.sender.encode("ascii"), self.recipient.encode("ascii"),
                            bytes.fromhex(self.sender_fingerprint))

    @property
    def count(self) -> int:
        return chunk_count(self.total, self.chunk_size)

    @property
    def offset(self) -> int:
        return self.index * self.chunk_size

    @property
    def last(self) -> bool:
        return self.index == self.count - 1


def chunk_count(total: int, chunk_size: int) -> int:
    return max(1, -(-total // chunk_size))


def chunk_span(total: int, chunk_size: int, index: int) -> tuple[int, int]:
    """(offset, length) of chunk `index` of a blob of `total` bytes."""
    offset = index * chunk_size
    return offset, max(0, min(chunk_size, total - offset))


def _header_problem(h: ChunkHeader) -> str | None:
    if h.version != FORMAT_VERSION:
        return f"unsupported chunk format version {h.version}"
    if len(h.sha256) != 64 or any(c not in "0123456789abcdef" for c in h.sha256):
        return "blob hash is not 64 lowercase hex digits"
    if not 0 < h.total <= MAX_BLOB_BYTES:
        return f"blob size {h.total} outside 1..{MAX_BLOB_BYTES}"
    if not MIN_CHUNK_BYTES <= h.chunk_size <= MAX_CHUNK_BYTES:
        return f"chunk size {h.chunk_size} outside {MIN_CHUNK_BYTES}..{MAX_CHUNK_BYTES}"
    if h.index >= h.count:
        return f"chunk index {h.index} beyond the blob's {h.count} chunks"
    if h.length != chunk_span(h.total, h.chunk_size, h.index)[1]:
        return f"chunk {h.index} length {h.length} is not the blob's span for that index"
    if not (valid_node_id(h.sender) and valid_node_id(h.recipient)):
        return "sender or recipient is not a node id"
    if len(h.sender_fingerprint) != 32:
        return "sender fingerprint is not 16 bytes"
    return None


def _node_id(raw: bytes) -> str:
    text = raw.rstrip(b"\x00")
    if b"\x00" in text:
        raise ChunkError("malformed", "node id field has NUL bytes inside")
    try:
        return text.decode("ascii")
    except UnicodeDecodeError:
        raise ChunkError("malformed", "node id field is not ASCII") from None


def parse_chunk(data: bytes) -> ChunkHeader:
    """The header of a chunk, after every check of form (lengths, fields); authenticates nothing."""
    if len(data) < HEADER_LEN:
        raise ChunkError("malformed", f"{len(data)} bytes is shorter than a chunk header")
    magic, version, sha, total, size, index, length, sender, recipient, fp = _FIELDS.unpack_from(data)
    if magic != MAGIC:
        raise ChunkError("malformed", "not a blob chunk (wrong magic bytes)")
    header = ChunkHeader(sha.hex(), total, size, index, length, _node_id(sender), _node_id(recipient), fp.hex(),
                         version)
    problem = _header_problem(header)
    if problem:
        raise ChunkError("malformed", problem)
    expected = HEADER_LEN + ENC_LEN + length + TAG_LEN + SIGNATURE_LEN
    if len(data) != expected:
        raise ChunkError("malformed", f"chunk of {len(data)} bytes, its header says {expected}")
    return header


def seal_chunk(plain: bytes, *, blob_sha256: str, total: int, chunk_size: int, index: int, sender: NodeKeys,
               sender_id: str, recipient_id: str, recipient_exchange_public: bytes) -> bytes:
    """Encrypt one chunk of a blob to the recipient and sign it. ValueError if the fields do not fit."""
    header = ChunkHeader(blob_sha256, total, chunk_size, index, len(plain), sender_id, recipient_id,
                         sender.fingerprint)
    problem = _header_problem(header)
    if problem:
        raise ValueError(f"cannot seal chunk: {problem}")
    if len(sender_id) > NODE_ID_LEN or len(recipient_id) > NODE_ID_LEN:
        raise ValueError("cannot seal chunk: node id too long")
    header_bytes = header.encode()
    body = SUITE.encrypt(bytes(plain), x25519.X25519PublicKey.from_public_bytes(bytes(recipient_exchange_public)),
                         info=HPKE_INFO_LABEL + header_bytes)
    signed = header_bytes + body
    return signed + sender.sign(SIGNING_CONTEXT + signed)


def open_chunk(data: bytes, *, recipient: NodeKeys, recipient_id: str,
               sender_signing_public: bytes) -> tuple[ChunkHeader, bytes]:
    """Check form, recipient, sender key and signature, then decrypt: (header, plaintext)."""
    data = bytes(data)
    header = parse_chunk(data)
    if header.recipient != recipient_id:
        raise ChunkError("malformed", f"chunk addressed to {header.recipient}, not {recipient_id}")
    if key_fingerprint(sender_signing_public) != header.sender_fingerprint:
        raise ChunkError("signature", f"chunk signed with key {header.sender_fingerprint}, not the sender's")
    split = len(data) - SIGNATURE_LEN
    if not verify_node_signature(sender_signing_public, SIGNING_CONTEXT + data[:split], data[split:]):
        raise ChunkError("signature", "chunk signature does not verify (tampered, or not from its sender)")
    try:
        plain = SUITE.decrypt(data[HEADER_LEN:split], recipient.exchange_private_key,
                              info=HPKE_INFO_LABEL + data[:HEADER_LEN])
    except (InvalidTag, ValueError):
        raise ChunkError("decrypt", "chunk cannot be decrypted (tampered, or encrypted to another key)") from None
    if len(plain) != header.length:
        raise ChunkError("malformed", "decrypted length differs from the header's")
    return header, plain


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


__all__ = ["CHUNK_BYTES", "ChunkError", "ChunkHeader", "HEADER_LEN", "MAGIC", "MAX_CHUNK_WIRE", "OVERHEAD",
           "chunk_count", "chunk_span", "open_chunk", "parse_chunk", "seal_chunk"]
