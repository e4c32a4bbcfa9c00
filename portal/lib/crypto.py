"""Envelope encryption for health data at rest: AES-256-GCM data keys wrapped by master keys.

Every file or message gets its own random 32-byte data key (DEK). Only the DEK *wrapped* by a
master key is stored, next to the ciphertext (in a database column). Rotating master keys then
means re-wrapping a few dozen bytes per row (`rewrap`), never re-encrypting file contents.

Master keys come from the ``ACCUEIL_MASTER_KEYS`` setting, ``kid:base64urlkey`` entries separated
by commas, newest first. The first one wraps new DEKs; the others only unwrap old ones until a
rotation has moved every row to the newest.

Formats (all integers big-endian; "||" is concatenation)
---------------------------------------------------------
Wrapped key, an ASCII string for a CharField (80 + len(kid) characters):
    "v1." kid "." base64url-unpadded( nonce[12] || AES-GCM(master key, DEK)[32] || tag[16] )
    AAD = b"accueil/wrapped-dek\\x00v1\\x00" || kid            (binds the version and the kid)

Small payload blob (`encrypt_bytes`), 29 bytes of overhead:
    version[1] = 0x01 || nonce[12] || ciphertext[n] || tag[16]
    AAD = b"accueil/bytes\\x00" || version || caller aad

Stream (`encrypt_stream`), 20-byte header then chunks, 16 bytes of overhead per chunk:
    header   = magic b"ACCUEIL1"[8] || chunk_size u32[4] || nonce_prefix[8]
    chunk i  = ciphertext[n_i] || tag[16]
               n_i == chunk_size for every chunk but the last; the last (final) chunk holds
               0 <= n < chunk_size bytes, so an empty plaintext, or one that is an exact
               multiple of chunk_size, ends with an empty final chunk of just a tag.
    nonce_i  = nonce_prefix || i u32                       (12 bytes, unique per chunk)
    AAD_i    = header || i u32 || final u8 (0 or 1) || caller aad
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SETTING_NAME = "ACCUEIL_MASTER_KEYS"

KEY_SIZE = 32  # AES-256, for master keys and data keys alike.
NONCE_SIZE = 12  # The size AES-GCM is specified and fast for.
TAG_SIZE = 16  # Full-length GCM tag; truncated tags weaken forgery resistance.

CHUNK_SIZE = 64 * 1024
# Bounds what a (possibly forged) header can make `decrypt_stream` read into memory at once.
MAX_CHUNK_SIZE = 1024 * 1024

STREAM_MAGIC = b"ACCUEIL1"
_NONCE_PREFIX_SIZE = 8
_HEADER = struct.Struct(">8sI8s")
HEADER_SIZE = _HEADER.size  # 20
_MAX_CHUNK_INDEX = 0xFFFFFFFF  # the u32 counter in the nonce; 2**32 chunks of 64 KiB = 256 TiB

_WRAP_VERSION = "v1"
_WRAP_AAD_PREFIX = b"accueil/wrapped-dek\x00v1\x00"
_WRAPPED_RAW_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE  # 60 bytes, 80 base64url characters

_BYTES_VERSION = b"\x01"
_BYTES_AAD_PREFIX = b"accueil/bytes\x00"
_BYTES_OVERHEAD = len(_BYTES_VERSION) + NONCE_SIZE + TAG_SIZE

# A kid ends up between dots in wrapped-key strings and between ":" and "," in the setting, so
# it is kept to characters that are none of those.
_KID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*={0,2}")


class CryptoError(Exception):
    """Base class for every error this module raises on purpose."""


class DecryptionError(CryptoError):
    """Data could not be authenticated: wrong key, tampered, truncated, or malformed.

    Never carries a `cryptography` ``InvalidTag`` as its cause: the message says what failed.
    """


class UnknownKeyError(DecryptionError):
    """The data was wrapped by a master key that is not in the keyring.

    A `DecryptionError` because the data cannot be read, but one that usually means a
    configuration problem (a retired key removed before `rotate_keys` ran) rather than tampering.
    """


# ---------------------------------------------------------------------------------------------
# Master keys and the keyring


@dataclass(frozen=True)
class MasterKey:
    """One entry of ``ACCUEIL_MASTER_KEYS``. The key is kept out of ``repr`` so it stays out of
    logs and tracebacks."""

    kid: str
    key: bytes = field(repr=False)


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    """Strict base64url: padding optional, any other character (including "+" and "/") refused.

    ``base64.urlsafe_b64decode`` silently drops unknown characters, which would let a mangled
    key decode to *something*.
    """
    if not _B64URL_RE.fullmatch(text):
        raise ValueError("not base64url")
    stripped = text.rstrip("=")
    if len(stripped) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


def _check_kid(kid: str) -> None:
    if not _KID_RE.fullmatch(kid):
        raise ValueError(
            f"{SETTING_NAME}: key id {kid!r} must be 1 to 64 letters, digits, '-' or '_'."
        )


def parse_master_keys(value: str) -> list[MasterKey]:
    """Parse ``"kid:base64urlkey,kid:base64urlkey"`` (newest first) into master keys.

    Every error names ``ACCUEIL_MASTER_KEYS`` and the entry's position or kid, never the key
    material, so the message is safe to log and says what to fix.
    """
    if not value or not value.strip():
        raise ValueError(
            f"{SETTING_NAME} is empty: set it to one or more comma-separated kid:base64urlkey "
            "entries, newest first."
        )
    keys: list[MasterKey] = []
    seen: set[str] = set()
    for position, raw_entry in enumerate(value.split(","), start=1):
        entry = raw_entry.strip()
        kid, sep, encoded = entry.partition(":")
        kid, encoded = kid.strip(), encoded.strip()
        if not entry or not sep or not kid or not encoded:
            raise ValueError(
                f"{SETTING_NAME}: entry {position} must look like kid:base64urlkey "
                "(entries are separated by commas, with no empty entries)."
            )
        _check_kid(kid)
        if kid in seen:
            raise ValueError(f"{SETTING_NAME}: key id {kid!r} appears more than once.")
        try:
            key = _b64url_decode(encoded)
        except ValueError:
            raise ValueError(
                f"{SETTING_NAME}: the key of {kid!r} is not valid base64url."
            ) from None
        if len(key) != KEY_SIZE:
            raise ValueError(
                f"{SETTING_NAME}: the key of {kid!r} decodes to {len(key)} bytes; "
                f"it must be {KEY_SIZE} (AES-256)."
            )
        seen.add(kid)
        keys.append(MasterKey(kid=kid, key=key))
    return keys


def generate_master_key_entry(kid: str) -> str:
    """A fresh ``kid:base64urlkey`` entry, to put first in ``ACCUEIL_MASTER_KEYS``."""
    _check_kid(kid)
    return f"{kid}:{base64.urlsafe_b64encode(os.urandom(KEY_SIZE)).decode('ascii')}"


class Keyring:
    """Master keys by kid; `current` (the first, newest) wraps every new data key."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise ValueError(f"{SETTING_NAME} must hold at least one master key.")
        by_kid: dict[str, MasterKey] = {}
        for master in keys:
            _check_kid(master.kid)
            if len(master.key) != KEY_SIZE:
                raise ValueError(f"{SETTING_NAME}: the key of {master.kid!r} must be 32 bytes.")
            if master.kid in by_kid:
                raise ValueError(f"{SETTING_NAME}: key id {master.kid!r} appears more than once.")
            by_kid[master.kid] = master
        self._keys = tuple(keys)
        self._by_kid = by_kid

    def __repr__(self) -> str:
        return f"Keyring(kids={list(self.kids)!r})"

    @property
    def current(self) -> MasterKey:
        return self._keys[0]

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(master.kid for master in self._keys)

    def get(self, kid: str) -> MasterKey:
        try:
            return self._by_kid[kid]
        except KeyError:
            raise UnknownKeyError(
                f"Master key {kid!r} is not in {SETTING_NAME} (have: {', '.join(self.kids)}). "
                "Was it removed before `rotate_keys` re-wrapped everything under the newest key?"
            ) from None


