from __future__ import annotations

from datetime import date, datetime
from functools import reduce

from django import forms
from django.utils.translation import gettext_lazy as _

from booking.models import Weekday
from portal.lib.widgets import IsoDateInput, IsoTimeInput
from waitlist.models import ALL_TIMES, ALL_WEEKDAYS, Times


def _bits(values: list[str]) -> int:
    return reduce(lambda acc, value: acc | int(value), values, 0)


class PreferencesForm(forms.Form):
    """Parts of the day and weekdays the client can come; both stored as bit masks."""

    times = forms.MultipleChoiceField(
        label=_("Times of day"),
        choices=Times.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[str(value) for value in Times.values],
        error_messages={"required": _("Tick at least one time of day.")},
    )
    weekdays = forms.MultipleChoiceField(
        label=_("Days"),
        choices=[(str(1 << value), label) for value, label in Weekday.choices],
        widget=forms.CheckboxSelectMultiple,
        initial=[str(1 << value) for value in Weekday.values],
        error_messages={"required": _("Tick at least one day.")},
    )

    def clean_times(self) -> int:
        return _bits(self.cleaned_data["times"]) & ALL_TIMES

    def clean_weekdays(self) -> int:
        return _bits(self.cleaned_data["weekdays"]) & ALL_WEEKDAYS


class JoinForm(PreferencesForm):
    """ "Tell me when something opens": for which animal, which service, with whom, when."""

    patient = forms.ModelChoiceField(queryset=None, label=_("For"), empty_label=None)
    service = forms.ModelChoiceField(
        queryset=None, label=_("Service"), to_field_name="slug", empty_label=None
    )
    practitioner = forms.ModelChoiceField(
        queryset=None, label=_("With"), required=False, empty_label=_("Anyone")
    )
    earliest = forms.DateField(label=_("From"), widget=IsoDateInput())
    latest = forms.DateField(label=_("Until (included)"), widget=IsoDateInput())

    field_order = ["patient", "service", "practitioner", "earliest", "latest", "times"]

    def __init__(
        self, data=None, *, patients, services, practitioners, today: date, horizon, initial=None
    ) -> None:
        super().__init__(data, initial=initial)
        self.today = today
        self.horizon = horizon
        self.fields["patient"].queryset = patients
        self.fields["service"].queryset = services
        self.fields["practitioner"].queryset = practitioners

    def clean(self) -> dict:
        data = super().clean()
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and earliest < self.today:
            self.add_error("earliest", _("Choose today or a later day."))
        if earliest and latest and latest < earliest:
            self.add_error("latest", _("The end of the period is before its start."))
        if latest and latest > self.today + self.horizon:
            self.add_error(
                "latest",
                _("Slots are offered up to %(days)s days ahead.") % {"days": self.horizon.days},
            )
        patient, service = data.get("patient"), data.get("service")
        if patient and service and service.species and service.species != patient.species:
            self.add_error("service", _("This service is not offered for this animal."))
        return data


class EarlierForm(PreferencesForm):
    """ "I'd take an earlier slot" for an existing appointment."""

    same_practitioner = forms.BooleanField(
        label=_("Only with the same practitioner"), required=False
    )


class StaffOfferForm(forms.Form):
    """A free slot of the agenda, to offer to the waitlist (or one client) or to keep free."""

    service = forms.ModelChoiceField(queryset=None, label=_("Service"), empty_label=None)
    practitioner = forms.ModelChoiceField(queryset=None, label=_("Practitioner"), empty_label=None)
    day = forms.DateField(label=_("Day"), widget=IsoDateInput())
    time = forms.TimeField(label=_("Time"), widget=IsoTimeInput())
    entry = forms.ModelChoiceField(
        queryset=None,
        label=_("Offer only to"),
        required=False,
        empty_label=_("Everyone waiting, in waves"),
    )

    def __init__(self, data=None, *, services, practitioners, entries, tz, initial=None) -> None:
        super().__init__(data, initial=initial)
        self.tz = tz
        self.fields["service"].queryset = services
        self.fields["practitioner"].queryset = practitioners
        self.fields["entry"].queryset = entries
        self.fields["entry"].label_from_instance = lambda entry: (
            f"{entry.client} — {entry.patient.name}, {entry.service.name}"
        )

    def clean(self) -> dict:
        data = super().clean()
        day, wall = data.get("day"), data.get("time")
        if day and wall:
            data["starts_at"] = datetime.combine(day, wall, tzinfo=self.tz)
        practitioner, service = data.get("practitioner"), data.get("service")
        if (
            practitioner
            and service
            and not service.practitioners.filter(pk=practitioner.pk).exists()
        ):
            self.add_error("practitioner", _("This practitioner does not perform this service."))
        return data
