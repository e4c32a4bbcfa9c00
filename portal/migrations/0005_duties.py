"""Separation of duties (issue 11): what each staff role may change, set by the manager."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_worker_heartbeat")]

    operations = [
        migrations.CreateModel(
            name="Duties",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "role",
                    models.CharField(
                        choices=[
                            ("reception", "Reception"),
                            ("vet", "Veterinarian"),
                            ("manager", "Manager"),
                        ],
                        max_length=16,
                        unique=True,
                        verbose_name="role",
                    ),
                ),
                ("duties", models.JSONField(default=list, verbose_name="duties")),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "duties of a role",
                "verbose_name_plural": "duties of the roles",
            },
        ),
    ]
