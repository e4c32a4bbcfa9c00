"""Serving a file stored encrypted (portal/lib/crypto.py): verified whole, then streamed.

Reports, patients' photos and data exports are served the same way: the whole file is
authenticated before the first byte goes out (a failure half-way would hand over a broken
file after a 200), then decrypted chunk by chunk as the response is sent, so memory stays flat.
"""

from collections.abc import AsyncIterator, Callable, Iterator
from typing import BinaryIO

from asgiref.sync import sync_to_async
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest

from portal.lib.crypto import DecryptionError, decrypt_stream, keyring_from_settings, verify_stream


class Unreadable(Exception):
    """The file is missing, or does not decrypt under its key (a wrong key, tampering)."""


def open_verified(name: str, wrapped_key: str, aad: bytes) -> tuple[BinaryIO, Iterator[bytes]]:
    """The open file and its plaintext chunks, once the whole file has been authenticated."""
    keyring = keyring_from_settings()
    try:
        handle = default_storage.open(name, "rb")
    except OSError as error:
        raise Unreadable("file missing") from error
    try:
        verify_stream(keyring, wrapped_key, handle, aad=aad)
        chunks = decrypt_stream(keyring, wrapped_key, handle, aad=aad)
    except DecryptionError as error:
        handle.close()
        raise Unreadable(str(error)) from error
    return handle, chunks


def stream(
    request: HttpRequest,
    chunks: Iterator[bytes],
    handle: BinaryIO,
    *,
    then: Callable[[], None] | None = None,
) -> Iterator[bytes] | AsyncIterator[bytes]:
    """The chunks as the server streams them natively; the file is closed at the end (or when
    the download breaks off), then `then` runs (e.g. deleting a once-only download).

    Given a plain iterator, Django's ASGI handler reads it whole into a list before sending: a
    20 MB report would sit decrypted in memory. So an ASGI request gets an async iterator.
    """
    if isinstance(request, ASGIRequest):
        return _chunks_async(chunks, handle, then)
    return _chunks(chunks, handle, then)


def _chunks(chunks: Iterator[bytes], handle: BinaryIO, then) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        handle.close()
        if then is not None:
            then()


async def _chunks_async(chunks: Iterator[bytes], handle: BinaryIO, then) -> AsyncIterator[bytes]:
    """With a local disk, reading and decrypting one 64 KiB chunk takes tens of microseconds, so
    it runs on the event loop (other requests get their turn at every send); a hop to a worker
    thread per chunk made downloads 3x slower. A remote storage's reads are network calls, so
    they go to a worker thread."""
    try:
        if isinstance(default_storage, FileSystemStorage):
            for chunk in chunks:
                yield chunk
        else:
            next_chunk = sync_to_async(next, thread_sensitive=False)
            while (chunk := await next_chunk(chunks, None)) is not None:
                yield chunk
    finally:
        handle.close()
        if then is not None:
            await sync_to_async(then)()
