"""No two active appointments of one practitioner may overlap, buffers included.

PostgreSQL only: an exclusion constraint over the practitioner and the half-open time range,
with btree_gist for the equality part. SQLite has no such constraint; there every transaction
is BEGIN IMMEDIATE and booking.services re-checks inside it (see its module docstring).
Written as SQL so that 'django.contrib.postgres' need not be installed.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE booking_appointment ADD CONSTRAINT booking_appt_no_overlap
    EXCLUDE USING gist (
        practitioner_id WITH =,
        tstzrange(starts_at, blocks_until, '[)') WITH &&
    ) WHERE (status <> 'cancelled')
    """,
]
DROP = "ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS booking_appt_no_overlap"


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in CREATE:
        schema_editor.execute(statement)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("booking", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
