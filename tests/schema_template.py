"""For `make test` (bin/test-all loads it with `-p tests.schema_template`): each worker of each
SQLite pass copies its in-memory test database from one the migrations built once in the run,
instead of running all of them again (about seven seconds of CPU each, eight times a run).

ACCUEIL_TEST_SCHEMA_TEMPLATE names the file, which bin/test-all makes anew for every run (so it
holds this checkout's migrations, never an older run's). The first worker that needs it creates
its database as Django does (the migrations, then the post-migrate rows: content types and
permissions) and saves a copy; the others, in this pass and the next, wait for it and copy it
page by page (SQLite's backup API: tables, indexes, triggers, the rows, all of it).

On PostgreSQL the same: the first worker migrates a template database (the test database's name
with "_template" for the worker's suffix, made anew every run), the others wait for it, and each
worker's database is `CREATE DATABASE ... TEMPLATE` of it. ACCUEIL_TEST_PG_TEMPLATE then names it
for the races the tests start (bench/migrated.py). Anything else (a SQLite file, keepdb, no
variable) goes Django's way.
"""

import fcntl
import os
from pathlib import Path

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    path = os.environ.get("ACCUEIL_TEST_SCHEMA_TEMPLATE")
    if not path:
        return
    from django.conf import settings
    from django.db.backends.base.creation import BaseDatabaseCreation
    from django.db.backends.sqlite3.creation import DatabaseCreation

    migrate = DatabaseCreation.create_test_db
    template = Path(path)

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=None, keepdb=False):
        name = self._get_test_db_name()
        if self.connection.vendor == "postgresql" and not keepdb and serialize is None:
            return _from_postgres_template(self, migrate, name, template, verbosity)
        if keepdb or serialize is not None or not self.is_in_memory_db(name):
            return migrate(self, verbosity, autoclobber, serialize, keepdb)
        with open(f"{template}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if not template.exists():
                name = migrate(self, verbosity, autoclobber, serialize, keepdb)
                partial = template.with_name(f"{template.name}.partial")
                copy = _sqlite_connect(str(partial))
                try:
                    self.connection.connection.backup(copy)
                finally:
                    copy.close()
                partial.rename(template)  # whole or absent
                return name
        if verbosity >= 1:
            self.log(f"Copying test database for alias {self.connection.alias!r}...")
        self._create_test_db(verbosity, autoclobber, keepdb)
        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        self.connection.ensure_connection()
        source = _sqlite_connect(f"file:{template}?mode=ro", uri=True)
        try:
            source.backup(self.connection.connection)
        finally:
            source.close()
        return name

    DatabaseCreation.create_test_db = create_test_db
    BaseDatabaseCreation.create_test_db = create_test_db


def _from_postgres_template(creation, migrate, name: str, template: Path, verbosity: int) -> str:
    from django.conf import settings

    connection = creation.connection
    source = f"{name.rsplit('_gw', 1)[0]}_template"
    made = Path(f"{template}.postgres")
    with open(f"{template}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not made.exists():
            test_settings = connection.settings_dict["TEST"]
            saved = test_settings.get("NAME")
            test_settings["NAME"] = source
            try:
                migrate(creation, verbosity, True, None, False)  # drops an earlier run's
            finally:
                test_settings["NAME"] = saved
            made.write_text(source)
        connection.close()  # no session may use a template while it is copied
        if verbosity >= 1:
            creation.log(f"Copying test database for alias {connection.alias!r} from {source}...")
        with creation._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    settings.DATABASES[connection.alias]["NAME"] = name
    connection.settings_dict["NAME"] = name
    connection.ensure_connection()
    os.environ["ACCUEIL_TEST_PG_TEMPLATE"] = source
    return name


def _sqlite_connect(target: str, **options):
    import sqlite3

    return sqlite3.connect(target, **options)
