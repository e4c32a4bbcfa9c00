from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from booking.models import (
    Appointment,
    BookingRules,
    Closure,
    ExtraOpening,
    Practitioner,
    Service,
    TimeOff,
    WeeklyHours,
)
from booking.services import Mark
from portal.lib.widgets import IsoDateInput, IsoDateTimeInput, IsoTimeInput


class StartField(forms.IntegerField):
    """A slot start as a Unix timestamp: unambiguous in a URL, whatever the zone or DST."""

    def to_python(self, value):
        stamp = super().to_python(value)
        if stamp is None:
            return None
        try:
            return datetime.fromtimestamp(stamp, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise forms.ValidationError(_("This time is not valid.")) from None


class ChooseForm(forms.Form):
    """What to book: the patient, the service, "first available" or a named practitioner."""

    patient = forms.ModelChoiceField(queryset=None, label=_("For"), empty_label=None)
    service = forms.ModelChoiceField(
        # A context of its own: notifications' "Service" (service messages) wins otherwise.
        queryset=None,
        label=pgettext_lazy("what is booked", "Service"),
        to_field_name="slug",
        empty_label=None,
    )
    practitioner = forms.ModelChoiceField(
        queryset=None, label=_("With"), required=False, empty_label=_("First available")
    )
    day = forms.DateField(required=False, widget=forms.HiddenInput)

    def __init__(self, data, *, patients, services, practitioners) -> None:
        super().__init__(data)
        self.fields["patient"].queryset = patients
        self.fields["service"].queryset = services
        self.fields["practitioner"].queryset = practitioners


class ConfirmForm(forms.Form):
    start = StartField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for the visit (optional)"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)


class MoveForm(forms.Form):
    start = StartField(widget=forms.HiddenInput)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (optional)"), required=False, max_length=300)


class StaffCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class OutcomeForm(forms.Form):
    status = forms.ChoiceField(
        choices=[
            (Appointment.Status.ATTENDED, _("Attended")),
            (Appointment.Status.NO_SHOW, _("No-show")),
            (Appointment.Status.BOOKED, _("Not marked")),
        ]
    )


class MarkForm(forms.Form):
    """A status action posted from an appointment (booking:staff_mark), with the version the
    page showed, so a stale page is told instead of acting."""

    mark = forms.ChoiceField(choices=[(mark, mark) for mark in Mark.ALL])
    version = forms.IntegerField(min_value=1)


class RulesForm(forms.ModelForm):
    class Meta:
        model = BookingRules
        fields = [
            "horizon_days",
            "min_notice_minutes",
            "slot_step_minutes",
            "cutoff_hours",
            "max_upcoming",
        ]

    def clean_slot_step_minutes(self) -> int:
        value = self.cleaned_data["slot_step_minutes"]
        if value < 5:
            raise forms.ValidationError(_("At least 5 minutes."))
        return value

    def clean_horizon_days(self) -> int:
        value = self.cleaned_data["horizon_days"]
        if not 1 <= value <= 366:
            raise forms.ValidationError(_("Between 1 and 366 days."))
        return value

    def clean_max_upcoming(self) -> int:
        value = self.cleaned_data["max_upcoming"]
        if value < 1:
            raise forms.ValidationError(_("At least 1."))
        return value


class _RangeMixin:
    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and not start < end:
            self.add_error("end", _("The end must be after the start."))
        return data


class WeeklyHoursForm(_RangeMixin, forms.ModelForm):
    class Meta:
        model = WeeklyHours
        fields = ["practitioner", "weekday", "start", "end", "online"]
        widgets = {
            "start": IsoTimeInput(),
            "end": IsoTimeInput(),
        }


class ExtraOpeningForm(_RangeMixin, forms.ModelForm):
    class Meta:
        model = ExtraOpening
        fields = ["practitioner", "date", "start", "end", "online"]
        widgets = {
            "date": IsoDateInput(),
            "start": IsoTimeInput(),
            "end": IsoTimeInput(),
        }


class ClosureForm(_RangeMixin, forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["start", "end", "label"]
        widgets = {
            "start": IsoDateInput(),
            "end": IsoDateInput(),
        }

    def clean(self):
        data = forms.ModelForm.clean(self)
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end must not be before the start."))
        return data


class TimeOffForm(_RangeMixin, forms.ModelForm):
    class Meta:
        model = TimeOff
        fields = ["practitioner", "start", "end", "reason"]
        widgets = {
            "start": IsoDateTimeInput(),
            "end": IsoDateTimeInput(),
        }


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = [
            "site",
            "name",
            "slug",
            "duration_minutes",
            "buffer_minutes",
            "online",
            "new_clients_allowed",
            "first_visit_minutes",
            "species",
            "practitioners",
            "is_active",
        ]
        widgets = {"practitioners": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["practitioners"].queryset = Practitioner.objects.active()

    def clean_duration_minutes(self) -> int:
        value = self.cleaned_data["duration_minutes"]
        if value < 5:
            raise forms.ValidationError(_("At least 5 minutes."))
        return value

    def clean(self):
        data = super().clean()
        first, usual = data.get("first_visit_minutes"), data.get("duration_minutes")
        if first is not None and usual is not None and first < usual:
            self.add_error(
                "first_visit_minutes",
                _("A first visit cannot be shorter than the usual %(minutes)s minutes.")
                % {"minutes": usual},
            )
        return data


# --- staff: closures and time off entered by the team (issue #18) -------------------------------


class TimeOffEntryForm(TimeOffForm):
    """Time off for one of ``practitioners`` (a vet: only themselves)."""

    def __init__(self, *args, practitioners=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if practitioners is not None:
            self.fields["practitioner"].queryset = practitioners
            if len(practitioners) == 1:
                self.fields["practitioner"].empty_label = None


class TeamRulesForm(RulesForm):
    """The booking rules, with who besides the manager may enter absences."""

    class Meta(RulesForm.Meta):
        fields = [*RulesForm.Meta.fields, "team_enters_time_off", "reception_enters_closures"]
