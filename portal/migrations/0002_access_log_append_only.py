"""The access log refuses UPDATE and DELETE in the database itself.

The model already refuses them; the triggers make the trace hold against raw SQL, a bulk
QuerySet call or a future bug too. Each vendor gets its own dialect.
"""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER portal_accesslog_no_update BEFORE UPDATE ON portal_accesslog
       BEGIN SELECT RAISE(ABORT, 'portal_accesslog is append-only'); END;""",
    """CREATE TRIGGER portal_accesslog_no_delete BEFORE DELETE ON portal_accesslog
       BEGIN SELECT RAISE(ABORT, 'portal_accesslog is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS portal_accesslog_no_update;",
    "DROP TRIGGER IF EXISTS portal_accesslog_no_delete;",
]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION portal_accesslog_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'portal_accesslog is append-only'; END;
       $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER portal_accesslog_no_change BEFORE UPDATE OR DELETE ON portal_accesslog
       FOR EACH ROW EXECUTE FUNCTION portal_accesslog_append_only();""",
    """CREATE TRIGGER portal_accesslog_no_truncate BEFORE TRUNCATE ON portal_accesslog
       FOR EACH STATEMENT EXECUTE FUNCTION portal_accesslog_append_only();""",
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS portal_accesslog_no_change ON portal_accesslog;",
    "DROP TRIGGER IF EXISTS portal_accesslog_no_truncate ON portal_accesslog;",
    "DROP FUNCTION IF EXISTS portal_accesslog_append_only();",
]


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}.get(
        schema_editor.connection.vendor, []
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
