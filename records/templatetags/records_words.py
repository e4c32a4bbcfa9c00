"""How records write dates and weights for people: "1er décembre", "4,2 kg".

French writes the first of a month as an ordinal ("1er décembre") and decimals with a comma.
Django's date formats know neither the ordinal nor, inside ``{% localize off %}`` (which the
weight chart needs for its SVG coordinates, see _weight_chart.html), the comma: these filters
give the visible words, whatever block they stand in.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

from portal.lib import dates

register = template.Library()


@register.filter
def record_date(value: date | None, arg: str = "") -> str:
    """ "1er décembre 2026" / "1 December 2026" (``"weekday"``: "lundi 1er décembre 2026").

    The portal's one way of writing dates per language (portal/lib/dates.py), with the year:
    a record spans years.
    """
    if not value:
        return ""
    if arg == "weekday":
        return dates.long_date(value)
    return f"{dates.day_month(value)} {value.year}"


@register.filter
def kg(value: Decimal | str | float | None) -> str:
    """A weight as people write it: no trailing zeros, the language's decimal sign (4,2)."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        return str(value)
    text = f"{number:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return number_format(Decimal(text), use_l10n=True)
