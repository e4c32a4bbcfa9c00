"""The access log's hash chain and retention (issue 11): filled in by the audit work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_duties")]

    operations = []
