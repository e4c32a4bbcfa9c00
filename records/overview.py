"""What sits beside an animal's timeline: care due, weights and published reports.

The owner's animal page must stay at a fixed, small number of queries whatever the history's
length (the issue sets 8, and authentication plus the access-log line take five). The three short
lists are read in one UNION ALL query instead of three, then turned back into model instances.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.db.models import Value

from records.models import CareDue, Patient, Report, Weight

# Prefixed: annotations may not reuse a model field's name ("kind", "date").
_COLUMNS = ("o_tag", "o_id", "o_day", "o_kg", "o_text", "o_kind")


@dataclass
class Overview:
    care: list[CareDue] = field(default_factory=list)
    weights: list[Weight] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)


def _columns(tag: str, *, row_id, day, kg, text, kind) -> dict:
    return dict(zip(_COLUMNS, (Value(tag), row_id, day, kg, text, kind), strict=True))


# SQLite hands a UNION's decimals back as floats: read them back to the cent.
_CENTS = Decimal("0.01")
_NO_KG = Value(None, output_field=models.DecimalField(max_digits=6, decimal_places=2))
_NO_TEXT = Value("", output_field=models.CharField())


def overview_for(patient: Patient, *, with_reports: bool) -> Overview:
    care = (
        CareDue.objects.pending()
        .filter(patient=patient)
        .annotate(
            **_columns(
                "care",
                row_id=models.F("pk"),
                day=models.F("due_date"),
                kg=_NO_KG,
                text=models.F("subject"),
                kind=models.F("kind"),
            )
        )
        .order_by()
        .values_list(*_COLUMNS)
    )
    weights = (
        Weight.objects.filter(patient=patient)
        .annotate(
            **_columns(
                "weight",
                row_id=models.F("pk"),
                day=models.F("date"),
                kg=models.F("kg"),
                text=_NO_TEXT,
                kind=_NO_TEXT,
            )
        )
        .order_by()
        .values_list(*_COLUMNS)
    )
    parts = [weights]
    if with_reports:
        reports = (
            Report.objects.published()
            .filter(patient=patient)
            .annotate(
                **_columns(
                    "report",
                    row_id=models.F("pk"),
                    day=models.F("date"),
                    kg=_NO_KG,
                    text=models.F("title"),
                    kind=_NO_TEXT,
                )
            )
            .order_by()
            .values_list(*_COLUMNS)
        )
        parts.append(reports)
    combined = care.union(*parts, all=True)
    overview = Overview()
    for tag, row_id, day, kg, text, kind in combined.order_by("o_tag", "o_day", "o_id"):
        if tag == "care":
            item = CareDue(pk=row_id, patient=patient, kind=kind, subject=text, due_date=day)
            overview.care.append(item)
        elif tag == "weight":
            overview.weights.append(
                Weight(pk=row_id, patient=patient, date=day, kg=Decimal(str(kg)).quantize(_CENTS))
            )
        else:
            overview.reports.append(
                Report(pk=row_id, patient=patient, title=text, date=day, status="published")
            )
    overview.reports.reverse()  # newest first, as everywhere else
    return overview
