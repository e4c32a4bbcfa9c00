"""A vet's written report rendered to the clinic's branded PDF with WeasyPrint.

The template fetches nothing over the network: the logo is inlined as a data URI and every other
URL is refused, so a report can never make the server call out.
"""

import base64
import mimetypes
from datetime import date

from django.template.loader import render_to_string

from portal.models import Clinic, User
from records.models import Patient


def _refuse_fetch(url: str, *args, **kwargs):
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"Reports fetch nothing: {url[:60]}")


def _logo_data_uri(clinic: Clinic) -> str:
    if not clinic.logo:
        return ""
    try:
        with clinic.logo.open("rb") as logo:
            data = logo.read()
    except OSError:
        return ""  # a missing logo file must not stop a report
    kind = mimetypes.guess_type(clinic.logo.name)[0] or "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def report_html(patient: Patient, practitioner: User, title: str, on: date, summary: str) -> str:
    clinic = Clinic.current()
    context = {
        "clinic": clinic,
        "logo": _logo_data_uri(clinic),
        "patient": patient,
        "practitioner": practitioner,
        "title": title,
        "date": on,
        "paragraphs": [part.strip() for part in summary.split("\n\n") if part.strip()],
    }
    return render_to_string("records/pdf/report.html", context)


def render_report(
    *, patient: Patient, practitioner: User, title: str, on: date, summary: str
) -> bytes:
    """The PDF bytes of a written report (held in memory: a text report is a few dozen KB).

    Rendered in the language of the request that writes it (the vet's).
    """
    from weasyprint import HTML

    html = report_html(patient, practitioner, title, on, summary)
    return HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
