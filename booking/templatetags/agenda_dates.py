"""When a closure or a time off runs, as a phrase: "du 24 décembre 2026 au 2 janvier 2027",
"lundi 1er juin 2026, de 14:00 à 18:00" (dates from portal.lib.dates: "1er", lower-case names;
a heading capitalises with ``|capfirst``)."""

from __future__ import annotations

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from booking.models import Closure, TimeOff
from portal.lib.dates import long_date

register = template.Library()


@register.filter
def absence_span(absence: Closure | TimeOff) -> str:
    if isinstance(absence, Closure):
        if absence.start == absence.end:
            return long_date(absence.start)
        return _("from %(start)s to %(end)s") % {
            "start": long_date(absence.start),
            "end": long_date(absence.end),
        }
    start, end = timezone.localtime(absence.start), timezone.localtime(absence.end)
    if start.date() == end.date():
        return _("%(day)s, from %(start)s to %(end)s") % {
            "day": long_date(start),
            "start": formats.time_format(start, "H:i"),
            "end": formats.time_format(end, "H:i"),
        }
    return _("from %(start)s to %(end)s") % {
        "start": f"{long_date(start)} {formats.time_format(start, 'H:i')}",
        "end": f"{long_date(end)} {formats.time_format(end, 'H:i')}",
    }
