"""Uploads that never reach the disk in clear.

Django keeps a small upload in memory and writes a larger one (over FILE_UPLOAD_MAX_MEMORY_SIZE,
2.5 MB) to a temporary file *before* the view runs: a 10 MB report would sit in clear in /tmp
until the request ends, and in the disk's free blocks after. `EncryptedTemporaryFileUploadHandler`
replaces Django's temporary-file handler: every chunk is encrypted as it arrives (the stream
format of `portal.lib.crypto`) under a key that exists only in this process's memory, and the
view reads the plaintext back through `EncryptedUploadedFile`, one verified chunk at a time. The
view then encrypts it again under the record's own key into storage (records' reports and
photos, messaging's attachments), so the clear bytes only ever pass through memory.

The file has no ``temporary_file_path()`` on purpose: code that would move "the upload" into
place by its path (FileSystemStorage does) must read it instead, and so gets the plaintext only
to encrypt it.

Before Django's upload handlers, a request body may be buffered whole by the server, and that
buffer goes to disk too: daphne's HTTP layer (Twisted) writes a body over 100 KB to a temporary
file, and Django's ASGI handler then spools it again past 2.5 MB. `EncryptedSpool` replaces
both (`encrypt_daphne_request_bodies`, `EncryptedBodyASGIHandler`, wired in portal/asgi.py).
gunicorn (WSGI) reads the body from the socket as the parser asks, with no buffer; nginx in
front keeps bodies in memory up to the upload limit (deploy/nginx-accueil.conf.inc).
docs/security.md ("Data at rest") says what is covered and what is not.
"""

from __future__ import annotations

import io
import tempfile

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.core.handlers.asgi import ASGIHandler

from portal.lib.crypto import (
    CHUNK_SIZE,
    Keyring,
    StreamEncryptor,
    decrypt_stream,
    ephemeral_keyring,
)

TEMP_PREFIX = "accueil-upload-"
_AAD = b"accueil/upload"


class _DecryptingReader(io.RawIOBase):
    """The plaintext of an encrypted temporary file, as a readable, seekable raw stream.

    Reading goes forward through `decrypt_stream` (each chunk authenticated before it is handed
    out); seeking backwards starts again from the top, which is what readers of an upload do
    (sniff the first bytes, seek(0), read it all).
    """

    def __init__(self, keyring: Keyring, wrapped_key: str, src, size: int) -> None:
        super().__init__()
        self._keyring = keyring
        self._wrapped_key = wrapped_key
        self._src = src
        self._size = size
        self._position = 0
        self._chunks = None
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _restart(self) -> None:
        self._src.seek(0)
        self._chunks = decrypt_stream(self._keyring, self._wrapped_key, self._src, aad=_AAD)
        self._position = 0
        self._pending = memoryview(b"")

    def readinto(self, buffer) -> int:
        if self._chunks is None:
            self._restart()
        while not self._pending:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._pending = memoryview(piece)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._position += count
        return count

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        target = max(0, min(base + offset, self._size))
        if self._chunks is None or target < self._position:
            self._restart()
        skip = bytearray(CHUNK_SIZE)
        while self._position < target:
            if not self.readinto(memoryview(skip)[: target - self._position]):
                break
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._src.close()  # a NamedTemporaryFile: closing deletes it
        super().close()


class EncryptedUploadedFile(UploadedFile):
    """An upload whose bytes are on disk only as ciphertext under a key held in memory.

    Filled by `EncryptedTemporaryFileUploadHandler`; once complete it reads like any upload
    (``read``, ``seek``, ``chunks``), yielding the plaintext.
    """

    def __init__(self, name, content_type, charset, content_type_extra=None) -> None:
        self._keyring = ephemeral_keyring()
        self._ciphertext = _temporary_ciphertext_file()  # closed (and deleted) with the upload
        self._encryptor = StreamEncryptor(self._keyring, self._ciphertext, aad=_AAD)
        super().__init__(None, name, content_type, 0, charset, content_type_extra)

    @property
    def ciphertext_path(self) -> str:
        """Where the ciphertext is while the request lasts (for tests and diagnostics)."""
        return self._ciphertext.name

    def receive(self, data: bytes) -> None:
        self._encryptor.write(data)

    def complete(self) -> None:
        info = self._encryptor.finish()
        self._ciphertext.flush()
        self.size = info.plaintext_size
        raw = _DecryptingReader(
            self._keyring, info.wrapped_key, self._ciphertext, info.plaintext_size
        )
        self.file = io.BufferedReader(raw, buffer_size=CHUNK_SIZE)

    def open(self, mode=None):
        self.seek(0)
        return self

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        self._ciphertext.close()


