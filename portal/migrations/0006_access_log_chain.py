"""The access log's hash chain and retention (issue 11).

- Two columns, `prev_hash` and `row_hash`, filled for the lines already there, oldest first (the
  append-only triggers are lifted for that one UPDATE and put back).
- The delete triggers now let the retention purge remove lines older than 30 days, and nothing
  younger. PostgreSQL: only inside accueil_purge_access_log(), a SECURITY DEFINER function owned
  by the table's owner (the app's role has no DELETE on the table; grant_app_role gives it
  EXECUTE on this function alone). SQLite has no roles: any DELETE of lines older than 30 days
  passes the trigger (docs/security.md ("The access log") says what that leaves open).
- SQLite rebuilds the table to add a NOT NULL column, which drops its triggers: they are created
  again here in any case.
"""

from django.db import migrations, models

SQLITE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS portal_accesslog_no_update;",
    "DROP TRIGGER IF EXISTS portal_accesslog_no_delete;",
    """CREATE TRIGGER portal_accesslog_no_update BEFORE UPDATE ON portal_accesslog
       BEGIN SELECT RAISE(ABORT, 'portal_accesslog is append-only'); END;""",
    # Django stores `at` as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC, which compares as text with
    # SQLite's own datetime().
    """CREATE TRIGGER portal_accesslog_no_delete BEFORE DELETE ON portal_accesslog
       WHEN OLD.at >= datetime('now', '-30 days')
       BEGIN SELECT RAISE(ABORT, 'portal_accesslog is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS portal_accesslog_no_update;",
    "DROP TRIGGER IF EXISTS portal_accesslog_no_delete;",
    """CREATE TRIGGER portal_accesslog_no_update BEFORE UPDATE ON portal_accesslog
       BEGIN SELECT RAISE(ABORT, 'portal_accesslog is append-only'); END;""",
    """CREATE TRIGGER portal_accesslog_no_delete BEFORE DELETE ON portal_accesslog
       BEGIN SELECT RAISE(ABORT, 'portal_accesslog is append-only'); END;""",
]

POSTGRES = [
    # A delete passes only inside the purge function (which sets accueil.purging for its own
    # transaction) and only for lines past the 30-day floor. Another role could set the same
    # variable, but without DELETE on the table it gets no further.
    """CREATE OR REPLACE FUNCTION portal_accesslog_append_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' AND current_setting('accueil.purging', true) = 'on'
            AND OLD.at < now() - interval '30 days' THEN
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'portal_accesslog is append-only';
       END;
       $$ LANGUAGE plpgsql;""",
    """CREATE OR REPLACE FUNCTION accueil_purge_access_log(cutoff timestamptz) RETURNS bigint
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
       DECLARE
         floor_at timestamptz := least(cutoff, now() - interval '30 days');
         first_kept bigint;
         removed bigint;
       BEGIN
         -- Only a prefix of the chain: up to the first line that stays.
         SELECT min(id) INTO first_kept FROM portal_accesslog WHERE at >= floor_at;
         PERFORM set_config('accueil.purging', 'on', true);
         DELETE FROM portal_accesslog
          WHERE at < floor_at AND (first_kept IS NULL OR id < first_kept);
         GET DIAGNOSTICS removed = ROW_COUNT;
         PERFORM set_config('accueil.purging', 'off', true);
         RETURN removed;
       END;
       $$;""",
    "REVOKE ALL ON FUNCTION accueil_purge_access_log(timestamptz) FROM PUBLIC;",
]
POSTGRES_REVERSE = [
    "DROP FUNCTION IF EXISTS accueil_purge_access_log(timestamptz);",
    """CREATE OR REPLACE FUNCTION portal_accesslog_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'portal_accesslog is append-only'; END;
       $$ LANGUAGE plpgsql;""",
]

LIFT = {
    "sqlite": ["DROP TRIGGER IF EXISTS portal_accesslog_no_update;"],
    "postgresql": ["ALTER TABLE portal_accesslog DISABLE TRIGGER portal_accesslog_no_change;"],
}
RESTORE = {
    "sqlite": [],  # SQLITE_TRIGGERS follows
    "postgresql": ["ALTER TABLE portal_accesslog ENABLE TRIGGER portal_accesslog_no_change;"],
}


def chain_existing_lines(apps, schema_editor):
    from portal.lib.access_log import FIELDS, row_hash

    vendor = schema_editor.connection.vendor
    AccessLog = apps.get_model("portal", "AccessLog")
    rows = AccessLog.objects.order_by("pk").values("pk", *FIELDS)
    for statement in LIFT.get(vendor, []):
        schema_editor.execute(statement)
    previous = ""
    with schema_editor.connection.cursor() as cursor:
        for row in rows.iterator(chunk_size=2000):
            current = row_hash(row, previous)
            cursor.execute(
                "UPDATE portal_accesslog SET prev_hash = %s, row_hash = %s WHERE id = %s",
                [previous, current, row["pk"]],
            )
            previous = current
    for statement in RESTORE.get(vendor, []):
        schema_editor.execute(statement)


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRES}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_duties")]

    operations = [
        migrations.AddField(
            model_name="accesslog",
            name="prev_hash",
            field=models.CharField(
                blank=True, default="", db_default="", editable=False, max_length=64
            ),
        ),
        migrations.AddField(
            model_name="accesslog",
            name="row_hash",
            field=models.CharField(
                blank=True, default="", db_default="", editable=False, max_length=64
            ),
        ),
        migrations.RunPython(chain_existing_lines, migrations.RunPython.noop),
        migrations.RunPython(forwards, backwards),
    ]
