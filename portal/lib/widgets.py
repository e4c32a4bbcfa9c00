"""Date and time inputs that speak ISO whatever the language.

A browser's `<input type=date|time|datetime-local>` reads and sends only ISO values
(2026-11-29, 09:30, 2026-11-29T09:30). Django's stock widgets render the active language's
first input format instead ("29/11/2026" in French), which the browser drops: the field shows
empty and the form comes back "required". These widgets fix the rendered format; the fields
still accept it back because Django always adds the ISO formats to the language's input
formats (and DateTimeField parses "2026-11-29T09:30" as ISO).

Use them for every date/time input of every form; tests/portal/test_iso_inputs.py walks all
forms and fails on a localised value.
"""

from __future__ import annotations

from typing import Any

from django import forms

ISO_DATE = "%Y-%m-%d"
ISO_TIME = "%H:%M"
ISO_DATETIME = "%Y-%m-%dT%H:%M"


class IsoDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_DATE)


class IsoTimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_TIME)


class IsoDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_DATETIME)
