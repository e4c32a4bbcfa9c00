"""The embedded profile prints a few lines per e-mail, links included, and keeps the whole."""

import io

from django.core.mail import EmailMessage

from portal.lib.console_mail import EmailBackend


def test_it_prints_who_what_and_the_links_and_keeps_the_whole_message(tmp_path):
    terminal = io.StringIO()
    backend = EmailBackend(file_path=str(tmp_path), terminal=terminal)
    message = EmailMessage(
        subject="Clinique des Tilleuls — Confirmez votre adresse e-mail",
        body="Bonjour,\n\nConfirmez ici : http://127.0.0.1:8123/accounts/confirm-email/abc/\n"
        + "x\n" * 200,
        from_email="Clinique des Tilleuls <contact@example.com>",
        to=["camille.martin@example.com"],
    )

    assert backend.send_messages([message]) == 1

    printed = terminal.getvalue().splitlines()
    assert printed[0] == (
        "E-mail to camille.martin@example.com: "
        "Clinique des Tilleuls — Confirmez votre adresse e-mail"
    )
    assert printed[1] == "    http://127.0.0.1:8123/accounts/confirm-email/abc/"
    assert len(printed) == 3  # not the 200 lines of the body
    kept = list(tmp_path.iterdir())
    assert len(kept) == 1
    assert "x\nx\nx" in kept[0].read_text()
    assert printed[2] == f"    whole message: {kept[0]}"
