"""Roles whose duties the manager already saved get the new "orders" duty where they handle
appointments (reception's work at the desk); a role without a saved row takes the defaults."""

from django.db import migrations


def grant(apps, schema_editor):
    Duties = apps.get_model("portal", "Duties")
    for row in Duties.objects.all():
        if "appointments" in row.duties and "orders" not in row.duties:
            row.duties = sorted([*row.duties, "orders"])
            row.save(update_fields=["duties"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("portal", "0006_access_log_chain")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
