"""The embedded profile's e-mail: one short block per message in the terminal, the whole
message in var/mail/.

`make run` prints the demo logins and then sends the demo clinic's due reminders; printed whole
(headers, quoted-printable text, HTML twin) two dozen e-mails buried the logins under 1,600
lines. What a person running the portal on their machine needs from an e-mail is who it is for,
what it is about and its links (a sign-up's verification link above all): that is printed; the
full message, as a mail client would receive it, is kept in a file beside it.
"""

import re
import sys

from django.core.mail.backends.filebased import EmailBackend as FileBackend

_LINK = re.compile(r"https?://[^\s<>\"')]+")
MAX_LINKS = 3


class EmailBackend(FileBackend):
    def __init__(self, *args, **kwargs):
        self.terminal = kwargs.pop("terminal", None) or sys.stdout
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages) -> int:
        sent = super().send_messages(email_messages)
        for message in email_messages or []:
            self.terminal.write(self.summary(message))
        self.terminal.flush()
        return sent

    def summary(self, message) -> str:
        recipients = ", ".join(message.to)
        subject = " ".join(str(message.subject).split())
        lines = [f"E-mail to {recipients}: {subject}"]
        links = list(dict.fromkeys(_LINK.findall(str(message.body))))
        lines += [f"    {link}" for link in links[:MAX_LINKS]]
        if len(links) > MAX_LINKS:
            lines.append(f"    (+{len(links) - MAX_LINKS} more links)")
        lines.append(f"    whole message: {self._get_filename()}")
        return "\n".join(lines) + "\n"
