"""Attachments: what is accepted (by content, not by name) and how it is stored encrypted."""

import hashlib
import io
import os
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from portal.lib.crypto import decrypt_stream, encrypt_stream, keyring_from_settings, verify_stream

# Magic bytes -> (content type, extension). A file is what its first bytes say, whatever its
# name or the browser's claim: a script renamed photo.jpg is refused.
_SIGNATURES: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "png"),
    (b"WEBP", 8, "image/webp", "webp"),
    (b"%PDF-", 0, "application/pdf", "pdf"),
)


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, offset, content_type, extension in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if content_type == "image/webp" and head[:4] != b"RIFF":
                continue
            return content_type, extension
    return None


def check_upload(upload: UploadedFile) -> tuple[str, str]:
    """(content type, extension) of an acceptable file, else ValidationError saying why."""
    if upload.size > settings.ACCUEIL_MESSAGING_MAX_ATTACHMENT:
        limit = settings.ACCUEIL_MESSAGING_MAX_ATTACHMENT // (1024 * 1024) or 1
        raise ValidationError(
            _("This file is too large: the limit is %(limit)s MB.") % {"limit": limit}
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    found = sniff(head)
    if found is None:
        raise ValidationError(_("Only photos (JPEG, PNG, WebP) and PDF documents can be sent."))
    return found


def encrypt_upload(upload: UploadedFile, *, aad: bytes) -> tuple[ContentFile, str, str]:
    """(encrypted content ready for storage, wrapped key, sha256 of the plaintext)."""
    upload.seek(0)
    out = io.BytesIO()
    info = encrypt_stream(keyring_from_settings(), upload.chunks(), out, aad=aad)
    return ContentFile(out.getvalue()), info.wrapped_key, info.plaintext_sha256


def stored_name(extension: str) -> str:
    # Random names: the client's file name is kept in the row, never in the file system.
    return f"{hashlib.sha256(os.urandom(16)).hexdigest()[:32]}.{extension}.enc"


def decrypted_chunks(file, wrapped_key: str, *, aad: bytes) -> Iterator[bytes]:
    """Verify the whole file first (no half-sent response on tampering), then stream it."""
    keyring = keyring_from_settings()
    verify_stream(keyring, wrapped_key, file, aad=aad)
    yield from decrypt_stream(keyring, wrapped_key, file, aad=aad)
