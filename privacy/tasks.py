"""Background work for the client's data rights (django.tasks; the "default" queue).

A task carries only a row's id: the row says whether anything is left to do, so a task run
twice or late is harmless.
"""

from django.tasks import task

from privacy import services


@task()
def build_export(export_id: int) -> str:
    return services.build_export(export_id)


@task()
def purge_expired_exports() -> int:
    return services.purge_expired_exports()