class EncryptedTemporaryFileUploadHandler(FileUploadHandler):
    """Django's TemporaryFileUploadHandler, but what reaches the temporary file is ciphertext.

    Listed after MemoryFileUploadHandler in FILE_UPLOAD_HANDLERS, it receives the uploads too
    large to be kept in memory.
    """

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.file = EncryptedUploadedFile(
            self.file_name, self.content_type, self.charset, self.content_type_extra
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.file.receive(raw_data)

    def file_complete(self, file_size: int) -> EncryptedUploadedFile:
        self.file.complete()
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()


def _temporary_ciphertext_file():
    return tempfile.NamedTemporaryFile(
        prefix=TEMP_PREFIX, suffix=".enc", dir=settings.FILE_UPLOAD_TEMP_DIR
    )


class EncryptedSpool:
    """A request body, written once then read: in memory up to `max_memory` bytes, beyond that
    on disk only as ciphertext under a key held in memory.

    The file-like surface that Twisted's request, daphne and Django's ASGI request use: write,
    tell (the size while writing), seek (the first one ends the writing), read, readline, close
    and `closed`.
    """

    def __init__(self, max_memory: int) -> None:
        self._max_memory = max_memory
        self._memory: io.BytesIO | None = io.BytesIO()
        self._disk = None
        self._keyring: Keyring | None = None
        self._encryptor: StreamEncryptor | None = None
        self._reader = None
        self._size = 0
        self.closed = False

    @property
    def on_disk(self) -> bool:
        return self._disk is not None

    @property
    def ciphertext_path(self) -> str | None:
        return self._disk.name if self._disk is not None else None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._reader is None

    def write(self, data: bytes) -> int:
        if self._reader is not None:
            raise io.UnsupportedOperation("This body is being read: it cannot be written to.")
        if self._disk is None and self._size + len(data) > self._max_memory:
            self._keyring = ephemeral_keyring()
            self._disk = _temporary_ciphertext_file()
            self._encryptor = StreamEncryptor(self._keyring, self._disk, aad=_AAD)
            self._encryptor.write(self._memory.getvalue())
            self._memory = None
        if self._disk is None:
            self._memory.write(data)
        else:
            self._encryptor.write(data)
        self._size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def _reading(self):
        if self._reader is None:
            if self._disk is None:
                self._reader = self._memory
            else:
                info = self._encryptor.finish()
                self._disk.flush()
                raw = _DecryptingReader(self._keyring, info.wrapped_key, self._disk, self._size)
                self._reader = io.BufferedReader(raw, buffer_size=CHUNK_SIZE)
            self._reader.seek(0)
        return self._reader

    def tell(self) -> int:
        return self._size if self._reader is None else self._reader.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._reading().seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        return self._reading().read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._reading().readline(size)

    def __iter__(self):
        return iter(self.readline, b"")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for part in (self._reader, self._memory, self._disk):
            if part is not None:
                part.close()  # the temporary file deletes itself


class EncryptedBodyASGIHandler(ASGIHandler):
    """Django's ASGI handler, spooling the request body into an `EncryptedSpool` instead of a
    SpooledTemporaryFile, which wrote any body over FILE_UPLOAD_MAX_MEMORY_SIZE to disk in clear.
    """

    async def read_body(self, receive) -> EncryptedSpool:
        body_file = EncryptedSpool(max_memory=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        write_in_thread = sync_to_async(body_file.write, thread_sensitive=False)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                body_file.close()
                raise RequestAborted()
            if "body" in message:
                if body_file.on_disk:  # encryption and disk writes off the event loop
                    await write_in_thread(message["body"])
                else:
                    body_file.write(message["body"])
            if not message.get("more_body", False):
                break
        body_file.seek(0)
        return body_file


# Twisted keeps a body up to this size in memory (twisted.web.http._getContentFile).
_TWISTED_MEMORY_LIMIT = 100_000


def encrypt_daphne_request_bodies() -> None:
    """Make daphne buffer request bodies in an `EncryptedSpool` instead of Twisted's temporary
    file, which holds any body over 100 KB in clear until daphne has passed it on.

    Replaces `gotLength` on daphne's request class, which in Twisted does only
    ``self.content = _getContentFile(length)``; tests/portal/test_uploads.py drives a real
    daphne to prove the body never reaches its temporary directory in clear.
    """
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # not served by daphne
        return

    def gotLength(self, length: int | None) -> None:  # Twisted's name
        self.content = EncryptedSpool(max_memory=_TWISTED_MEMORY_LIMIT)

    WebRequest.gotLength = gotLength
