from pathlib import Path

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


def _private_sqlite_files(sender, connection, **kwargs) -> None:
    """The SQLite database (and its WAL and shared-memory files) readable by this account only.

    SQLite creates the file with the process's umask (often 0644) on the first connection; var/
    is already 0700 (settings), and this narrows the file itself, so a copy of var/ or a later
    change of the directory's mode does not expose it. SQLite gives the -wal and -shm files the
    database file's mode.
    """
    if connection.vendor != "sqlite":
        return
    name = str(connection.settings_dict["NAME"])
    if connection.is_in_memory_db() or name in _made_private:
        return
    from portal.lib.fs import private_file

    for suffix in ("", "-wal", "-shm"):
        private_file(Path(name + suffix))
    _made_private.add(name)


_made_private: set[str] = set()


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        connection_created.connect(_private_sqlite_files, dispatch_uid="portal.private_sqlite")

        from portal.lib import converters

        # Before any URLconf (HTTP or websocket routes) is read: every app's URLs use `<id:…>`.
        converters.register()

        from portal import sessions

        sessions.connect_signals()  # a password change ends the account's other sessions

    def dashboard_panels(self, request: HttpRequest, *, staff: bool) -> list:
        from portal.dashboard import Panel

        if staff:
            return [Panel("portal/panels/staff_shortcuts.html", order=90)]
        return [Panel("portal/panels/client_contact.html", order=90)]

    def seed_demo(self, demo) -> None:
        from portal.seed import seed_portal

        seed_portal(demo)
