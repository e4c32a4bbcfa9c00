"""`make run` as a newcomer meets it: links on the address it serves, no font-library chatter."""

import logging
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["fontTools", "fontTools.subset", "fontTools.ttLib", "weasyprint"])
def test_it_keeps_the_pdf_font_libraries_quiet_below_warnings(name):
    # Rendering a report (seed_demo renders some) logged ~128 INFO lines around the demo logins.
    logger = logging.getLogger(name)

    assert not logger.isEnabledFor(logging.INFO)
    assert logger.isEnabledFor(logging.WARNING)


def _dry_run(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["make", "-n", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    ).stdout


def test_make_run_gives_the_served_address_as_the_base_url_for_links():
    commands = _dry_run("HOST=127.0.0.1", "PORT=8123")

    assert 'ACCUEIL_BASE_URL="${ACCUEIL_BASE_URL:-http://127.0.0.1:8123}"' in commands
    assert "PORT=8123 bin/serve" in commands


def test_bin_serve_keeps_a_base_url_set_by_the_environment():
    script = (ROOT / "bin" / "serve").read_text()

    assert "export ACCUEIL_BASE_URL=${ACCUEIL_BASE_URL:-http://$HOST:$PORT}" in script
