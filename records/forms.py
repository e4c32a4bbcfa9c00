from datetime import date

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.lib.widgets import IsoDateInput
from portal.models import Client
from records.models import EntryKind, Guardianship, Patient, photo_type
from records.protocols import vaccines_for

PDF_MAGIC = b"%PDF-"


def clinic_today() -> date:
    """Today in the clinic's zone (the middleware activates it): what "in the future" means."""
    return timezone.localdate()


def _not_in_future(value: date | None) -> date | None:
    if value is not None and value > clinic_today():
        raise forms.ValidationError(_("This date is in the future."))
    return value


class _CurrentPhoto:
    """What the photo field shows as "currently": a link to the access-checked photo view."""

    def __init__(self, patient: Patient) -> None:
        self.url = reverse("records:patient_photo", args=[patient.pk])

    def __str__(self) -> str:
        return str(_("current photo"))


class PatientForm(forms.ModelForm):
    # Not the model's field: the model stores only ciphertext, which the service writes
    # (records.services.create_patient / update_patient), never the form.
    photo = forms.ImageField(label=_("Photo"), required=False)

    class Meta:
        model = Patient
        fields = ["name", "species", "breed", "sex", "neutered", "birth_date", "microchip"]
        widgets = {"birth_date": IsoDateInput()}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.photo:
            self.initial["photo"] = _CurrentPhoto(self.instance)

    def clean_birth_date(self) -> date | None:
        return _not_in_future(self.cleaned_data.get("birth_date"))

    def clean_microchip(self) -> str:
        return self.cleaned_data["microchip"].replace(" ", "").upper()

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if not isinstance(photo, UploadedFile):
            return photo  # unchanged (the current photo), cleared (False), or none
        if photo.size > 5 * 1024 * 1024:
            raise forms.ValidationError(_("The photo is too large (5 MB at most)."))
        photo.seek(0)
        head = photo.read(12)
        photo.seek(0)
        if photo_type(head) is None:
            raise forms.ValidationError(_("Send the photo as JPEG, PNG, GIF or WebP."))
        return photo

    @property
    def new_photo(self) -> UploadedFile | None:
        photo = self.cleaned_data.get("photo")
        return photo if isinstance(photo, UploadedFile) else None

    @property
    def photo_cleared(self) -> bool:
        return self.cleaned_data.get("photo") is False


class LinkClientForm(forms.Form):
    prefix = "link"  # several forms share the patient page: ids must stay unique
    client = forms.ModelChoiceField(
        label=_("Client"), queryset=Client.objects.all(), widget=forms.NumberInput
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=Guardianship.Role.choices, initial=Guardianship.Role.OWNER
    )


