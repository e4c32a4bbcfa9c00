"""Grants the portal's runtime role what it needs, and not the power to rewrite the access log.

Production runs migrations as the role that owns the tables and serves requests as another
(README, "Production"): that one may read and write every table, but on the access log only
SELECT and INSERT — no UPDATE, DELETE or TRUNCATE, and as a non-owner it can neither drop the
append-only triggers nor alter the table. It may EXECUTE accueil_purge_access_log(), which
removes lines past the retention period and never one younger than 30 days. Run after every
`migrate`, as the owner:

    DATABASE_URL=$MIGRATE_DATABASE_URL manage.py grant_app_role accueil_app

Idempotent. PostgreSQL only: SQLite has no roles (README says what that leaves unprotected).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql

ACCESS_LOG = "portal_accesslog"
PURGE = "accueil_purge_access_log"


class Command(BaseCommand):
    help = "Grant the runtime role its privileges (append-only on the access log)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("role", help="the role the portal connects as (DATABASE_URL's user)")

    def handle(self, *, role: str, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Roles exist on PostgreSQL only; nothing to do on SQLite.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"No role {role!r}: create it first (CREATE ROLE … LOGIN).")
            cursor.execute("SELECT current_user")
            if cursor.fetchone()[0] == role:
                raise CommandError(
                    "Run this as the role that owns the tables (the migrations' role), not as "
                    f"{role!r} itself."
                )
            name = sql.Identifier(role)
            for statement in (
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
                sql.SQL(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
                ).format(name),
                sql.SQL(
                    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}"
                ).format(name),
                sql.SQL(
                    "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}"
                ).format(sql.Identifier(ACCESS_LOG), name),
                # Retention: the one way to remove lines, past the 30-day floor only
                # (portal/migrations/0006_access_log_chain.py).
                sql.SQL("GRANT EXECUTE ON FUNCTION {}(timestamptz) TO {}").format(
                    sql.Identifier(PURGE), name
                ),
            ):
                cursor.execute(statement.as_string(cursor.connection))
        self.stdout.write(
            f"{role}: read and write on every table; on {ACCESS_LOG} only SELECT and INSERT, "
            f"and the retention purge through {PURGE}()."
        )
