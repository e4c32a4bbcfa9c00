"""File modes for the instance's own files: var/ and the SQLite database are the account's alone.

var/ holds the SQLite database, the secrets generated for `make run`, the encrypted media and the
development mail and text-message files: another account on the machine must not list or read
it. Everything is created private; existing paths are tightened at start-up, so a checkout made
before this rule is fixed by the next `make run`.
"""

import os
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
# Group or others may list or create entries: never wanted. A traverse-only grant (0711, or an
# ACL giving nginx's account "x" so it reaches var/static) is a deliberate choice and is kept.
_LIST_OR_WRITE = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) 0700, or tighten it to 0700 if others can list it.

    A directory owned by another account is left alone (chmod would fail): whoever set it up
    chose its mode.
    """
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & _LIST_OR_WRITE:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Make an existing file of ours 0600 (a missing one is not an error: it may come later)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) != PRIVATE_FILE_MODE:
        path.chmod(PRIVATE_FILE_MODE)
