import calendar
import re
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
from records.breeds import all_breeds, breeds_for
from records.models import EntryKind, Guardianship, Patient, Sex, Species, photo_type
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


class PhotoChecks:
    """A patient's photo field: checked by its bytes, never stored by the form.

    The model stores only ciphertext, which the services write (records.services.create_patient,
    update_patient, declare_patient, edit_declared_patient), never the form. Shared by the staff's
    and the owner's forms.
    """

    cleaned_data: dict

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


def _photo_field() -> forms.ImageField:
    return forms.ImageField(label=_("Photo"), required=False)


class PatientForm(PhotoChecks, forms.ModelForm):
    photo = _photo_field()

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


# --- The owner's own form (issue 12) --------------------------------------------------------------

# A microchip (ISO 11784/11785): 15 digits. A French tattoo: 2 or 3 letters and 3 or 4 digits, in
# either order (the older "ABC123" and the newer "123ABC").
CHIP = re.compile(r"\d{15}")
TATTOO = re.compile(r"[A-Z]{2,3}\d{3,4}|\d{3,4}[A-Z]{2,3}")

# How old a patient can plausibly be, by species: a birth date before the floor or an age above
# the limit is a typo (1920 for 2020) that would misplace every reminder. Most pets live well
# under 40 years; parrots and tortoises can outlive their owners; people are people.
OLDEST_ANIMAL = (date(1990, 1, 1), 40)
OLDEST = {Species.BIRD: 100, Species.REPTILE: 100, Species.HUMAN: 120}


def normalized_identification(value: str) -> str:
    """Spaces, dashes and dots dropped, letters in capitals: how identification numbers are kept
    and compared."""
    return re.sub(r"[\s.-]+", "", value).upper()


def _oldest(species: str, today: date) -> tuple[date, int]:
    """(earliest birth date, greatest age in years) accepted for `species`."""
    years = OLDEST.get(species)
    if years is None:
        return OLDEST_ANIMAL
    return _months_before(today, years * 12), years


