"""Envelope encryption: round trips, key rotation, and every way a stored ciphertext can be bent."""

import base64
import gc
import hashlib
import io
import itertools
import os
import random
import tracemalloc
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.lib import crypto
from portal.lib.crypto import (
    CHUNK_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    CryptoError,
    DecryptionError,
    Keyring,
    MasterKey,
    UnknownKeyError,
    WrappedKey,
    decrypt_bytes,
    decrypt_stream,
    encrypt_bytes,
    encrypt_stream,
    generate_master_key_entry,
    keyring_from_settings,
    parse_master_keys,
    rewrap,
    unwrap_key,
    verify_stream,
    wrap_key,
)

SMALL = 64  # a chunk size that makes multi-chunk streams cheap to build and to bend


def make_keyring(*kids: str) -> Keyring:
    return Keyring(parse_master_keys(",".join(generate_master_key_entry(kid) for kid in kids)))


@pytest.fixture
def keys() -> dict[str, MasterKey]:
    """Two master keys, so tests can build keyrings in either order or with one alone."""
    return {kid: parse_master_keys(generate_master_key_entry(kid))[0] for kid in ("a", "b")}


@pytest.fixture
def keyring() -> Keyring:
    return make_keyring("k1")


def encrypt(
    keyring: Keyring, plaintext: bytes, *, chunk_size: int = CHUNK_SIZE, aad: bytes = b""
) -> tuple[str, bytes]:
    dst = io.BytesIO()
    info = encrypt_stream(keyring, io.BytesIO(plaintext), dst, aad=aad, chunk_size=chunk_size)
    return info.wrapped_key, dst.getvalue()


def decrypt(keyring: Keyring, wrapped: str, ciphertext: bytes, *, aad: bytes = b"") -> bytes:
    return b"".join(decrypt_stream(keyring, wrapped, io.BytesIO(ciphertext), aad=aad))


def records(ciphertext: bytes, chunk_size: int) -> tuple[bytes, list[bytes]]:
    """Split a stream into its header and its chunk records (ciphertext || tag)."""
    step = chunk_size + TAG_SIZE
    body = ciphertext[HEADER_SIZE:]
    return ciphertext[:HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


class TrickleReader(io.RawIOBase):
    """A source that never returns more than a few bytes per read, like a slow socket."""

    def __init__(self, data: bytes, most: int = 7) -> None:
        self._data, self._pos, self._most = data, 0, most

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._most if size < 0 else min(size, self._most)
        piece = self._data[self._pos : self._pos + size]
        self._pos += len(piece)
        return piece


# --- master keys ---------------------------------------------------------------------------


def test_it_parses_master_keys_newest_first() -> None:
    raw = f" {generate_master_key_entry('new')} , {generate_master_key_entry('old')}\n"
    keys = parse_master_keys(raw)
    assert [k.kid for k in keys] == ["new", "old"]
    assert all(len(k.key) == 32 for k in keys)
    assert Keyring(keys).current.kid == "new"


def test_it_accepts_keys_with_or_without_base64_padding() -> None:
    key = os.urandom(32)
    padded = base64.urlsafe_b64encode(key).decode()
    assert padded.endswith("=")
    assert parse_master_keys(f"p:{padded}")[0].key == key
    assert parse_master_keys(f"u:{padded.rstrip('=')}")[0].key == key


def test_it_reads_the_format_the_settings_module_generates() -> None:
    entry = "k1:" + base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert parse_master_keys(entry)[0].kid == "k1"


def test_it_keeps_master_keys_out_of_reprs() -> None:
    master = parse_master_keys(generate_master_key_entry("k1"))[0]
    assert repr(master.key) not in repr(master)
    assert repr(master.key) not in repr(Keyring([master]))


GOOD = base64.urlsafe_b64encode(b"\x01" * 32).decode()


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("k1", "kid:base64urlkey"),
        (f"k1{GOOD}", "kid:base64urlkey"),
        ("k1:", "kid:base64urlkey"),
        (f":{GOOD}", "kid:base64urlkey"),
        (f"k1:{GOOD},", "kid:base64urlkey"),
        (f"k1:{GOOD},,k2:{GOOD}", "kid:base64urlkey"),
        (f"k.1:{GOOD}", "key id"),
        (f"k1:{GOOD},k1:{GOOD}", "more than once"),
        ("k1:" + base64.urlsafe_b64encode(b"\x01" * 31).decode(), "31 bytes"),
        ("k1:" + base64.urlsafe_b64encode(b"\x01" * 33).decode(), "33 bytes"),
        ("k1:" + base64.urlsafe_b64encode(b"\x01" * 16).decode(), "16 bytes"),
        ("k1:not*base64!", "base64url"),
        ("k1:" + base64.b64encode(b"\xfb" * 32).decode(), "base64url"),  # "+" and "/" alphabet
        ("k1:" + GOOD[:-3], "base64url"),  # 41 characters cannot be whole bytes
    ],
)
def test_it_rejects_bad_master_key_settings_naming_the_setting(value: str, why: str) -> None:
    with pytest.raises(ValueError, match="ACCUEIL_MASTER_KEYS") as excinfo:
        parse_master_keys(value)
    assert why in str(excinfo.value)
    assert GOOD not in str(excinfo.value)  # never echoes key material


