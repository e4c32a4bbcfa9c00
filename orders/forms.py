from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from orders import services
from orders.models import Product, Status
from portal.models import Site
from records.models import Patient, Species

QUANTITY = forms.IntegerField(
    label=_("Quantity"),
    min_value=1,
    max_value=20,
    initial=1,
    widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
)


class _RequestForm(forms.Form):
    """What every request shares: how many, a note, where to pick it up, a prescription."""

    quantity = QUANTITY
    note = forms.CharField(
        label=_("A note for the clinic (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    site = forms.ModelChoiceField(
        label=_("Pick up at"), queryset=Site.objects.none(), empty_label=None
    )
    prescription = forms.FileField(
        label=_("Prescription (optional): a photo or a PDF"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,.pdf"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        sites = Site.objects.filter(is_active=True)
        self.fields["site"].queryset = sites
        self.fields["site"].initial = sites.first()
        if len(sites) == 1:
            self.fields["site"].widget = forms.HiddenInput()

    def clean_prescription(self):
        upload = self.cleaned_data.get("prescription")
        if not upload:
            return None
        try:
            # Checked by its bytes and encrypted now: nothing reaches the disk in clear.
            return services.prepare_prescription(upload)
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class RenewalForm(_RequestForm):
    pass


class ProductOrderForm(_RequestForm):
    patient = forms.ModelChoiceField(label=_("For"), queryset=Patient.objects.none())
    product = forms.ModelChoiceField(label=_("Item"), queryset=Product.objects.none())
    field_order = ["patient", "product", "quantity", "prescription", "note", "site"]

    def __init__(self, *args, patients, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["patient"].queryset = patients
        if len(patients) == 1:
            self.fields["patient"].initial = patients[0]
        self.fields["product"].queryset = Product.objects.filter(active=True)
        self.fields["product"].label_from_instance = _product_choice

    def clean(self):
        data = super().clean()
        patient, product = data.get("patient"), data.get("product")
        if patient is None or product is None:
            return data
        if not product.suits(patient.species):
            self.add_error(
                "product",
                _("This item is not for %(species)s.")
                % {"species": patient.get_species_display().lower()},
            )
        elif (
            product.needs_prescription
            and not data.get("prescription")
            and "prescription" not in self.errors
            and not services.has_prescription_for(patient, product)
        ):
            self.add_error(
                "prescription",
                _(
                    "This item needs a prescription: attach it (photo or PDF). Without one, "
                    "book a consultation."
                ),
            )
        return data


def _product_choice(product: Product) -> str:
    text = str(product)
    if product.needs_prescription:
        text += " · " + str(_("prescription needed"))
    return text


class StepForm(forms.Form):
    to = forms.ChoiceField(choices=Status.choices)
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput())
    reason = forms.CharField(label=_("Reason, for the client"), max_length=300, required=False)


class ProductForm(forms.ModelForm):
    species = forms.MultipleChoiceField(
        label=_("For"),
        choices=Species.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every species."),
    )

    class Meta:
        model = Product
        fields = ["name", "pack", "price", "needs_prescription", "species", "active"]

    def clean_price(self):
        price = self.cleaned_data.get("price")
        if price is not None and price < 0:
            raise ValidationError(_("A price cannot be negative."))
        return price
