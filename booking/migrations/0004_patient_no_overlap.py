"""No animal in two active appointments at once, whoever they are with.

PostgreSQL only, like 0002: an exclusion constraint over the patient and the half-open range
``[starts_at, ends_at)`` (the buffer is the practitioner's clean-up time, not the animal's), so
two guardians booking the same animal with two vets at the same moment cannot both win. SQLite
has no such constraint; there booking.services re-checks inside its BEGIN IMMEDIATE transaction.

Existing overlapping rows would make the ALTER fail: the migration says which ones, so that the
clinic can cancel one of each pair, instead of a bare constraint error.
"""

from django.db import migrations

CHECK = """
    SELECT a.id, b.id FROM booking_appointment a JOIN booking_appointment b
    ON a.patient_id = b.patient_id AND a.id < b.id
    AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
    WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
    LIMIT 20
"""
CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    ALTER TABLE booking_appointment ADD CONSTRAINT booking_appt_patient_no_overlap
    EXCLUDE USING gist (
        patient_id WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status <> 'cancelled')
    """,
]
DROP = "ALTER TABLE booking_appointment DROP CONSTRAINT IF EXISTS booking_appt_patient_no_overlap"


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(CHECK)
        pairs = cursor.fetchall()
    if pairs:
        raise RuntimeError(
            "These active appointments book the same animal at overlapping times; cancel one "
            f"of each pair, then migrate again: {pairs}"
        )
    for statement in CREATE:
        schema_editor.execute(statement)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("booking", "0003_team_absence_rights")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