def test_it_refuses_to_generate_an_entry_with_an_unusable_kid() -> None:
    with pytest.raises(ValueError, match="ACCUEIL_MASTER_KEYS"):
        generate_master_key_entry("a,b")


def test_it_generates_distinct_keys() -> None:
    assert generate_master_key_entry("k") != generate_master_key_entry("k")


def test_it_names_the_missing_kid_when_a_key_is_unknown(keyring: Keyring) -> None:
    with pytest.raises(UnknownKeyError, match=r"'gone'.*ACCUEIL_MASTER_KEYS"):
        keyring.get("gone")


def test_it_refuses_an_empty_keyring() -> None:
    with pytest.raises(ValueError, match="ACCUEIL_MASTER_KEYS"):
        Keyring([])


def test_it_builds_the_keyring_from_django_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Replaces the settings object itself, so this needs neither a settings module nor a database.
    django_conf = pytest.importorskip("django.conf")
    first, second = generate_master_key_entry("k1"), generate_master_key_entry("k2")
    monkeypatch.setattr(django_conf, "settings", SimpleNamespace(ACCUEIL_MASTER_KEYS=first))
    keyring = keyring_from_settings()
    assert keyring.kids == ("k1",)
    assert keyring_from_settings() is keyring  # parsed once per value
    monkeypatch.setattr(django_conf, "settings", SimpleNamespace(ACCUEIL_MASTER_KEYS=second))
    assert keyring_from_settings().kids == ("k2",)
    monkeypatch.setattr(django_conf, "settings", SimpleNamespace(ACCUEIL_MASTER_KEYS=""))
    with pytest.raises(ValueError, match="ACCUEIL_MASTER_KEYS"):
        keyring_from_settings()


# --- wrapping data keys ----------------------------------------------------------------------


def test_it_wraps_and_unwraps_a_data_key(keyring: Keyring) -> None:
    dek = os.urandom(32)
    text = wrap_key(keyring, dek).serialize()
    assert text.isascii()
    assert text.startswith("v1.k1.")
    assert len(text) == len("v1.k1.") + 80
    assert WrappedKey.parse(text).serialize() == text
    assert unwrap_key(keyring, text) == dek


def test_it_uses_a_fresh_nonce_for_every_wrap(keyring: Keyring) -> None:
    dek = os.urandom(32)
    assert wrap_key(keyring, dek).serialize() != wrap_key(keyring, dek).serialize()


