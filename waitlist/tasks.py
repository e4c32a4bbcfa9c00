"""The next wave of offers, run M minutes after the previous one by Django's tasks framework.

The task carries only the release id and the wave number: send_wave locks the release and does
nothing when the slot was taken, withdrawn, entered the notice or this wave already went.
"""

from django.tasks import task

from waitlist import services


@task()
def next_wave(release_id: int, wave: int) -> int:
    return len(services.send_wave(release_id, wave))
