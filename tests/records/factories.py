"""Records factories: plain functions returning saved objects (see tests/factories.py)."""

import io
from datetime import date
from decimal import Decimal

from portal.models import User
from records import services
from records.models import EntryKind, HistoryEntry, Patient, Report, Weight


def pdf_bytes(pages: int = 1, text: str = "Accueil test report") -> bytes:
    """A small but real PDF, made by WeasyPrint."""
    from weasyprint import HTML

    body = "".join(f"<h1>{text} {page}</h1><p>Page {page}</p>" for page in range(pages))
    html = f"<html><body>{body}<style>h1 {{ break-before: page }}</style></body></html>"
    return HTML(string=html).write_pdf()


def make_entry(patient: Patient, *, kind: str = EntryKind.CONSULTATION, **fields) -> HistoryEntry:
    defaults = {
        "date": date(2026, 10, 1),
        "title": "Annual visit",
        "summary": "Everything is fine.",
        "internal_notes": "Owner anxious; check teeth next time.",
    }
    defaults.update(fields)
    return HistoryEntry.objects.create(patient=patient, kind=kind, **defaults)


def make_weight(patient: Patient, on: date, kg: str) -> Weight:
    return Weight.objects.create(patient=patient, date=on, kg=Decimal(kg))


def make_report(
    patient: Patient,
    author: User,
    *,
    published: bool = True,
    title: str = "Blood test",
    content: bytes | None = None,
) -> Report:
    report = services.store_report(
        patient=patient,
        author=author,
        title=title,
        on=date(2026, 10, 2),
        source=Report.Source.UPLOAD,
        chunks=io.BytesIO(content if content is not None else pdf_bytes()),
    )
    if published:
        services.publish_report(report=report, by=author)
        report.refresh_from_db()
    return report


def prefixed(prefix: str, **fields) -> dict:
    """POST data for one of the patient page's forms (each has its own prefix)."""
    return {f"{prefix}-{name}": value for name, value in fields.items()}
