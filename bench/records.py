"""Records benchmark: reports rendered and encrypted, 20 MB downloads, the animal page.

    .venv/bin/python bench/records.py [--quick]

1. Render a 2-page written report with WeasyPrint and encrypt it (`services.write_report`):
   median time, beside the floors of the same run (a one-line WeasyPrint page; encrypting the
   same PDF bytes alone).
2. Store a 20 MB PDF (`services.store_report`: encrypt to disk) and download it through the
   download view under the ASGI handler, as daphne runs it (verify, then decrypt-stream): MB/s
   against raw AES-GCM on the same bytes in the same 64 KiB chunks (encrypt into a file and
   decrypt it back; also in memory, no I/O), and the memory the download adds (tracemalloc
   peak, RSS sampled per chunk) against the chunk size.
3. The owner's animal page with 200 history entries: queries and render time, beside a trivial
   login-protected view behind the same middleware (the floor).

Everything runs in a temporary directory (SQLite database, media, keys); nothing leaves the
process (the views are called through Django's test clients, no socket).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import types
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


def setup(var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["ACCUEIL_VAR_DIR"] = var_dir
    os.environ["ACCUEIL_MASTER_KEYS"] = "bench:" + "A" * 43 + "="
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["ACCUEIL_LOG_LEVEL"] = "WARNING"
    Path(var_dir, "static").mkdir()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }
    _trivial_urls()
    call_command("migrate", verbosity=0, interactive=False)


def _trivial_urls() -> None:
    """The project's URLs plus /bench/trivial/: login required, no query, a one-word body."""
    from django.conf import settings
    from django.contrib.auth.decorators import login_required
    from django.http import HttpResponse
    from django.urls import include, path

    @login_required
    def trivial(request):
        return HttpResponse("ok")

    module = types.ModuleType("bench_records_urls")
    module.urlpatterns = [path("bench/trivial/", trivial), path("", include("portal.urls"))]
    sys.modules[module.__name__] = module
    settings.ROOT_URLCONF = module.__name__


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def people():
    from portal.models import Clinic, Role
    from records.models import Guardianship, Patient
    from tests import factories

    Clinic.objects.create(
        name="Clinique du Banc d'essai", phone="+33478000000", address="1 rue du Test\n69000 Lyon"
    )
    owner = factories.make_client_user(first_name="Camille", last_name="Martin")
    vet = factories.make_user(role=Role.VET, first_name="Claire", last_name="Dubois")
    patient = Patient.objects.create(
        name="Filou", species="dog", breed="Labrador", birth_date=date(2020, 5, 17)
    )
    Guardianship.objects.create(patient=patient, client=owner.client)
    return owner, vet, patient


def part_render(vet, patient, runs: int) -> dict:
    from django.utils import timezone
    from weasyprint import HTML

    from portal.lib.crypto import encrypt_stream, keyring_from_settings
    from records import services
    from records.pdf import render_report, report_html

    paragraph = (
        "Filou a été vu pour un contrôle post-opératoire. La plaie est propre, sans signe "
        "d'infection ; les points seront retirés dans dix jours. L'appétit est bon, le transit "
        "normal. Nous recommandons de limiter l'activité pendant une semaine encore. "
    ) * 3
    summary = "\n\n".join([paragraph] * 8)
    pdf = render_report(
        patient=patient, practitioner=vet, title="Bench", on=timezone.localdate(), summary=summary
    )
    pages = len(
        HTML(string=report_html(patient, vet, "Bench", timezone.localdate(), summary))
        .render()
        .pages
    )
    full, trivial, encrypt_only = [], [], []
    for _ in range(runs):
        start = time.perf_counter()
        services.write_report(
            patient=patient,
            author=vet,
            title="Compte rendu",
            on=timezone.localdate(),
            summary=summary,
        )
        full.append(time.perf_counter() - start)
        start = time.perf_counter()
        HTML(string="<p>ok</p>").write_pdf()
        trivial.append(time.perf_counter() - start)
        start = time.perf_counter()
        encrypt_stream(keyring_from_settings(), io.BytesIO(pdf), io.BytesIO(), aad=b"bench")
        encrypt_only.append(time.perf_counter() - start)
    return {
        "pages": pages,
        "pdf_kb": len(pdf) / 1024,
        "render_encrypt_ms": median_ms(full),
        "trivial_render_ms": median_ms(trivial),
        "encrypt_only_ms": median_ms(encrypt_only),
    }


