"""What each message says: default wording per kind and channel, a clinic's own, and rendering.

Defaults are English source strings in gettext, so they read in French from the catalogue; a
manager may override any of them per language (MessageTemplate). Text messages are rendered
from a context that simply has no medical fields (no patient, no service, no kind of care): a
clinic's own template cannot leak them, whatever it says. Every text message starts with the
clinic's sender name; it is added when a template forgets it.
"""

import logging
from dataclasses import dataclass

from django.template import Context, Template, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifications.models import Channel, Kind, MessageTemplate

log = logging.getLogger(__name__)

# Fields that may name a patient or hint at care: e-mails only, never a text message.
MEDICAL_FIELDS = frozenset({"patient_name", "service_name", "care_kind", "item", "reason"})


@dataclass(frozen=True)
class Wording:
    subject: object  # lazy string
    body: object


DEFAULTS: dict[tuple[str, str], Wording] = {
    (Kind.APPOINTMENT_CONFIRMED, Channel.EMAIL): Wording(
        _("Your appointment on {{ date }} at {{ time }} is booked"),
        _(
            "Hello {{ first_name }},\n\n"
            "The appointment for {{ patient_name }} ({{ service_name }}) is booked on {{ date }} "
            "at {{ time }}{% if practitioner_name %} with {{ practitioner_name }}{% endif %}, "
            "at {{ site_name }}{% if site_address %}, {{ site_address }}{% endif %}.\n\n"
            "The invitation is attached: add it to your calendar.\n"
            "{% if move_url %}To move it: {{ move_url }}\n{% endif %}"
            "{% if cancel_url %}To cancel it: {{ cancel_url }}\n{% endif %}\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.APPOINTMENT_CONFIRMED, Channel.SMS): Wording(
        "",
        _("{{ sender }}: your appointment on {{ date }} at {{ time }} is booked."),
    ),
    (Kind.APPOINTMENT_REMINDER, Channel.EMAIL): Wording(
        _("Please confirm your appointment on {{ date }} at {{ time }}"),
        _(
            "Hello {{ first_name }},\n\n"
            "We are expecting {{ patient_name }} on {{ date }} at {{ time }}"
            "{% if practitioner_name %} with {{ practitioner_name }}{% endif %}, "
            "at {{ site_name }}.\n\n"
            "Please tell us if you are coming:\n"
            "Confirm: {{ confirm_url }}\n"
            "{% if move_url %}Move: {{ move_url }}\n{% endif %}"
            "Cancel: {{ cancel_url }}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.APPOINTMENT_REMINDER, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: reminder, your appointment on {{ date }} at {{ time }}. "
            "Confirm or cancel: {{ confirm_url }}"
        ),
    ),
    (Kind.APPOINTMENT_MOVED, Channel.EMAIL): Wording(
        _("Your appointment has moved to {{ date }} at {{ time }}"),
        _(
            "Hello {{ first_name }},\n\n"
            "The appointment for {{ patient_name }} ({{ service_name }}) is now on {{ date }} at "
            "{{ time }}{% if practitioner_name %} with {{ practitioner_name }}{% endif %}, "
            "at {{ site_name }}.\n\n"
            "The updated invitation is attached.\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.APPOINTMENT_MOVED, Channel.SMS): Wording(
        "",
        _("{{ sender }}: your appointment has moved to {{ date }} at {{ time }}."),
    ),
    (Kind.APPOINTMENT_CANCELLED, Channel.EMAIL): Wording(
        _("Your appointment on {{ date }} at {{ time }} is cancelled"),
        _(
            "Hello {{ first_name }},\n\n"
            "{% if by_clinic %}We are sorry: the clinic had to cancel the appointment for "
            "{{ patient_name }} on {{ date }} at {{ time }}. Please book another time: "
            "{{ base_url }}{% else %}Your cancellation of the appointment for {{ patient_name }} "
            "on {{ date }} at {{ time }} is recorded.{% endif %}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.APPOINTMENT_CANCELLED, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: {% if by_clinic %}we are sorry, the clinic had to cancel "
            "your appointment on {{ date }} at {{ time }}.{% else %}your appointment on "
            "{{ date }} at {{ time }} is cancelled.{% endif %}"
        ),
    ),
    (Kind.CARE_REMINDER, Channel.EMAIL): Wording(
        _("{{ patient_name }}: {{ care_kind }} due on {{ due_date }}"),
        _(
            "Hello {{ first_name }},\n\n"
            "{{ patient_name }}'s {{ care_kind }} is due on {{ due_date }}.\n"
            "{% if renew_url %}Ask for the renewal (one tap): {{ renew_url }}"
            "{% else %}Book an appointment: {{ booking_url }}{% endif %}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.CARE_REMINDER, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: a care reminder is waiting in your space. "
            "{% if renew_url %}Renew: {{ renew_url }}{% else %}Book: {{ booking_url }}{% endif %}"
        ),
    ),
    # Orders: the text message names neither the item nor the animal (MEDICAL_FIELDS).
    (Kind.ORDER_READY, Channel.EMAIL): Wording(
        _("Your order is ready for pick-up until {{ until }}"),
        _(
            "Hello {{ first_name }},\n\n"
            "Your request for {{ patient_name }} ({{ item }}) is ready. You can pick it up at "
            "{{ site_name }}{% if site_address %}, {{ site_address }}{% endif %}, "
            "until {{ until }}.\n"
            "Your request: {{ order_url }}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.ORDER_READY, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: your order is ready at {{ site_name }}"
            "{% if site_address %}, {{ site_address }}{% endif %}, until {{ until }}."
        ),
    ),
    (Kind.ORDER_WAITING, Channel.EMAIL): Wording(
        _("Your order is still waiting for you until {{ until }}"),
        _(
            "Hello {{ first_name }},\n\n"
            "Your request for {{ patient_name }} ({{ item }}) is still waiting for you at "
            "{{ site_name }}, until {{ until }}. If you can no longer come, please tell us.\n"
            "Your request: {{ order_url }}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.ORDER_WAITING, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: your order is still waiting for you at {{ site_name }}, "
            "until {{ until }}."
        ),
    ),
    (Kind.ORDER_UPDATE, Channel.EMAIL): Wording(
        _(
            "{% if consultation %}Your request needs a consultation"
            "{% else %}Your request could not be accepted{% endif %}"
        ),
        _(
            "Hello {{ first_name }},\n\n"
            "{% if consultation %}Before {{ item }} can be given again for {{ patient_name }}, "
            "the vet needs to see {{ patient_name }}."
            "{% if booking_url %}\nBook a consultation: {{ booking_url }}{% endif %}"
            "{% else %}Your request for {{ patient_name }} ({{ item }}) could not be accepted."
            "{% endif %}"
            "{% if reason %}\nThe clinic's words: {{ reason }}{% endif %}\n"
            "Your request: {{ order_url }}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.ORDER_UPDATE, Channel.SMS): Wording(
        "",
        _("{{ sender }}: there is news about your request in your space: {{ order_url }}"),
    ),
    # `count` is more than 1 when several notices were merged into one (services.MERGE_WINDOW).
    (Kind.DOCUMENT_AVAILABLE, Channel.EMAIL): Wording(
        _(
            "{% if count > 1 %}{{ count }} new documents are available in your space"
            "{% else %}A new document is available in your space{% endif %}"
        ),
        _(
            "Hello {{ first_name }},\n\n"
            "{% if count > 1 %}{{ count }} new documents are available in your space"
            "{% else %}A new document is available in your space{% endif %}: {{ base_url }}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.DOCUMENT_AVAILABLE, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: {% if count > 1 %}{{ count }} documents are{% else %}a document is"
            "{% endif %} waiting in your space: {{ base_url }}"
        ),
    ),
    (Kind.NEW_MESSAGE, Channel.EMAIL): Wording(
        _(
            "{% if count > 1 %}You have {{ count }} new messages from the clinic"
            "{% else %}You have a new message from the clinic{% endif %}"
        ),
        _(
            "Hello {{ first_name }},\n\n"
            "{% if count > 1 %}You have {{ count }} new messages from the clinic"
            "{% else %}You have a new message from the clinic{% endif %}. "
            "Read {% if count > 1 %}them{% else %}it{% endif %} in your space: {{ base_url }}\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.NEW_MESSAGE, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: {% if count > 1 %}{{ count }} messages are{% else %}a message is"
            "{% endif %} waiting in your space: {{ base_url }}"
        ),
    ),
    (Kind.WAITLIST_OFFER, Channel.EMAIL): Wording(
        _("A slot just opened {{ day }} at {{ time }}"),
        _(
            "Hello {{ first_name }},\n\n"
            "A slot just opened {{ day }} at {{ time }}"
            "{% if practitioner_name %} with {{ practitioner_name }}{% endif %}: take it?\n"
            "{{ claim_url }}\n\n"
            "First come, first served; the offer ends on {{ expires }}.\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.WAITLIST_OFFER, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: a slot just opened {{ day }} at {{ time }}"
            "{% if practitioner_name %} with {{ practitioner_name }}{% endif %}. "
            "Take it: {{ claim_url }}"
        ),
    ),
    # A one-time code (notifications.codes). Not in VARIABLES: the clinic does not reword it.
    (Kind.VERIFICATION_CODE, Channel.EMAIL): Wording(
        _("Your code: {{ code }}"),
        _(
            "Hello{% if first_name %} {{ first_name }}{% endif %},\n\n"
            "Your code is {{ code }}. It expires in 10 minutes. Never give it to anyone: "
            "the clinic will never ask you for it.\n\n"
            "If you did not ask for it, ignore this e-mail.\n\n"
            "{{ clinic }}"
        ),
    ),
    (Kind.VERIFICATION_CODE, Channel.SMS): Wording(
        "",
        _(
            "{{ sender }}: your code is {{ code }}. It expires in 10 minutes. "
            "Never give it to anyone."
        ),
    ),
}

# What a manager may write in each kind's template (shown in the editor).
VARIABLES: dict[str, list[str]] = {
    Kind.APPOINTMENT_CONFIRMED: [
        "first_name", "patient_name", "service_name", "practitioner_name", "date", "time",
        "site_name", "site_address", "move_url", "cancel_url", "clinic", "sender",
    ],
    Kind.APPOINTMENT_REMINDER: [
        "first_name", "patient_name", "practitioner_name", "date", "time", "site_name",
        "confirm_url", "cancel_url", "move_url", "clinic", "sender",
    ],
    Kind.APPOINTMENT_MOVED: [
        "first_name", "patient_name", "service_name", "practitioner_name", "date", "time",
        "site_name", "clinic", "sender",
    ],
    Kind.APPOINTMENT_CANCELLED: [
        "first_name", "patient_name", "date", "time", "by_clinic", "base_url", "clinic", "sender",
    ],
    Kind.CARE_REMINDER: [
        "first_name", "patient_name", "care_kind", "due_date", "booking_url", "renew_url",
        "clinic", "sender",
    ],
    Kind.DOCUMENT_AVAILABLE: ["first_name", "count", "base_url", "clinic", "sender"],
    Kind.NEW_MESSAGE: ["first_name", "count", "base_url", "clinic", "sender"],
    Kind.WAITLIST_OFFER: [
        "first_name", "day", "time", "practitioner_name", "claim_url", "expires", "clinic",
        "sender",
    ],
    Kind.ORDER_READY: [
        "first_name", "patient_name", "item", "site_name", "site_address", "until",
        "order_url", "clinic", "sender",
    ],
    Kind.ORDER_WAITING: [
        "first_name", "patient_name", "item", "site_name", "until", "order_url", "clinic",
        "sender",
    ],
    Kind.ORDER_UPDATE: [
        "first_name", "patient_name", "item", "consultation", "reason", "booking_url",
        "order_url", "clinic", "sender",
    ],
}  # fmt: skip

TEMPLATED_KINDS = list(VARIABLES)


def default_wording(kind: str, channel: str, language: str) -> tuple[str, str]:
    wording = DEFAULTS[(kind, channel)]
    with translation.override(language):
        return str(wording.subject), str(wording.body)


def wording_for(kind: str, channel: str, language: str) -> tuple[str, str]:
    """The clinic's own wording if a manager wrote one, else the default."""
    own = (
        MessageTemplate.objects.filter(kind=kind, channel=channel, language=language)
        .only("subject", "body")
        .first()
    )
    if own is not None:
        return own.subject, own.body
    return default_wording(kind, channel, language)


def render_string(source: str, context: dict[str, object]) -> str:
    template = Template("{% autoescape off %}" + source + "{% endautoescape %}")
    return template.render(Context(context)).strip()


def check_template(source: str) -> str:
    """ "" when `source` compiles, else the error to show under the field."""
    try:
        Template(source)
    except TemplateSyntaxError as error:
        return str(error)
    return ""


def sms_context(context: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in context.items() if key not in MEDICAL_FIELDS}


def with_sender(body: str, sender: str) -> str:
    return body if body.startswith(sender) else f"{sender}: {body}"


def render(kind: str, channel: str, language: str, context: dict[str, object]) -> tuple[str, str]:
    """(subject, body) for one message; a broken clinic template falls back to the default."""
    if channel == Channel.SMS:
        context = sms_context(context)
    subject_source, body_source = wording_for(kind, channel, language)
    with translation.override(language):
        try:
            subject = render_string(subject_source, context)
            body = render_string(body_source, context)
        except Exception:
            log.exception("clinic template %s/%s/%s failed; default used", kind, channel, language)
            subject_source, body_source = default_wording(kind, channel, language)
            subject = render_string(subject_source, context)
            body = render_string(body_source, context)
    if channel == Channel.SMS:
        body = with_sender(" ".join(body.split()), str(context.get("sender", "")))
    return subject, body


def render_html(body: str, *, language: str, clinic: object, unsubscribe_url: str = "") -> str:
    """The HTML part: the clinic's logo (inline, cid:clinic-logo) and name as the heading, the
    text with its links made clickable, and a footer with the clinic's phone and address."""
    from notifications.services import LOGO_CID, base_url

    with translation.override(language):
        return render_to_string(
            "notifications/email.html",
            {
                "body": body,
                "clinic": clinic,
                "logo_cid": LOGO_CID if getattr(clinic, "logo", None) else "",
                "base_url": base_url(),
                "language": language,
                "unsubscribe_url": unsubscribe_url,
            },
        )