@functools.lru_cache(maxsize=4)
def _keyring_for(raw: str) -> Keyring:
    return Keyring(parse_master_keys(raw))


def keyring_from_settings() -> Keyring:
    """The keyring for ``settings.ACCUEIL_MASTER_KEYS``.

    Cached on the raw string rather than once per process, so tests that override the setting
    get a matching keyring and parsing still happens once per distinct value.
    """
    from django.conf import settings

    return _keyring_for(getattr(settings, SETTING_NAME, ""))


# ---------------------------------------------------------------------------------------------
# Wrapping data keys


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the master key `kid`; `sealed` is AES-GCM ciphertext || tag."""

    kid: str
    nonce: bytes = field(repr=False)
    sealed: bytes = field(repr=False)

    def serialize(self) -> str:
        """``v1.<kid>.<base64url(nonce || sealed)>``: ASCII, dot-separated, no padding."""
        return f"{_WRAP_VERSION}.{self.kid}.{_b64url_encode(self.nonce + self.sealed)}"

    def __str__(self) -> str:
        return self.serialize()

    @classmethod
    def parse(cls, text: str) -> WrappedKey:
        """Read `serialize`'s output; a malformed string is a `DecryptionError`."""
        parts = text.split(".") if isinstance(text, str) else []
        if len(parts) != 3 or parts[0] != _WRAP_VERSION or not _KID_RE.fullmatch(parts[1]):
            raise DecryptionError("Malformed wrapped key: expected 'v1.<kid>.<base64url>'.")
        try:
            raw = _b64url_decode(parts[2])
        except ValueError:
            raise DecryptionError("Malformed wrapped key: the payload is not base64url.") from None
        if len(raw) != _WRAPPED_RAW_SIZE or "=" in parts[2]:
            raise DecryptionError("Malformed wrapped key: the payload has the wrong length.")
        return cls(kid=parts[1], nonce=raw[:NONCE_SIZE], sealed=raw[NONCE_SIZE:])