def _rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def part_stream(owner, vet, patient, size_mb: int, var_dir: str, runs: int) -> dict:
    from asgiref.sync import async_to_sync
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from django.test import AsyncClient
    from django.utils import timezone

    from portal.lib.crypto import CHUNK_SIZE
    from records import services
    from records.models import Report

    source = Path(var_dir) / "big.pdf"
    with source.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        for _ in range(size_mb * MB // CHUNK_SIZE):
            out.write(os.urandom(CHUNK_SIZE))
    size = source.stat().st_size

    def chunks():
        with source.open("rb") as handle:
            yield from iter(lambda: handle.read(CHUNK_SIZE), b"")

    # Floors, same bytes, same 64 KiB chunks. In memory: AES-GCM encrypt then decrypt, pure CPU.
    # With the same I/O: read the file, encrypt into a file, read that back and decrypt it: what
    # any at-rest encryption must do, without our framing, hashing, verify pass or Django.
    aead, nonce = AESGCM(AESGCM.generate_key(bit_length=256)), os.urandom(12)
    sealed_path = Path(var_dir) / "raw.enc"

    def raw_in_memory() -> None:
        for chunk in chunks():
            aead.decrypt(nonce, aead.encrypt(nonce, chunk, b"x"), b"x")

    def raw_with_io() -> None:
        with sealed_path.open("wb") as sealed:
            for chunk in chunks():
                sealed.write(aead.encrypt(nonce, chunk, b"x"))
        with sealed_path.open("rb") as sealed:
            for record in iter(lambda: sealed.read(CHUNK_SIZE + 16), b""):
                aead.decrypt(nonce, record, b"x")
        sealed_path.unlink()

    # Timed alone on the same bytes, to show where the time goes: the SHA-256 encrypt_stream
    # keeps of the plaintext (the floor does not pay it), and a plain file copy (what moving the
    # finished ciphertext into place by rename saves).
    def sha() -> None:
        digest = hashlib.sha256()
        for chunk in chunks():
            digest.update(chunk)

    def copy() -> None:
        shutil.copyfile(source, sealed_path)
        sealed_path.unlink()

    best: dict[str, float] = {}

    def median_of(function) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
        best[function.__name__] = min(samples)
        return statistics.median(samples)

    raw_memory, raw = median_of(raw_in_memory), median_of(raw_with_io)
    sha_time, copy_time = median_of(sha), median_of(copy)

    def store():
        return services.store_report(
            patient=patient,
            author=vet,
            title="Scanner",
            on=timezone.localdate(),
            source="upload",
            chunks=chunks(),
        )

    # Through the ASGI handler, as daphne serves it in production (in process, no socket).
    http = AsyncClient()
    async_to_sync(http.aforce_login)(owner)

    async def fetch(report, sample_rss: bool) -> int:
        nonlocal rss_peak
        received = 0
        response = await http.get(f"/records/reports/{report.pk}/download/")
        async for chunk in response.streaming_content:
            received += len(chunk)
            if sample_rss:
                rss_peak = max(rss_peak, _rss_kb())
        return received

    def download(report, *, sample_rss: bool = False) -> int:
        return async_to_sync(fetch)(report, sample_rss)

    rss_peak = 0
    encrypt_times, download_times = [], []
    for _ in range(runs):
        start = time.perf_counter()
        report = store()
        encrypt_times.append(time.perf_counter() - start)
        services.publish_report(report=report, by=vet)  # not timed: not part of the crypto path
        download(report)  # the first request of a session pays for the session and cache
        start = time.perf_counter()
        received = download(report)
        download_times.append(time.perf_counter() - start)
        assert received == size == Report.objects.get(pk=report.pk).plaintext_size
    encrypt, download_time = statistics.median(encrypt_times), statistics.median(download_times)
    best_ours = min(encrypt_times) + min(download_times)

    # Memory, in a run of its own (tracemalloc slows every allocation down).
    rss_before = rss_peak = _rss_kb()
    tracemalloc.start()
    base_traced = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    download(report, sample_rss=True)
    traced_peak = tracemalloc.get_traced_memory()[1] - base_traced
    tracemalloc.stop()
    ours = encrypt + download_time
    return {
        "size_mb": size / MB,
        "raw_mb_s": size / MB / raw,
        "raw_memory_mb_s": size / MB / raw_memory,
        "sha_ms": sha_time * 1000,
        "copy_ms": copy_time * 1000,
        "encrypt_ms": encrypt * 1000,
        "download_ms": download_time * 1000,
        "raw_ms": raw * 1000,
        "encrypt_mb_s": size / MB / encrypt,
        "download_mb_s": size / MB / download_time,
        "ours_mb_s": size / MB / ours,
        "ratio": raw / ours,
        "best_ratio": best["raw_with_io"] / best_ours,
        "traced_peak_kb": traced_peak / 1024,
        "rss_growth_kb": rss_peak - rss_before,
        "chunk_kb": CHUNK_SIZE / 1024,
    }


def part_page(owner, vet, patient, runs: int) -> dict:
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from records.models import CareDue, EntryKind, HistoryEntry, Weight

    kinds = list(EntryKind.values)
    HistoryEntry.objects.bulk_create(
        HistoryEntry(
            patient=patient,
            kind=kinds[index % len(kinds)],
            date=date(2026, 1, 1) - timedelta(days=index * 3),
            practitioner=vet,
            title=f"Visite {index}",
            summary="Tout va bien, à revoir dans un an.",
            internal_notes="RAS",
        )
        for index in range(200 - HistoryEntry.objects.filter(patient=patient).count())
    )
    Weight.objects.bulk_create(
        Weight(
            patient=patient, date=date(2025, 1, 1) + timedelta(days=30 * i), kg=Decimal(30 + i % 3)
        )
        for i in range(12)
    )
    CareDue.objects.create(
        patient=patient,
        kind="vaccination",
        subject="rabies",
        due_date=timezone.localdate() + timedelta(days=12),
    )
    http = HttpClient()
    http.force_login(owner)
    url = f"/records/animals/{patient.pk}/"

    def timed(path: str) -> tuple[list[float], int]:
        http.get(path)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            with CaptureQueriesContext(connection) as queries:
                response = http.get(path)
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200, response.status_code
        return samples, len(queries)

    page, page_queries = timed(url)
    floor, floor_queries = timed("/bench/trivial/")
    return {
        "entries": HistoryEntry.objects.filter(patient=patient).count(),
        "page_ms": median_ms(page),
        "page_queries": page_queries,
        "floor_ms": median_ms(floor),
        "floor_queries": floor_queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs, 4 MB file")
    args = parser.parse_args()
    runs = 3 if args.quick else 15
    with tempfile.TemporaryDirectory(prefix="accueil-bench-records-") as var_dir:
        setup(var_dir)
        owner, vet, patient = people()
        print("records benchmark (SQLite in a temporary directory; 2 cores)")

        render = part_render(vet, patient, runs)
        print(
            f"1. write_report, {render['pages']}-page PDF ({render['pdf_kb']:.0f} KB), render + "
            f"encrypt + store: median {render['render_encrypt_ms']:.0f} ms over {runs} runs; "
            f"floors: one-line WeasyPrint page {render['trivial_render_ms']:.0f} ms "
            f"(ratio {render['render_encrypt_ms'] / render['trivial_render_ms']:.1f}x), "
            f"encrypting the same PDF alone {render['encrypt_only_ms']:.2f} ms"
        )

        stream = part_stream(owner, vet, patient, 4 if args.quick else 20, var_dir, runs=5)
        print(
            f"2. {stream['size_mb']:.0f} MB: store (encrypt to disk) {stream['encrypt_mb_s']:.0f} "
            f"MB/s, download view (verify + decrypt-stream) {stream['download_mb_s']:.0f} MB/s, "
            f"together {stream['ours_mb_s']:.0f} MB/s vs raw AES-GCM encrypt to a file + "
            f"decrypt it {stream['raw_mb_s']:.0f} MB/s: ratio {stream['ratio']:.2f} of medians, "
            f"{stream['best_ratio']:.2f} of best runs (goal >= 0.7); "
            f"raw AES-GCM in memory, no I/O: {stream['raw_memory_mb_s']:.0f} MB/s"
        )
        print(
            f"   where the time goes: store {stream['encrypt_ms']:.0f} ms (of which SHA-256 of "
            f"the plaintext ~{stream['sha_ms']:.0f} ms; the finished file is renamed into place, "
            f"a plain copy would add ~{stream['copy_ms']:.0f} ms), download "
            f"{stream['download_ms']:.0f} ms (verify pass + decrypt pass); floor "
            f"{stream['raw_ms']:.0f} ms"
        )
        print(
            f"   memory added by the download: tracemalloc peak {stream['traced_peak_kb']:.0f} KB, "
            f"RSS growth {stream['rss_growth_kb']} KB, chunk {stream['chunk_kb']:.0f} KB "
            f"(goal < 2 chunks = {2 * stream['chunk_kb']:.0f} KB; file {stream['size_mb']:.0f} MB)"
        )

        page = part_page(owner, vet, patient, runs * 2)
        print(
            f"3. animal page, {page['entries']} history entries: {page['page_queries']} queries "
            f"(goal <= 8), median {page['page_ms']:.1f} ms; floor (trivial login-protected view) "
            f"{page['floor_queries']} queries, {page['floor_ms']:.1f} ms; ratio "
            f"{page['page_ms'] / page['floor_ms']:.1f}x"
        )


if __name__ == "__main__":
    main()
