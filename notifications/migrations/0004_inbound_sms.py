import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

KINDS = [
    ("appointment_confirmed", "Appointment confirmed"),
    ("appointment_reminder", "Appointment reminder"),
    ("appointment_moved", "Appointment moved"),
    ("appointment_cancelled", "Appointment cancelled"),
    ("care_reminder", "Care reminder"),
    ("document_available", "New document"),
    ("new_message", "New message"),
    ("waitlist_offer", "Waiting-list offer"),
    ("campaign", "Campaign"),
    ("sms_answer", "Answer to a text message"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_claim_token_and_handover"),
        ("portal", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="InboundSms",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("provider", models.CharField(max_length=16, verbose_name="provider")),
                (
                    "provider_message_id",
                    models.CharField(max_length=120, verbose_name="provider id"),
                ),
                ("from_number", models.CharField(max_length=20, verbose_name="from")),
                ("text", models.TextField(max_length=1600, verbose_name="text")),
                (
                    "received_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="received at"
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("confirmed", "Appointment confirmed"),
                            ("already", "Already confirmed"),
                            ("cancelled", "Appointment cancelled"),
                            ("too_late", "Too late to cancel: told to call"),
                            ("gone", "Appointment moved or cancelled meanwhile"),
                            ("stop_marketing", "STOP: campaigns off"),
                            ("stop_all", "STOP again: no reminders at all"),
                            ("message", "Passed to the clinic as a message"),
                            ("unknown_number", "Unknown number: no answer"),
                            ("empty", "Nothing readable: no answer"),
                        ],
                        max_length=16,
                        verbose_name="outcome",
                    ),
                ),
                (
                    "answer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="notifications.notification",
                    ),
                ),
                (
                    "client",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inbound_sms",
                        to="portal.client",
                        verbose_name="client",
                    ),
                ),
                (
                    "notification",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="replies",
                        to="notifications.notification",
                    ),
                ),
            ],
            options={
                "verbose_name": "text message received",
                "ordering": ["-received_at", "-pk"],
                "indexes": [
                    models.Index(fields=["client", "-received_at"], name="notif_inbound_client")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("provider", "provider_message_id"), name="notif_inbound_once"
                    )
                ],
            },
        ),
        # Our answer to a reply is a kind of its own; a STOP by text message is journaled so.
        migrations.AlterField(
            model_name="messagetemplate",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=32, verbose_name="kind"),
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(choices=KINDS, max_length=32, verbose_name="kind"),
        ),
        migrations.AlterField(
            model_name="preferencechange",
            name="how",
            field=models.CharField(
                choices=[
                    ("client_page", "preferences page"),
                    ("staff", "by the clinic"),
                    ("unsubscribe_link", "unsubscribe link"),
                    ("sms_reply", "text message reply (STOP)"),
                    ("system", "automatic"),
                ],
                max_length=20,
            ),
        ),
    ]
