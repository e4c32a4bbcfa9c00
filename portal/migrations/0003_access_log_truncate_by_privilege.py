"""TRUNCATE of the access log is left to database privileges, not to a trigger.

Row-level triggers (0002) still refuse every UPDATE and DELETE, which is what guards against
application bugs and injected SQL. TRUNCATE is a table owner's operation: whoever may run it may
also drop a trigger, so the trigger gave no real protection, while it made Django's own test
teardown (which truncates) fail. Production runs the portal as a role without TRUNCATE on
portal_accesslog (see docs/architecture.md).
"""

from django.db import migrations

DROP = "DROP TRIGGER IF EXISTS portal_accesslog_no_truncate ON portal_accesslog;"
RESTORE = """CREATE TRIGGER portal_accesslog_no_truncate BEFORE TRUNCATE ON portal_accesslog
       FOR EACH STATEMENT EXECUTE FUNCTION portal_accesslog_append_only();"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESTORE)


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_access_log_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