def _wrap_aad(kid: str) -> bytes:
    # Binding the kid stops a wrapped key from being relabelled to another master key entry;
    # binding the version stops a future format from being confused with this one.
    return _WRAP_AAD_PREFIX + kid.encode("ascii")


def _as_wrapped(wrapped: WrappedKey | str) -> WrappedKey:
    return wrapped if isinstance(wrapped, WrappedKey) else WrappedKey.parse(wrapped)


def wrap_key(keyring: Keyring, dek: bytes) -> WrappedKey:
    """Encrypt `dek` under the current master key with a random nonce.

    Random 96-bit nonces stay safe for about 2**32 wraps per master key, far more than a
    clinic stores between rotations.
    """
    if len(dek) != KEY_SIZE:
        raise CryptoError(f"A data key must be {KEY_SIZE} bytes, got {len(dek)}.")
    master = keyring.current
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(master.key).encrypt(nonce, bytes(dek), _wrap_aad(master.kid))
    return WrappedKey(kid=master.kid, nonce=nonce, sealed=sealed)


def unwrap_key(keyring: Keyring, wrapped: WrappedKey | str) -> bytes:
    """The data key, or `DecryptionError` (`UnknownKeyError` if the kid is not configured)."""
    wrapped = _as_wrapped(wrapped)
    master = keyring.get(wrapped.kid)
    try:
        dek = AESGCM(master.key).decrypt(wrapped.nonce, wrapped.sealed, _wrap_aad(wrapped.kid))
    except InvalidTag:
        raise DecryptionError(
            f"Could not unwrap the data key with master key {wrapped.kid!r}: wrong key for "
            "that kid, or the wrapped key was tampered with."
        ) from None
    if len(dek) != KEY_SIZE:  # only possible if someone wrapped a wrong-sized key by hand
        raise DecryptionError("The unwrapped data key has the wrong size.")
    return dek


def rewrap(keyring: Keyring, wrapped: str) -> str:
    """Re-wrap a data key under the current master key; the encrypted data is untouched.

    Returns the input unchanged when it is already under the current key (after checking that
    it still unwraps), so a rotation command can skip writing rows that need nothing.
    """
    parsed = WrappedKey.parse(wrapped)
    dek = unwrap_key(keyring, parsed)
    if parsed.kid == keyring.current.kid:
        return wrapped
    return wrap_key(keyring, dek).serialize()


# ---------------------------------------------------------------------------------------------
# Small payloads


