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

What this does not cover, before Django sees the request: a reverse proxy that buffers large
bodies to disk (nginx above client_body_buffer_size) and daphne, whose HTTP layer (Twisted)
buffers a body over 100 KB in an unlinked temporary file. docs/security/at-rest.md says what
each deployment does about them.
"""

from __future__ import annotations

import io
import tempfile

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

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
        self._ciphertext = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed with the upload
            prefix=TEMP_PREFIX, suffix=".enc", dir=settings.FILE_UPLOAD_TEMP_DIR
        )
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