def _months_before(day: date, months: int) -> date:
    """`day`, `months` months earlier (the 31st becomes the month's last day)."""
    total = day.year * 12 + day.month - 1 - months
    year, month = divmod(total, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_in_months(birth_date: date, today: date) -> int:
    months = (today.year - birth_date.year) * 12 + today.month - birth_date.month
    return max(0, months - (today.day < birth_date.day))


class OwnerPatientForm(PhotoChecks, forms.Form):
    """A client declares an animal, or a person (themselves or a child), from their phone.

    Person or animal is fixed when the form is made (`person=`): a person has no breed, no
    identification number and no "neutered". The birth date may be given as an approximate age
    (years and months), which becomes a birth date marked as estimated. `cleaned_data` is what
    `records.services.declare_patient` takes as `data`.

    With `patient=`, the form edits a patient the owner declared (the duplicate check leaves it
    out; an estimated birth date comes back as an age).
    """

    WHO = (("self", _("Myself")), ("child", _("My child")))

    who = forms.ChoiceField(
        label=_("Who is it for?"), choices=WHO, initial="self", widget=forms.RadioSelect
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    species = forms.ChoiceField(label=_("Species"))
    breed = forms.CharField(
        label=_("Breed"),
        max_length=120,
        required=False,
        help_text=_("Choose from the list or type it."),
        widget=forms.TextInput(attrs={"list": "breed-list", "autocomplete": "off"}),
    )
    sex = forms.ChoiceField(label=_("Sex"), choices=Sex.choices, initial=Sex.UNKNOWN)
    neutered = forms.BooleanField(label=_("Neutered"), required=False)
    birth_date = forms.DateField(
        label=_("Birth date"),
        required=False,
        widget=IsoDateInput(),
        help_text=_("Or, if you do not know it, an approximate age below."),
    )
    # Shown together under "Approximate age" (the template's fieldset).
    age_years = forms.IntegerField(label=_("Years"), required=False, min_value=0, max_value=150)
    age_months = forms.IntegerField(label=_("Months"), required=False, min_value=0, max_value=11)
    microchip = forms.CharField(
        label=_("Identification number"),
        max_length=32,
        required=False,
        help_text=_("The chip (15 digits) or the tattoo (such as ABC123), if there is one."),
    )
    photo = _photo_field()

    def __init__(
        self,
        *args,
        person: bool = False,
        client: Client | None = None,
        patient: Patient | None = None,
        refresh_url: str = "",
        **kwargs,
    ) -> None:
        self.patient = patient
        if patient is not None:
            person = patient.is_person
            kwargs.setdefault("initial", _initial_from(patient))
        super().__init__(*args, **kwargs)
        self.person = person
        self.client = client
        if person:
            for name in ("species", "breed", "neutered", "microchip"):
                del self.fields[name]
            if patient is not None:
                del self.fields["who"]  # a declared person stays who they are
            else:
                self.fields["name"].required = False  # "myself": the client's own name
                self.fields["name"].help_text = _("Leave empty for yourself.")
        else:
            del self.fields["who"]
            self.fields["species"].choices = [
                ("", "---------"),
                *[(value, label) for value, label in Species.choices if value != Species.HUMAN],
            ]
            if refresh_url:
                # Choosing the species asks the server for its breeds; without JavaScript the
                # list holds every species' breeds.
                self.fields["species"].widget.attrs.update(
                    {
                        "hx-get": refresh_url,
                        "hx-trigger": "change",
                        "hx-target": "#breed-field",
                        "hx-swap": "outerHTML",
                        "hx-include": "[name='species'], [name='breed']",
                    }
                )
        if patient is not None and patient.photo:
            self.initial["photo"] = _CurrentPhoto(patient)

    @property
    def chosen_species(self) -> str:
        """The species typed or chosen so far (for the breed suggestions), else ""."""
        if self.person:
            return Species.HUMAN
        value = self.data.get(self.add_prefix("species")) if self.is_bound else None
        if value is None:
            value = self.initial.get("species", "")
        return value if value in Species.values else ""

    @property
    def breed_suggestions(self) -> list[str] | tuple[str, ...]:
        species = self.chosen_species
        return breeds_for(species) if species else all_breeds()

    def clean_microchip(self) -> str:
        value = normalized_identification(self.cleaned_data.get("microchip", ""))
        if not value:
            return ""
        if not (CHIP.fullmatch(value) or TATTOO.fullmatch(value)):
            raise forms.ValidationError(
                _(
                    "Enter the chip number (15 digits) or the tattoo (2 or 3 letters and 3 or 4 "
                    "digits, such as ABC123 or 123ABC)."
                )
            )
        others = Patient.objects.filter(microchip=value)
        if self.patient is not None:
            others = others.exclude(pk=self.patient.pk)
        if others.exists():
            raise forms.ValidationError(IDENTIFICATION_TAKEN)
        return value

    def clean(self) -> dict:
        data = super().clean()
        today = clinic_today()
        species = Species.HUMAN if self.person else data.get("species", "")
        earliest, most_years = _oldest(species, today)
        born = data.get("birth_date")
        years, months = data.get("age_years"), data.get("age_months")
        data["birth_date_estimated"] = False
        if born is not None:
            if born > today:
                self.add_error("birth_date", _("The birth date cannot be in the future."))
            elif born < earliest:
                self.add_error(
                    "birth_date",
                    _(
                        "A birth date before %(year)s is not possible here: check the year, or "
                        "call the clinic."
                    )
                    % {"year": earliest.year},
                )
        elif years is not None or months is not None:
            total = (years or 0) * 12 + (months or 0)
            if total > most_years * 12:
                self.add_error(
                    "age_years",
                    _(
                        "An age over %(years)s years is not possible here: check it, or call the "
                        "clinic."
                    )
                    % {"years": most_years},
                )
            else:
                data["birth_date"] = _months_before(today, total)
                data["birth_date_estimated"] = True
        elif "age_years" not in self.errors and "age_months" not in self.errors:
            self.add_error(
                "birth_date",
                _("Give the birth date or, if you do not know it, an approximate age."),
            )
        if self.person:
            data["species"] = Species.HUMAN
            if not data.get("name") and "name" not in self.errors:
                own_name = str(self.client).strip() if self.client is not None else ""
                if data.get("who") == "self" and own_name:
                    data["name"] = own_name
                else:
                    self.add_error("name", _("Give the name."))
        return data


IDENTIFICATION_TAKEN = _(
    "This identification number is already registered for another animal: call the clinic."
)


def _initial_from(patient: Patient) -> dict:
    initial = {
        "name": patient.name,
        "species": patient.species,
        "breed": patient.breed,
        "sex": patient.sex,
        "neutered": patient.neutered,
        "microchip": patient.microchip,
    }
    if patient.birth_date_estimated and patient.birth_date:
        years, months = divmod(age_in_months(patient.birth_date, clinic_today()), 12)
        initial.update(age_years=years, age_months=months)
    else:
        initial["birth_date"] = patient.birth_date
    return initial


class OwnerPhotoForm(PhotoChecks, forms.Form):
    """Once the clinic has confirmed an animal, its owner may still change its photo (a picture
    is theirs and says nothing the clinic vouches for); the rest goes through a correction."""

    photo = _photo_field()

    def __init__(self, *args, patient: Patient, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if patient.photo:
            self.initial["photo"] = _CurrentPhoto(patient)


class ConfirmPatientForm(forms.Form):
    """Staff confirm a declared patient at the first visit, correcting the birth date if need be."""

    prefix = "confirm"  # several forms share the patient page: ids must stay unique
    birth_date = forms.DateField(label=_("Birth date"), required=False, widget=IsoDateInput())

    def clean_birth_date(self) -> date | None:
        born = _not_in_future(self.cleaned_data.get("birth_date"))
        if born is not None and born < date(1900, 1, 1):
            raise forms.ValidationError(_("Check the year."))
        return born


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