def test_it_rejects_a_wrong_master_key_with_the_same_kid(keyring: Keyring) -> None:
    text = wrap_key(keyring, os.urandom(32)).serialize()
    impostor = make_keyring("k1")
    with pytest.raises(DecryptionError, match="wrong key") as excinfo:
        unwrap_key(impostor, text)
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__  # no InvalidTag in the traceback


def test_it_detects_a_wrapped_key_relabelled_to_another_kid(keys: dict[str, MasterKey]) -> None:
    # Same key material under two kids: only the AAD binding the kid can tell them apart.
    twin = MasterKey(kid="twin", key=keys["a"].key)
    text = wrap_key(Keyring([keys["a"], twin]), os.urandom(32)).serialize()
    relabelled = text.replace("v1.a.", "v1.twin.")
    with pytest.raises(DecryptionError):
        unwrap_key(Keyring([keys["a"], twin]), relabelled)


@pytest.mark.parametrize(
    "text",
    ["", "v1", "v1.k1", "v2.k1.AAAA", "v1.k1.!!!!", "v1.k1.AAAA", "v1.k.1.AAAA", "v1..AAAA"],
)
def test_it_rejects_a_malformed_wrapped_key(keyring: Keyring, text: str) -> None:
    with pytest.raises(DecryptionError, match="Malformed"):
        unwrap_key(keyring, text)


def test_it_detects_any_tampered_character_of_a_wrapped_key(keyring: Keyring) -> None:
    text = wrap_key(keyring, os.urandom(32)).serialize()
    for i, char in enumerate(text):
        bent = text[:i] + ("B" if char != "B" else "C") + text[i + 1 :]
        with pytest.raises(DecryptionError):
            unwrap_key(keyring, bent)


# --- small payloads ------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", "Bonjour, docteur ✓".encode(), os.urandom(5000)])
def test_it_round_trips_small_payloads(keyring: Keyring, plaintext: bytes) -> None:
    wrapped, blob = encrypt_bytes(keyring, plaintext, aad=b"message:42")
    assert len(blob) == len(plaintext) + 29
    assert decrypt_bytes(keyring, wrapped, blob, aad=b"message:42") == plaintext


def test_it_detects_a_message_moved_to_another_row(keyring: Keyring) -> None:
    wrapped, blob = encrypt_bytes(keyring, b"results attached", aad=b"message:42")
    with pytest.raises(DecryptionError, match="aad"):
        decrypt_bytes(keyring, wrapped, blob, aad=b"message:43")


def test_it_detects_blobs_swapped_between_rows(keyring: Keyring) -> None:
    wrapped_a, _blob_a = encrypt_bytes(keyring, b"a", aad=b"message:1")
    _wrapped_b, blob_b = encrypt_bytes(keyring, b"b", aad=b"message:2")
    with pytest.raises(DecryptionError):
        decrypt_bytes(keyring, wrapped_a, blob_b, aad=b"message:1")


def test_it_detects_any_tampered_byte_of_a_small_payload(keyring: Keyring) -> None:
    wrapped, blob = encrypt_bytes(keyring, b"hello world")
    for i in range(len(blob)):
        bent = blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]
        with pytest.raises(DecryptionError):
            decrypt_bytes(keyring, wrapped, bent)


@pytest.mark.parametrize("keep", [0, 1, 12, 28])
def test_it_detects_a_truncated_small_payload(keyring: Keyring, keep: int) -> None:
    wrapped, blob = encrypt_bytes(keyring, b"hello world")
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt_bytes(keyring, wrapped, blob[:keep])


# --- streams: round trips ------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 5 * 1024 * 1024 + 17],
)
def test_it_round_trips_streams(keyring: Keyring, size: int) -> None:
    plaintext = os.urandom(size)
    dst = io.BytesIO()
    info = encrypt_stream(keyring, io.BytesIO(plaintext), dst, aad=b"file:7")
    ciphertext = dst.getvalue()
    assert decrypt(keyring, info.wrapped_key, ciphertext, aad=b"file:7") == plaintext
    assert info.plaintext_size == size
    assert info.ciphertext_size == len(ciphertext)
    assert info.plaintext_sha256 == hashlib.sha256(plaintext).hexdigest()
    # A full chunk is never final, so the last chunk always holds less than CHUNK_SIZE.
    chunks = size // CHUNK_SIZE + 1
    assert len(ciphertext) == HEADER_SIZE + size + chunks * TAG_SIZE