def encrypt_bytes(keyring: Keyring, plaintext: bytes, *, aad: bytes = b"") -> tuple[str, bytes]:
    """Encrypt a small payload held in memory; returns (wrapped key string, blob).

    `aad` is authenticated but not stored: pass something naming the row (b"message:42") and
    the same value to `decrypt_bytes`, so a blob and key copied onto another row fail to decrypt.
    """
    dek = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(dek).encrypt(nonce, bytes(plaintext), _BYTES_AAD_PREFIX + _BYTES_VERSION + aad)
    return wrap_key(keyring, dek).serialize(), _BYTES_VERSION + nonce + sealed


def decrypt_bytes(
    keyring: Keyring, wrapped: WrappedKey | str, blob: bytes, *, aad: bytes = b""
) -> bytes:
    """The plaintext of `encrypt_bytes`, or `DecryptionError`."""
    dek = unwrap_key(keyring, wrapped)
    blob = bytes(blob)
    if len(blob) < _BYTES_OVERHEAD:
        raise DecryptionError("Encrypted payload is truncated: shorter than its nonce and tag.")
    if blob[:1] != _BYTES_VERSION:
        raise DecryptionError("Encrypted payload has an unknown format version (tampered?).")
    nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    try:
        return AESGCM(dek).decrypt(nonce, sealed, _BYTES_AAD_PREFIX + _BYTES_VERSION + aad)
    except InvalidTag:
        raise DecryptionError(
            "Encrypted payload failed authentication: tampered, truncated, or decrypted with "
            "a different aad than it was encrypted with."
        ) from None


# ---------------------------------------------------------------------------------------------
# Streams


@dataclass(frozen=True)
class EncryptedInfo:
    """What `encrypt_stream` wrote: store `wrapped_key` with the file, the rest as metadata."""

    wrapped_key: str
    plaintext_size: int
    ciphertext_size: int
    plaintext_sha256: str


def _chunk_nonce(prefix: bytes, index: int) -> bytes:
    # A fresh DEK per stream already makes every (key, nonce) pair unique; the counter keeps
    # nonces distinct within the stream and the random prefix is a second line of defence should
    # a DEK ever be reused by mistake.
    return prefix + struct.pack(">I", index)


def _chunk_aad(header: bytes, index: int, final: bool, aad: bytes) -> bytes:
    # The header (so chunk size and nonce prefix cannot be altered), the index (so chunks cannot
    # be reordered or duplicated) and the final flag (so dropping trailing chunks leaves a stream
    # with no valid end). The caller's aad goes last: everything before it has a fixed length.
    return header + struct.pack(">IB", index, 1 if final else 0) + aad


def _check_chunk_size(chunk_size: int) -> None:
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise CryptoError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}, got {chunk_size}.")


def _source_pieces(src: BinaryIO | Iterable[bytes], read_size: int) -> Iterator[bytes]:
    """Non-empty byte pieces of any size from a binary file (short reads allowed) or iterable."""
    read = getattr(src, "read", None)
    pieces: Iterable[object] = iter(lambda: read(read_size), b"") if read else src
    for piece in pieces:
        if piece is None:
            raise CryptoError("The source returned None: non-blocking streams are not supported.")
        if not isinstance(piece, bytes | bytearray | memoryview):
            raise TypeError(f"encrypt_stream needs bytes from its source, got {type(piece)}.")
        if piece:
            yield bytes(piece)