class EntryForm(forms.Form):
    """A consultation, surgery, lab result or note (vaccinations and treatments have their own)."""

    prefix = "entry"  # several forms share the patient page: ids must stay unique
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (kind.value, kind.label)
            for kind in EntryKind
            if kind not in (EntryKind.VACCINATION, EntryKind.TREATMENT)
        ],
    )
    date = forms.DateField(label=_("Date"), widget=IsoDateInput())
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary for the owner"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The owner reads this."),
    )
    internal_notes = forms.CharField(
        label=_("Internal notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only the clinic's team sees these."),
    )
    next_checkup = forms.DateField(label=_("Next check-up"), required=False, widget=IsoDateInput())

    def clean_date(self) -> date:
        return _not_in_future(self.cleaned_data["date"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("next_checkup") and data.get("date") and data["next_checkup"] <= data["date"]:
            self.add_error("next_checkup", _("The next check-up must come after this visit."))
        return data


class VaccinationForm(forms.Form):
    """A few taps: the vaccine from the species' protocol, today's date, next due proposed."""

    prefix = "vaccination"  # several forms share the patient page: ids must stay unique
    vaccine = forms.ChoiceField(label=_("Vaccine"))
    date = forms.DateField(label=_("Date"), widget=IsoDateInput())
    batch = forms.CharField(label=_("Batch number"), max_length=40, required=False)
    next_due = forms.DateField(
        label=_("Next due"),
        required=False,
        widget=IsoDateInput(),
        help_text=_("Proposed from the vaccination protocol; change it if needed."),
    )
    summary = forms.CharField(
        label=_("Summary for the owner"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    internal_notes = forms.CharField(
        label=_("Internal notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only the clinic's team sees these."),
    )

    def __init__(self, *args, patient: Patient, refresh_url: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        choices = [(item.code, item.label) for item in vaccines_for(patient.species)]
        self.fields["vaccine"].choices = [*choices, ("other", _("Other (type it)"))]
        if refresh_url:
            # Choosing the vaccine or the date asks the server for the protocol's next due date;
            # without JavaScript the date is filled in when the form is saved.
            refresh = {
                "hx-get": refresh_url,
                "hx-trigger": "change",
                "hx-target": "#vaccination-box",
                "hx-include": "closest form",
            }
            for name in ("vaccine", "date"):
                self.fields[name].widget.attrs.update(refresh)
        self.fields["other_vaccine"] = forms.CharField(
            label=_("Other vaccine"), max_length=60, required=False
        )
        self.order_fields(["vaccine", "other_vaccine", "date", "batch", "next_due"])

    def clean_date(self) -> date:
        return _not_in_future(self.cleaned_data["date"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("vaccine") == "other":
            other = (data.get("other_vaccine") or "").strip()
            if not other:
                self.add_error("other_vaccine", _("Name the vaccine."))
            data["vaccine"] = other
        if data.get("next_due") and data.get("date") and data["next_due"] <= data["date"]:
            self.add_error("next_due", _("The next injection must come after this one."))
        return data


class TreatmentForm(forms.Form):
    prefix = "treatment"  # several forms share the patient page: ids must stay unique
    drug = forms.CharField(label=_("Drug"), max_length=120)
    dose = forms.CharField(label=_("Dose"), max_length=120)
    start = forms.DateField(label=_("Start"), widget=IsoDateInput())
    end = forms.DateField(label=_("End"), required=False, widget=IsoDateInput())
    antiparasitic = forms.BooleanField(label=_("Antiparasitic"), required=False)
    summary = forms.CharField(
        label=_("Summary for the owner"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    internal_notes = forms.CharField(
        label=_("Internal notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only the clinic's team sees these."),
    )

    def clean_start(self) -> date:
        return _not_in_future(self.cleaned_data["start"])

    def clean(self) -> dict:
        data = super().clean()
        if data.get("end") and data.get("start") and data["end"] < data["start"]:
            self.add_error("end", _("The end comes before the start."))
        return data


class WeightForm(forms.Form):
    prefix = "weight"  # several forms share the patient page: ids must stay unique
    date = forms.DateField(label=_("Date"), widget=IsoDateInput())
    kg = forms.DecimalField(
        label=_("Weight (kg)"), min_value=0.01, max_value=2000, max_digits=6, decimal_places=2
    )

    def clean_date(self) -> date:
        return _not_in_future(self.cleaned_data["date"])


class ReportUploadForm(forms.Form):
    prefix = "upload"  # several forms share the patient page: ids must stay unique
    title = forms.CharField(label=_("Title"), max_length=200)
    date = forms.DateField(label=_("Date"), widget=IsoDateInput())
    file = forms.FileField(
        label=_("PDF file"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def clean_date(self) -> date:
        return _not_in_future(self.cleaned_data["date"])

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        limit = settings.RECORDS_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is too large: %(limit)s at most.") % {"limit": filesizeformat(limit)}
            )
        # The bytes decide, not the name or the browser's content type.
        upload.seek(0)
        head = upload.read(len(PDF_MAGIC))
        upload.seek(0)
        if head != PDF_MAGIC:
            raise forms.ValidationError(_("This file is not a PDF."))
        return upload


class ReportWriteForm(forms.Form):
    prefix = "write"  # several forms share the patient page: ids must stay unique
    title = forms.CharField(label=_("Title"), max_length=200)
    date = forms.DateField(label=_("Date"), widget=IsoDateInput())
    summary = forms.CharField(
        label=_("Report"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
        help_text=_("Written for the owner. Leave a blank line between paragraphs."),
    )

    def clean_date(self) -> date:
        return _not_in_future(self.cleaned_data["date"])


class CorrectionForm(forms.Form):
    message = forms.CharField(
        label=_("What should be corrected?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Name, e-mail, phone or identification number"), required=False)