def test_it_writes_one_empty_final_chunk_for_an_empty_plaintext(keyring: Keyring) -> None:
    wrapped, ciphertext = encrypt(keyring, b"")
    assert ciphertext[:8] == b"ACCUEIL1"
    assert len(ciphertext) == HEADER_SIZE + TAG_SIZE
    assert list(decrypt_stream(keyring, wrapped, io.BytesIO(ciphertext))) == []


def test_it_yields_the_plaintext_chunk_by_chunk(keyring: Keyring) -> None:
    plaintext = os.urandom(2 * SMALL + 5)
    wrapped, ciphertext = encrypt(keyring, plaintext, chunk_size=SMALL)
    pieces = list(decrypt_stream(keyring, wrapped, io.BytesIO(ciphertext)))
    assert [len(p) for p in pieces] == [SMALL, SMALL, 5]


def test_it_encrypts_from_a_source_that_returns_short_reads(keyring: Keyring) -> None:
    plaintext = os.urandom(1000)
    dst = io.BytesIO()
    info = encrypt_stream(keyring, TrickleReader(plaintext), dst, chunk_size=SMALL)
    assert info.plaintext_size == 1000
    assert decrypt(keyring, info.wrapped_key, dst.getvalue()) == plaintext


def test_it_decrypts_from_a_source_that_returns_short_reads(keyring: Keyring) -> None:
    plaintext = os.urandom(1000)
    wrapped, ciphertext = encrypt(keyring, plaintext, chunk_size=SMALL)
    out = b"".join(decrypt_stream(keyring, wrapped, TrickleReader(ciphertext, most=5)))
    assert out == plaintext


