"""The blob chunk format (sync.blob_chunk): any blob cut at any chunk size seals and opens back to its bytes;
any changed, cut or extended chunk is refused by the check that names the fault; a chunk opens only for
its recipient, with its sender's key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seals.keys import create_node_keys
from sync.blob_chunk import (
    HEADER_LEN, MAX_CHUNK_BYTES, MIN_CHUNK_BYTES, OVERHEAD, ChunkError, chunk_count, chunk_span, open_chunk,
    parse_chunk, seal_chunk,
)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    base = Path(tmp_path_factory.mktemp("keys"))
    return {name: create_node_keys(base / name) for name in ("station", "county", "other")}


def chunks_of(data: bytes, size: int, keys) -> list[bytes]:
    sha = hashlib.sha256(data).hexdigest()
    return [seal_chunk(data[o:o + n], blob_sha256=sha, total=len(data), chunk_size=size, index=i,
                       sender=keys["station"], sender_id="350123102206-s1", recipient_id="350123-hub",
                       recipient_exchange_public=keys["county"].exchange_public_raw())
            for i in range(chunk_count(len(data), size)) for o, n in [chunk_span(len(data), size, i)]]


def opened(chunk: bytes, keys, recipient: str = "county", sender: str = "station"):
    return open_chunk(chunk, recipient=keys[recipient], recipient_id="350123-hub",
                      sender_signing_public=keys[sender].signing_public_raw())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=20_000), size=st.integers(MIN_CHUNK_BYTES, 9_000))
def test_any_blob_at_any_chunk_size_seals_and_opens_back_to_its_bytes(keys, data, size):
    chunks = chunks_of(data, size, keys)
    assert len(chunks) == chunk_count(len(data), size) == -(-len(data) // size)
    back = b""
    for index, chunk in enumerate(chunks):
        header, plain = opened(chunk, keys)
        assert (header.index, header.total, header.chunk_size, header.sha256) == (
            index, len(data), size, hashlib.sha256(data).hexdigest())
        assert len(chunk) == OVERHEAD + len(plain) and parse_chunk(chunk) == header
        back += plain
    assert back == data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=6_000), where=st.integers(0, 10**9), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused(keys, data, where, bit):
    chunk = bytearray(chunks_of(data, MIN_CHUNK_BYTES, keys)[0])
    at = where % len(chunk)
    chunk[at] ^= 1 << bit
    with pytest.raises(ChunkError) as refused:
        opened(bytes(chunk), keys)
    assert refused.value.kind in ({"malformed", "signature"} if at < HEADER_LEN else {"signature"})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=1, max_size=6_000), cut=st.integers(0, 10**9), extra=st.binary(min_size=1, max_size=40))
def test_a_cut_or_extended_chunk_is_malformed(keys, data, cut, extra):
    chunk = chunks_of(data, MIN_CHUNK_BYTES, keys)[0]
    for bad in (chunk[:cut % len(chunk)], chunk + extra):
        with pytest.raises(ChunkError) as refused:
            parse_chunk(bad)
        assert refused.value.kind == "malformed"


@given(garbage=st.binary(max_size=400))
def test_garbage_is_never_a_chunk(garbage):
    with pytest.raises(ChunkError):
        parse_chunk(garbage)


def test_a_chunk_opens_only_for_its_recipient_with_its_senders_key(keys):
    chunk = chunks_of(b"%PDF-1.4\n" + bytes(5000), MIN_CHUNK_BYTES, keys)[1]
    with pytest.raises(ChunkError) as wrong_sender:
        opened(chunk, keys, sender="other")
    with pytest.raises(ChunkError) as wrong_key:
        opened(chunk, keys, recipient="other")
    with pytest.raises(ChunkError) as wrong_id:
        open_chunk(chunk, recipient=keys["county"], recipient_id="350123-other",
                   sender_signing_public=keys["station"].signing_public_raw())
    assert (wrong_sender.value.kind, wrong_key.value.kind, wrong_id.value.kind) == ("signature", "decrypt", "malformed")


def test_sealing_refuses_what_the_format_cannot_say(keys):
    with pytest.raises(ValueError):
        seal_chunk(b"x" * 10, blob_sha256="ab" * 32, total=10, chunk_size=MAX_CHUNK_BYTES + 1, index=0,
                   sender=keys["station"], sender_id="a", recipient_id="b",
                   recipient_exchange_public=keys["county"].exchange_public_raw())
    with pytest.raises(ValueError):  # chunk 1 of a one-chunk blob
        seal_chunk(b"x" * 10, blob_sha256="ab" * 32, total=10, chunk_size=MIN_CHUNK_BYTES, index=1,
                   sender=keys["station"], sender_id="a", recipient_id="b",
                   recipient_exchange_public=keys["county"].exchange_public_raw())
