"""Large uploads reach the disk only as ciphertext, and read back as the plaintext they were."""

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from messaging.models import Attachment
from portal.lib import uploads
from portal.lib.crypto import (
    CHUNK_SIZE,
    StreamEncryptor,
    decrypt_stream,
    encrypt_stream,
    ephemeral_keyring,
)
from records.models import Report
from tests.messaging.factories import make_conversation
from tests.records.factories import prefixed

pytestmark = pytest.mark.django_db

MARKER = b"MEDICAL-SECRET-7f3a"
DAPHNE = str(Path(sys.executable).parent / "daphne")
BIG = 3 * 1024 * 1024  # over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): Django would spool it to disk


def big_file(head: bytes, size: int = BIG) -> bytes:
    """A file whose every 64 KiB holds the marker many times, so any clear piece would show it."""
    filler = (MARKER + os.urandom(45)) * (size // 64 + 1)
    return head + filler[: size - len(head)]


@pytest.fixture
def temp_dir(settings, tmp_path) -> Path:
    """Uploads' temporary files go to a directory of their own, so a test can watch it."""
    directory = tmp_path / "upload-tmp"
    directory.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(directory)
    settings.MEDIA_ROOT = tmp_path / "media"
    return directory


@pytest.fixture
def watched(monkeypatch, temp_dir) -> list[bytes]:
    """Every temporary file's bytes, read after each chunk the handler writes."""
    seen: list[bytes] = []
    receive = uploads.EncryptedTemporaryFileUploadHandler.receive_data_chunk

    def receive_and_look(self, raw_data: bytes, start: int) -> None:
        receive(self, raw_data, start)
        self.file._ciphertext.flush()
        seen.extend(path.read_bytes() for path in temp_dir.iterdir())

    monkeypatch.setattr(
        uploads.EncryptedTemporaryFileUploadHandler, "receive_data_chunk", receive_and_look
    )
    return seen


@pytest.mark.parametrize("piece", [1, 7, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 3, 200_000])
@pytest.mark.parametrize("size", [0, 5, CHUNK_SIZE, 3 * CHUNK_SIZE + 11])
def test_it_pushes_the_same_stream_format_that_encrypt_stream_writes(piece, size):
    keyring = ephemeral_keyring()
    plaintext = os.urandom(size)
    out = io.BytesIO()
    encryptor = StreamEncryptor(keyring, out, aad=b"upload")
    for start in range(0, size, piece):
        encryptor.write(plaintext[start : start + piece])
    info = encryptor.finish()
    assert encryptor.finish() is info  # finishing twice writes no second final chunk
    assert info.plaintext_size == size
    assert info.ciphertext_size == len(out.getvalue())
    reference = io.BytesIO()
    assert encrypt_stream(keyring, [plaintext], reference).ciphertext_size == info.ciphertext_size
    out.seek(0)
    assert b"".join(decrypt_stream(keyring, info.wrapped_key, out, aad=b"upload")) == plaintext


def test_it_keeps_a_large_report_encrypted_while_it_arrives(as_vet, client_user, watched, temp_dir):
    from tests import factories

    patient = factories.make_patient(client_user)
    content = big_file(b"%PDF-1.7\n")
    data = prefixed(
        "upload",
        title="Scanner",
        date="2026-11-02",
        file=SimpleUploadedFile("scan.pdf", content, content_type="application/pdf"),
    )
    response = as_vet.post(reverse("records:upload_report", args=[patient.pk]), data)

    assert response.status_code == 302
    assert len(watched) > BIG // CHUNK_SIZE  # the handler really ran, chunk after chunk
    assert watched[-1].startswith(b"ACCUEIL1")  # ciphertext in the stream format
    assert not any(MARKER in seen or b"%PDF" in seen for seen in watched)
    assert list(temp_dir.iterdir()) == []  # and gone once the request ended
    report = Report.objects.get()
    assert report.plaintext_size == len(content)
    download = as_vet.get(reverse("records:report_download", args=[report.pk]))
    assert b"".join(download.streaming_content) == content


def test_it_keeps_a_large_attachment_encrypted_while_it_arrives(
    as_client, client_user, watched, temp_dir
):
    conversation = make_conversation(client_user, subject="Radio", body="Voici")
    content = big_file(b"%PDF-1.4\n")
    response = as_client.post(
        reverse("messaging:send", args=[conversation.pk]),
        {"body": "", "attachment": SimpleUploadedFile("radio.pdf", content, "application/pdf")},
    )

    assert response.status_code == 302
    assert watched
    assert not any(MARKER in seen for seen in watched)
    assert list(temp_dir.iterdir()) == []
    attachment = Attachment.objects.get()
    served = as_client.get(reverse("messaging:attachment", args=[attachment.pk]))
    assert b"".join(served.streaming_content) == content


def test_it_still_refuses_a_report_over_the_limit_with_a_clear_message(
    as_vet, client_user, settings, watched, temp_dir
):
    from tests import factories

    settings.RECORDS_MAX_UPLOAD_BYTES = 3 * 1024 * 1024 - 1
    patient = factories.make_patient(client_user)
    data = prefixed(
        "upload",
        title="Scanner",
        date="2026-11-02",
        file=SimpleUploadedFile("scan.pdf", big_file(b"%PDF-1.7\n"), "application/pdf"),
    )
    settings.LANGUAGE_CODE = "en"
    response = as_vet.post(
        reverse("records:upload_report", args=[patient.pk]), data, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert "The file is too large: 3.0\xa0MB at most." in response.text
    assert not Report.objects.exists()
    assert list(temp_dir.iterdir()) == []


def test_it_still_refuses_an_attachment_over_the_limit_in_french(
    as_client, client_user, settings, watched
):
    settings.ACCUEIL_MESSAGING_MAX_ATTACHMENT = 2 * 1024 * 1024
    conversation = make_conversation(client_user, subject="Radio", body="Voici")
    response = as_client.post(
        reverse("messaging:send", args=[conversation.pk]),
        {"body": "", "attachment": SimpleUploadedFile("radio.pdf", big_file(b"%PDF-1.4\n"))},
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    assert response.status_code == 400
    assert "Ce fichier est trop lourd : la limite est de 2 Mo." in response.text
    assert not Attachment.objects.exists()


def test_an_encrypted_upload_reads_like_any_upload(temp_dir):
    plaintext = big_file(b"\x89PNG\r\n\x1a\n", size=300_000)
    upload = uploads.EncryptedUploadedFile("photo.png", "image/png", None)
    for start in range(0, len(plaintext), 10_000):
        upload.receive(plaintext[start : start + 10_000])
    upload.complete()
    assert upload.size == len(plaintext)
    assert MARKER not in Path(upload.ciphertext_path).read_bytes()
    assert upload.read(8) == plaintext[:8]
    upload.seek(150_000)
    assert upload.read(5) == plaintext[150_000:150_005]
    upload.seek(3)  # backwards: decryption starts again from the top
    assert upload.read(4) == plaintext[3:7]
    assert b"".join(upload.chunks()) == plaintext
    assert not hasattr(upload, "temporary_file_path")  # nothing may move it into place as is
    upload.close()
    assert not Path(upload.ciphertext_path).exists()


# --- Before Django's upload handlers: the server's own buffer of the request body ------------


def test_a_spooled_body_stays_in_memory_while_small_and_is_ciphertext_beyond(temp_dir):
    small = uploads.EncryptedSpool(max_memory=1000)
    small.write(b"a=1&b=2")
    assert not small.on_disk
    assert small.tell() == 7
    small.seek(0)
    assert small.read() == b"a=1&b=2"
    small.close()

    body = big_file(b"--boundary\r\n", size=300_000)
    spool = uploads.EncryptedSpool(max_memory=100_000)
    for start in range(0, len(body), 7_000):
        spool.write(body[start : start + 7_000])
    assert spool.on_disk
    assert spool.tell() == len(body)  # Twisted reads the length this way before seeking
    [on_disk] = temp_dir.iterdir()
    assert MARKER not in on_disk.read_bytes()
    assert spool.seek(0) == 0
    assert spool.readline() == b"--boundary\r\n"
    assert spool.read(4) == body[12:16]
    spool.seek(0)
    assert spool.read() == body
    spool.close()
    assert spool.closed
    assert list(temp_dir.iterdir()) == []


@pytest.mark.asyncio
async def test_djangos_asgi_handler_spools_the_body_encrypted(temp_dir):
    body = big_file(b"--x\r\n")
    pieces = [body[start : start + 65_536] for start in range(0, len(body), 65_536)]
    messages = [
        {"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1}
        for index, piece in enumerate(pieces)
    ]
    seen: list[bytes] = []

    async def receive() -> dict:
        seen.extend(path.read_bytes() for path in temp_dir.iterdir())
        return messages.pop(0)

    spool = await uploads.EncryptedBodyASGIHandler().read_body(receive)
    assert spool.on_disk
    assert seen[-1].startswith(b"ACCUEIL1")
    assert not any(MARKER in data for data in seen)
    assert spool.read() == body
    spool.close()
    assert list(temp_dir.iterdir()) == []


def _open_files_under(pid: int, directory: Path) -> list[bytes]:
    """The bytes of every file `pid` holds open under `directory`, unlinked ones included."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith(str(directory)):
                found.append(Path(f"/proc/{pid}/fd/{fd}").read_bytes())
        except OSError:
            continue  # closed meanwhile
    return found


def _wait_for(condition, what: str, timeout: float = 20.0):
    # A process's open files and ports cannot be awaited as events: poll them, briefly.
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        time.sleep(0.02)
    return result


@pytest.mark.skipif(
    not Path("/proc/self/fd").exists(),
    reason="reads the server's open files through /proc (Linux only)",
)
def test_daphne_never_holds_a_large_body_in_clear_on_disk(tmp_path):
    """`make run` serves with daphne, whose Twisted layer buffered bodies over 100 KB in an
    unlinked temporary file in clear. Here a real daphne receives 3 MB with a marker; half-way,
    every file it holds open in its temporary directory is read (unlinked ones too, via /proc):
    no marker. Then the whole request completes and nothing is left behind. (With Twisted's own
    gotLength put back, this test fails on the clear bytes it finds.)"""
    watch = tmp_path / "tmp"
    watch.mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "ACCUEIL_MASTER_KEYS"}
    }
    env.update(ACCUEIL_VAR_DIR=str(tmp_path / "var"), TMPDIR=str(watch))
    daphne = subprocess.Popen(
        [DAPHNE, "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        connection = _wait_for(
            lambda: _connect(port) if daphne.poll() is None else pytest.fail(daphne.stderr.read()),
            "daphne to listen",
        )
        body = big_file(b"--x\r\n")
        head = (
            f"POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with connection:
            half = len(body) // 2
            connection.sendall(head + body[:half])
            held = _wait_for(
                lambda: [d for d in _open_files_under(daphne.pid, watch) if len(d) >= half],
                "daphne to buffer half the body",
            )
            assert held[0].startswith(b"ACCUEIL1")
            assert not any(MARKER in data for data in _open_files_under(daphne.pid, watch))
            connection.sendall(body[half:])
            reply = b"".join(iter(lambda: connection.recv(65536), b""))
        assert reply.startswith(b"HTTP/1.1 ")
        _wait_for(lambda: not _open_files_under(daphne.pid, watch), "the buffers to be closed")
        assert list(watch.iterdir()) == []
    finally:
        daphne.terminate()
        daphne.wait(timeout=20)


def _connect(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=20)
    except OSError:
        return None
