"""Separation of duties (issue 11): filled in by the duties work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_worker_heartbeat")]

    operations = []
