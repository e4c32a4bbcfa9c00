"""A migrated database for the races and benchmarks, quicker when the test run has one ready.

`make test` builds the schema once a run (tests/schema_template.py) and names it in the
environment: ACCUEIL_TEST_SCHEMA_TEMPLATE, a SQLite file, and ACCUEIL_TEST_PG_TEMPLATE, a
PostgreSQL database. A race a test starts then copies it instead of running every migration
again (about five seconds of CPU each). `migrate` still runs afterwards, so a stale template is
brought up to date, and, run by hand without those variables, everything migrates as before.
"""

import os
import sqlite3
from contextlib import closing


def migrate() -> None:
    """Migrates Django's default database (after django.setup()), from the SQLite template when
    the database is an empty SQLite file and the test run has one."""
    from django.core.management import call_command
    from django.db import connection

    template = os.environ.get("ACCUEIL_TEST_SCHEMA_TEMPLATE", "")
    if (
        connection.vendor == "sqlite"
        and not connection.is_in_memory_db()
        and os.path.isfile(template)
        and not connection.introspection.table_names()
    ):
        connection.ensure_connection()
        with closing(sqlite3.connect(f"file:{template}?mode=ro", uri=True)) as source:
            source.backup(connection.connection)
        connection.close()  # the next connection's init_command puts the file in WAL mode again
    call_command("migrate", verbosity=0, interactive=False)


def create_database_sql(name: str) -> str:
    """CREATE DATABASE for a fresh PostgreSQL database: a copy of the test run's migrated
    template when there is one (then `migrate` has nothing left to do)."""
    template = os.environ.get("ACCUEIL_TEST_PG_TEMPLATE", "")
    if template:
        return f'CREATE DATABASE "{name}" TEMPLATE "{template}"'
    return f'CREATE DATABASE "{name}"'
