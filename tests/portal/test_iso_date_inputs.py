"""Every date and time input of every form carries an ISO value, in French as in English.

A browser drops a `<input type=date value="29/11/2026">`: the field shows empty and the form
comes back "required" (issue #18, the waitlist's join form). This walks every Form and
ModelForm class of our apps' forms modules, renders each date/time/datetime-local input with a
value under French, and checks the value is ISO and that the field accepts it back.
"""

from __future__ import annotations

import importlib
import inspect
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.utils import timezone, translation

PARIS = ZoneInfo("Europe/Paris")
VALUES = {
    "date": (date(2026, 12, 1), re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    "time": (time(9, 30), re.compile(r"^\d{2}:\d{2}$")),
    "datetime-local": (
        datetime(2026, 12, 1, 9, 30, tzinfo=PARIS),
        re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"),
    ),
}
VALUE = re.compile(r'\bvalue="([^"]*)"')


def _our_form_classes() -> list[type[forms.BaseForm]]:
    base = Path(settings.BASE_DIR).resolve()
    found = []
    for config in apps.get_app_configs():
        if Path(config.path).resolve().parent != base:
            continue  # Django's and third parties' apps (installed in the venv under BASE_DIR)
        try:
            module = importlib.import_module(f"{config.name}.forms")
        except ModuleNotFoundError:
            continue
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, forms.BaseForm)
                and cls.__module__ == module.__name__
                and not getattr(getattr(cls, "Meta", None), "abstract", False)
            ):
                found.append(cls)
    return found


def _input_type(field: forms.Field) -> str | None:
    kind = getattr(field.widget, "input_type", None)
    if kind in VALUES:
        return kind
    kind = field.widget.attrs.get("type")
    return kind if kind in VALUES else None


def _built(cls: type[forms.BaseForm], initial: dict) -> forms.BaseForm:
    """The form as its views build it where it takes only `initial`; else its fields as declared."""
    try:
        return cls(initial=initial)
    except (TypeError, ValueError, AttributeError):
        # Forms that need querysets, a user or a patient: their declared fields and widgets.
        form = cls.__new__(cls)
        forms.BaseForm.__init__(form, initial=initial)
        return form


def _initial(form_class: type[forms.BaseForm]) -> dict:
    """A value for every date, time and date-time field (its widget may be set in __init__)."""
    initial = {}
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.DateTimeField):
            initial[name] = VALUES["datetime-local"][0]
        elif isinstance(field, forms.DateField):
            initial[name] = VALUES["date"][0]
        elif isinstance(field, forms.TimeField):
            initial[name] = VALUES["time"][0]
    return initial


FORMS = _our_form_classes()
DATED_FORMS = [cls for cls in FORMS if _initial(cls)]


def test_it_finds_the_forms_of_every_app():
    modules = {cls.__module__.split(".")[0] for cls in FORMS}
    assert {"booking", "records", "waitlist"} <= modules
    assert len(FORMS) >= 10
    assert len(DATED_FORMS) >= 8


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form_class", DATED_FORMS, ids=lambda cls: f"{cls.__module__}.{cls.__name__}"
)
def test_it_renders_every_date_and_time_input_in_iso_under_french(form_class, clinic):
    initial = _initial(form_class)
    with translation.override("fr"), timezone.override(PARIS):
        form = _built(form_class, initial)
        for name, field in form.fields.items():
            kind = _input_type(field)
            if kind is None or name not in initial:
                continue  # a hidden or text input: no browser drops a localised value there
            html = str(form[name])
            match = VALUE.search(html)
            assert match, f"{form_class.__name__}.{name} renders no value: {html}"
            rendered = match.group(1)
            assert VALUES[kind][1].match(rendered), (
                f"{form_class.__name__}.{name} <input type={kind}> holds {rendered!r}, not ISO"
            )
            # ...and the field takes back what the browser sends (the same ISO text).
            assert field.clean(rendered) == initial[name]