def test_it_encrypts_an_iterable_of_uneven_pieces(keyring: Keyring) -> None:
    plaintext = os.urandom(1000)
    cuts = [0, 1, 1, 70, 200, 201, 650, 1000]
    pieces = (plaintext[a:b] for a, b in itertools.pairwise(cuts))
    dst = io.BytesIO()
    info = encrypt_stream(keyring, pieces, dst, chunk_size=SMALL)
    assert decrypt(keyring, info.wrapped_key, dst.getvalue()) == plaintext
    assert len(dst.getvalue()) == HEADER_SIZE + 1000 + (1000 // SMALL + 1) * TAG_SIZE


def test_it_refuses_bare_bytes_as_a_stream_source(keyring: Keyring) -> None:
    dst = io.BytesIO()
    with pytest.raises(TypeError, match="BytesIO"):
        encrypt_stream(keyring, b"abc", dst)  # type: ignore[arg-type]
    assert dst.getvalue() == b""


class NonBlockingReader(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> None:
        return None


def test_it_refuses_a_non_blocking_source_rather_than_calling_it_truncated(
    keyring: Keyring,
) -> None:
    with pytest.raises(CryptoError, match="non-blocking"):
        encrypt_stream(keyring, NonBlockingReader(), io.BytesIO())
    wrapped, _ = encrypt(keyring, b"")
    with pytest.raises(CryptoError, match="non-blocking"):
        decrypt_stream(keyring, wrapped, NonBlockingReader())


@pytest.mark.parametrize("chunk_size", [0, -1, crypto.MAX_CHUNK_SIZE + 1])
def test_it_refuses_an_unusable_chunk_size(keyring: Keyring, chunk_size: int) -> None:
    with pytest.raises(CryptoError, match="chunk_size"):
        encrypt_stream(keyring, io.BytesIO(b"x"), io.BytesIO(), chunk_size=chunk_size)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=0, max_value=300_000),
    chunk_size=st.sampled_from([1, 16, 100, 1000, 4096, 65_536]),
    seed=st.integers(min_value=0, max_value=2**32),
    aad=st.binary(max_size=32),
)
def test_decrypting_an_encryption_gives_back_the_plaintext(
    size: int, chunk_size: int, seed: int, aad: bytes
) -> None:
    if chunk_size == 1:
        size = min(size, 5000)  # one AES call per byte: keep the example quick
    keyring = make_keyring("k1")
    plaintext = random.Random(seed).randbytes(size)
    wrapped, ciphertext = encrypt(keyring, plaintext, chunk_size=chunk_size, aad=aad)
    assert decrypt(keyring, wrapped, ciphertext, aad=aad) == plaintext
    assert len(ciphertext) == HEADER_SIZE + size + (size // chunk_size + 1) * TAG_SIZE


# --- streams: keys and rotation ------------------------------------------------------------


def test_it_rejects_a_stream_under_the_wrong_master_key(keyring: Keyring) -> None:
    wrapped, ciphertext = encrypt(keyring, b"scan")
    with pytest.raises(DecryptionError, match="wrong key"):
        decrypt(make_keyring("k1"), wrapped, ciphertext)
    with pytest.raises(UnknownKeyError, match="'k1'"):
        decrypt(make_keyring("k2"), wrapped, ciphertext)


def test_it_rotates_master_keys_without_touching_the_file(keys: dict[str, MasterKey]) -> None:
    a, b = keys["a"], keys["b"]
    plaintext = os.urandom(3 * SMALL + 9)
    wrapped, ciphertext = encrypt(Keyring([a]), plaintext, chunk_size=SMALL)
    assert WrappedKey.parse(wrapped).kid == "a"

    both = Keyring([b, a])
    assert decrypt(both, wrapped, ciphertext) == plaintext

    moved = rewrap(both, wrapped)
    assert WrappedKey.parse(moved).kid == "b"
    assert decrypt(Keyring([b]), moved, ciphertext) == plaintext
    with pytest.raises(UnknownKeyError, match="'b'"):
        decrypt(Keyring([a]), moved, ciphertext)

    assert rewrap(both, moved) == moved  # already current: nothing to write


def test_it_refuses_to_rewrap_a_key_it_cannot_unwrap(keys: dict[str, MasterKey]) -> None:
    wrapped, _ = encrypt(Keyring([keys["a"]]), b"x")
    with pytest.raises(UnknownKeyError):
        rewrap(Keyring([keys["b"]]), wrapped)


# --- streams: tampering ----------------------------------------------------------------------


@pytest.fixture
def stream(keyring: Keyring) -> tuple[str, bytes, bytes]:
    """Three full chunks and a short final one, at a small chunk size."""
    plaintext = os.urandom(3 * SMALL + 10)
    wrapped, ciphertext = encrypt(keyring, plaintext, chunk_size=SMALL, aad=b"file:1")
    return wrapped, ciphertext, plaintext


def test_it_detects_a_tampered_byte_anywhere_in_a_stream(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, _ = stream
    for i in range(len(ciphertext)):
        bent = ciphertext[:i] + bytes([ciphertext[i] ^ 0x01]) + ciphertext[i + 1 :]
        with pytest.raises(DecryptionError):
            decrypt(keyring, wrapped, bent, aad=b"file:1")


def test_it_detects_a_stream_truncated_at_a_chunk_boundary(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, _ = stream
    header, chunks = records(ciphertext, SMALL)
    assert len(chunks) == 4
    for keep in range(len(chunks)):
        truncated = header + b"".join(chunks[:keep])
        with pytest.raises(DecryptionError, match="truncated"):
            decrypt(keyring, wrapped, truncated, aad=b"file:1")


def test_it_detects_a_dropped_empty_final_chunk(keyring: Keyring) -> None:
    # An exact multiple of the chunk size ends in an empty final chunk; without it the stream
    # would otherwise look complete.
    wrapped, ciphertext = encrypt(keyring, os.urandom(2 * SMALL), chunk_size=SMALL)
    assert len(ciphertext) == HEADER_SIZE + 2 * (SMALL + TAG_SIZE) + TAG_SIZE
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt(keyring, wrapped, ciphertext[:-TAG_SIZE])


def test_it_detects_a_stream_truncated_mid_chunk(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, _ = stream
    for cut in range(1, len(ciphertext)):
        if (cut - HEADER_SIZE) % (SMALL + TAG_SIZE) == 0:
            continue  # boundaries are the test above
        with pytest.raises(DecryptionError):
            decrypt(keyring, wrapped, ciphertext[:cut], aad=b"file:1")


def test_it_detects_a_truncated_stream_only_after_yielding_verified_chunks(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, plaintext = stream
    header, chunks = records(ciphertext, SMALL)
    chunks_out = decrypt_stream(keyring, wrapped, io.BytesIO(header + chunks[0]), aad=b"file:1")
    assert next(chunks_out) == plaintext[:SMALL]
    with pytest.raises(DecryptionError, match="truncated"):
        next(chunks_out)


@pytest.mark.parametrize(("i", "j"), [(0, 1), (1, 2), (2, 3)])
def test_it_detects_reordered_chunks(
    keyring: Keyring, stream: tuple[str, bytes, bytes], i: int, j: int
) -> None:
    wrapped, ciphertext, _ = stream
    header, chunks = records(ciphertext, SMALL)
    chunks[i], chunks[j] = chunks[j], chunks[i]
    with pytest.raises(DecryptionError):
        decrypt(keyring, wrapped, header + b"".join(chunks), aad=b"file:1")


def test_it_detects_a_duplicated_chunk(keyring: Keyring, stream: tuple[str, bytes, bytes]) -> None:
    wrapped, ciphertext, _ = stream
    header, chunks = records(ciphertext, SMALL)
    for i in range(3):
        duplicated = [*chunks[: i + 1], chunks[i], *chunks[i + 1 :]]
        with pytest.raises(DecryptionError, match="chunk"):
            decrypt(keyring, wrapped, header + b"".join(duplicated), aad=b"file:1")


# Fixed bytes, not os.urandom: parallel workers must collect the same parameters.
@pytest.mark.parametrize(
    "extra",
    [b"\x00", b"garbage" * 3, bytes(range(256))[: SMALL + TAG_SIZE]],
    ids=["nul", "text", "chunk-sized"],
)
def test_it_detects_data_appended_after_the_final_chunk(
    keyring: Keyring, stream: tuple[str, bytes, bytes], extra: bytes
) -> None:
    wrapped, ciphertext, _ = stream
    with pytest.raises(DecryptionError):
        decrypt(keyring, wrapped, ciphertext + extra, aad=b"file:1")


def test_it_detects_a_final_chunk_replayed_after_itself(keyring: Keyring) -> None:
    wrapped, ciphertext = encrypt(keyring, b"")
    with pytest.raises(DecryptionError):
        decrypt(keyring, wrapped, ciphertext + ciphertext[HEADER_SIZE:])


def test_it_detects_chunks_spliced_from_another_stream(keyring: Keyring) -> None:
    wrapped, first = encrypt(keyring, os.urandom(2 * SMALL + 1), chunk_size=SMALL)
    _, second = encrypt(keyring, os.urandom(2 * SMALL + 1), chunk_size=SMALL)
    header, chunks = records(first, SMALL)
    _, other = records(second, SMALL)
    with pytest.raises(DecryptionError):
        decrypt(keyring, wrapped, header + other[0] + b"".join(chunks[1:]))
    with pytest.raises(DecryptionError):
        decrypt(keyring, wrapped, second[:HEADER_SIZE] + b"".join(chunks))


def test_it_detects_a_stream_decrypted_with_another_rows_aad(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, _ = stream
    for aad in (b"file:2", b"", b"file:1\x00"):
        with pytest.raises(DecryptionError, match="aad"):
            decrypt(keyring, wrapped, ciphertext, aad=aad)


@pytest.mark.parametrize("data", [b"", b"ACCUEIL1", b"NOTOURS!" + bytes(12) + bytes(16)])
def test_it_rejects_something_that_is_not_a_stream(keyring: Keyring, data: bytes) -> None:
    wrapped, _ = encrypt(keyring, b"")
    with pytest.raises(DecryptionError):
        decrypt(keyring, wrapped, data)


def test_it_reports_problems_in_the_key_and_header_before_iteration(keyring: Keyring) -> None:
    wrapped, ciphertext = encrypt(keyring, b"x")
    with pytest.raises(DecryptionError, match="Not an Accueil"):
        decrypt_stream(keyring, wrapped, io.BytesIO(b"X" + ciphertext[1:]))
    with pytest.raises(UnknownKeyError):
        decrypt_stream(make_keyring("other"), wrapped, io.BytesIO(ciphertext))


# --- verify_stream -------------------------------------------------------------------------


def test_it_verifies_a_stream_and_rewinds_it(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, plaintext = stream
    src = io.BytesIO(ciphertext)
    assert verify_stream(keyring, wrapped, src, aad=b"file:1") is None
    assert src.tell() == 0
    assert b"".join(decrypt_stream(keyring, wrapped, src, aad=b"file:1")) == plaintext


def test_it_refuses_to_verify_a_truncated_stream(
    keyring: Keyring, stream: tuple[str, bytes, bytes]
) -> None:
    wrapped, ciphertext, _ = stream
    with pytest.raises(DecryptionError, match="truncated"):
        verify_stream(keyring, wrapped, io.BytesIO(ciphertext[: -(10 + TAG_SIZE)]), aad=b"file:1")


# --- memory ----------------------------------------------------------------------------------

TWENTY_MB = 20 * 1024 * 1024


@pytest.fixture
def big_encrypted_file(tmp_path, keyring: Keyring) -> tuple[str, object, str]:
    """A 20 MB plaintext encrypted to disk, written and read a megabyte at a time."""
    plain_path, enc_path = tmp_path / "plain.bin", tmp_path / "scan.enc"
    digest = hashlib.sha256()
    with plain_path.open("wb") as out:
        for _ in range(TWENTY_MB // (1024 * 1024)):
            block = os.urandom(1024 * 1024)
            digest.update(block)
            out.write(block)
    with plain_path.open("rb") as src, enc_path.open("wb") as dst:
        info = encrypt_stream(keyring, src, dst)
    assert info.plaintext_sha256 == digest.hexdigest()
    return info.wrapped_key, enc_path, digest.hexdigest()


def peak_python_allocations(work) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_decrypting_a_large_stream_keeps_memory_flat(
    keyring: Keyring, big_encrypted_file: tuple[str, object, str]
) -> None:
    wrapped, enc_path, expected_sha256 = big_encrypted_file
    digest = hashlib.sha256()

    def work() -> None:
        with enc_path.open("rb") as src:
            for chunk in decrypt_stream(keyring, wrapped, src):
                digest.update(chunk)

    peak = peak_python_allocations(work)
    assert digest.hexdigest() == expected_sha256
    assert peak < 512 * 1024, f"peak {peak} bytes"


def test_verifying_and_encrypting_a_large_stream_keep_memory_flat(
    tmp_path, keyring: Keyring, big_encrypted_file: tuple[str, object, str]
) -> None:
    wrapped, enc_path, _ = big_encrypted_file

    def verify() -> None:
        with enc_path.open("rb") as src:
            verify_stream(keyring, wrapped, src)

    def reencrypt() -> None:
        with enc_path.open("rb") as src, (tmp_path / "again.enc").open("wb") as dst:
            encrypt_stream(keyring, src, dst)

    assert peak_python_allocations(verify) < 512 * 1024
    assert peak_python_allocations(reencrypt) < 512 * 1024