def _write_all(dst: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = dst.write(view)
        if written is None or written >= len(view):  # buffered writers write everything
            return
        view = view[written:]


def encrypt_stream(
    keyring: Keyring,
    src: BinaryIO | Iterable[bytes],
    dst: BinaryIO,
    *,
    aad: bytes = b"",
    chunk_size: int = CHUNK_SIZE,
) -> EncryptedInfo:
    """Encrypt `src` into `dst` chunk by chunk, holding about one chunk in memory.

    `src` is a binary file (read `chunk_size` at a time; short reads are fine, only b"" ends it)
    or an iterable of bytes pieces of any size (such as an upload's ``.chunks()``). Every full
    chunk is written as soon as it is complete; the remainder, possibly empty, becomes the final
    chunk. `aad` is authenticated but not stored: pass the same value to decrypt.
    """
    _check_chunk_size(chunk_size)
    if isinstance(src, bytes | bytearray | memoryview | str):
        raise TypeError(
            "encrypt_stream needs a binary file or an iterable of bytes; wrap bytes in io.BytesIO."
        )
    dek = AESGCM.generate_key(bit_length=256)
    wrapped_key = wrap_key(keyring, dek).serialize()
    aead = AESGCM(dek)
    prefix = os.urandom(_NONCE_PREFIX_SIZE)
    header = _HEADER.pack(STREAM_MAGIC, chunk_size, prefix)
    _write_all(dst, header)
    written = len(header)
    digest = hashlib.sha256()
    plaintext_size = 0
    index = 0

    def seal(chunk: bytes, final: bool) -> int:
        if index > _MAX_CHUNK_INDEX:
            raise CryptoError("Stream too long: the chunk counter would wrap around.")
        sealed = aead.encrypt(
            _chunk_nonce(prefix, index), chunk, _chunk_aad(header, index, final, aad)
        )
        _write_all(dst, sealed)
        return len(sealed)

    buffer = bytearray()
    for piece in _source_pieces(src, chunk_size):
        digest.update(piece)
        plaintext_size += len(piece)
        if not buffer and len(piece) == chunk_size:
            written += seal(piece, final=False)
            index += 1
            continue
        buffer += piece
        while len(buffer) >= chunk_size:
            written += seal(bytes(buffer[:chunk_size]), final=False)
            del buffer[:chunk_size]
            index += 1
    written += seal(bytes(buffer), final=True)

    return EncryptedInfo(
        wrapped_key=wrapped_key,
        plaintext_size=plaintext_size,
        ciphertext_size=written,
        plaintext_sha256=digest.hexdigest(),
    )


def _read_exactly(src: BinaryIO, size: int) -> bytes:
    """`size` bytes, or fewer only at end of file; tolerates sources that return short reads."""
    parts: list[bytes] = []
    missing = size
    while missing:
        piece = src.read(missing)
        if piece is None:
            raise CryptoError("The source returned None: non-blocking streams are not supported.")
        if not piece:
            break
        parts.append(piece)
        missing -= len(piece)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decrypt_stream(
    keyring: Keyring, wrapped: WrappedKey | str, src: BinaryIO, *, aad: bytes = b""
) -> Iterator[bytes]:
    """Plaintext chunks of an `encrypt_stream` output, each authenticated before it is yielded.

    The wrapped key and the header are checked when this is called; the chunks as they are
    iterated. Any failure is a `DecryptionError`.

    Because chunks are yielded as they are verified, a stream truncated or tampered with
    further on fails only *after* its earlier chunks were handed out. A caller that must never
    emit part of a file (an HTTP response, whose status is already sent) should run
    `verify_stream` first; decrypting afterwards still re-verifies every chunk.
    """
    aead = AESGCM(unwrap_key(keyring, wrapped))
    header = _read_exactly(src, HEADER_SIZE)
    if len(header) < HEADER_SIZE:
        raise DecryptionError("Encrypted stream is truncated: its header is incomplete.")
    magic, chunk_size, prefix = _HEADER.unpack(header)
    if not hmac.compare_digest(magic, STREAM_MAGIC):
        raise DecryptionError("Not an Accueil encrypted stream, or its header was tampered with.")
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("Encrypted stream header was tampered with: bad chunk size.")
    return _decrypt_chunks(aead, header, chunk_size, prefix, src, aad)


def _decrypt_chunks(
    aead: AESGCM, header: bytes, chunk_size: int, prefix: bytes, src: BinaryIO, aad: bytes
) -> Iterator[bytes]:
    record_size = chunk_size + TAG_SIZE
    index = 0
    while True:
        record = _read_exactly(src, record_size)
        if len(record) < TAG_SIZE:
            raise DecryptionError(
                f"Encrypted stream is truncated: it ends after chunk {index - 1} without a final "
                "chunk."
                if index
                else "Encrypted stream is truncated: it has no chunks."
            )
        # Only the last chunk may be shorter than a full one. A short read means end of file,
        # so nothing can follow a chunk taken as final.
        final = len(record) < record_size
        if index > _MAX_CHUNK_INDEX:
            raise DecryptionError("Encrypted stream has more chunks than its format allows.")
        try:
            plaintext = aead.decrypt(
                _chunk_nonce(prefix, index), record, _chunk_aad(header, index, final, aad)
            )
        except InvalidTag:
            raise DecryptionError(
                f"Encrypted stream failed authentication at chunk {index}: it was tampered with, "
                "truncated, reordered or extended, or the aad differs from the one used to "
                "encrypt it."
            ) from None
        if plaintext:
            yield plaintext
        if final:
            return
        index += 1


def verify_stream(
    keyring: Keyring, wrapped: WrappedKey | str, src: BinaryIO, *, aad: bytes = b""
) -> None:
    """Authenticate a whole stream without keeping its plaintext, then seek back.

    Memory stays at about one chunk. Raises `DecryptionError` on any problem; on success `src`
    is back where it was when called (offset 0 for a freshly opened file), ready to decrypt.
    `src` must be seekable.
    """
    start = src.tell()
    for _chunk in decrypt_stream(keyring, wrapped, src, aad=aad):
        pass
    src.seek(start)


class StreamEncryptor:
    """`encrypt_stream` for data pushed piece by piece, in the same format.

    For a producer that calls us rather than one we can iterate, such as an upload handler that
    receives the request body chunk by chunk: ``write`` each piece, then ``finish`` once, which
    writes the final chunk and returns what `encrypt_stream` would have. Memory stays at about
    one chunk. The output decrypts with `decrypt_stream` and the same keyring and aad.
    """

    def __init__(
        self, keyring: Keyring, dst: BinaryIO, *, aad: bytes = b"", chunk_size: int = CHUNK_SIZE
    ) -> None:
        _check_chunk_size(chunk_size)
        dek = AESGCM.generate_key(bit_length=256)
        self.wrapped_key = wrap_key(keyring, dek).serialize()
        self._aead = AESGCM(dek)
        self._prefix = os.urandom(_NONCE_PREFIX_SIZE)
        self._header = _HEADER.pack(STREAM_MAGIC, chunk_size, self._prefix)
        self._dst = dst
        self._aad = aad
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._plaintext_size = 0
        self._index = 0
        self._info: EncryptedInfo | None = None
        _write_all(dst, self._header)
        self._written = len(self._header)

    def _seal(self, chunk: bytes, final: bool) -> None:
        if self._index > _MAX_CHUNK_INDEX:
            raise CryptoError("Stream too long: the chunk counter would wrap around.")
        sealed = self._aead.encrypt(
            _chunk_nonce(self._prefix, self._index),
            chunk,
            _chunk_aad(self._header, self._index, final, self._aad),
        )
        _write_all(self._dst, sealed)
        self._written += len(sealed)
        self._index += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt `data`; every chunk it completes is written at once. Returns len(data)."""
        if self._info is not None:
            raise CryptoError("This stream is finished: nothing more can be written to it.")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"StreamEncryptor needs bytes, got {type(data)}.")
        size = len(data)
        if not size:
            return 0
        self._digest.update(data)
        self._plaintext_size += size
        self._buffer += data
        while len(self._buffer) >= self._chunk_size:
            self._seal(bytes(self._buffer[: self._chunk_size]), final=False)
            del self._buffer[: self._chunk_size]
        return size

    def finish(self) -> EncryptedInfo:
        """Write the final chunk (possibly empty) and say what was written. Idempotent."""
        if self._info is None:
            self._seal(bytes(self._buffer), final=True)
            self._buffer = bytearray()
            self._info = EncryptedInfo(
                wrapped_key=self.wrapped_key,
                plaintext_size=self._plaintext_size,
                ciphertext_size=self._written,
                plaintext_sha256=self._digest.hexdigest(),
            )
        return self._info


def ephemeral_keyring() -> Keyring:
    """A keyring with one random master key that exists only in this process's memory.

    For data that must be encrypted on disk for a moment (an upload being received) and never
    read by another process: once the keyring is dropped, what it encrypted is unreadable.
    """
    return Keyring([MasterKey(kid="ephemeral", key=os.urandom(KEY_SIZE))])
