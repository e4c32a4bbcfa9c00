"""Calendar feeds (issue 11): who made them, whether events name the animal, and expiry."""

import booking.models
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("booking", "0004_patient_no_overlap"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="calendarfeed",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="calendarfeed",
            name="expires_at",
            field=models.DateTimeField(default=booking.models._feed_expiry),
        ),
        migrations.AddField(
            model_name="calendarfeed",
            name="include_names",
            field=models.BooleanField(default=False, verbose_name="include animal names"),
        ),
    ]
