"""Webhook work on the "webhooks" queue. A task carries a row's id: the row says whether there is
still anything to do, so a task run twice, late or early is harmless (services.deliver)."""

from django.tasks import task
from django.utils import timezone

from webhooks import services
from webhooks.models import WAITING, Delivery


@task()
def deliver_webhook(delivery_id: int) -> str:
    return services.deliver(delivery_id)


@task()
def recover_webhooks() -> dict[str, int]:
    """A recovery pass, planned again while deliveries wait."""
    result = services.recover()
    result["purged"] = services.purge()
    if Delivery.objects.filter(status__in=[*WAITING, "sending"]).exists():
        recover_webhooks.using(
            queue_name=services.QUEUE, run_after=timezone.now() + services.LEASE
        ).enqueue()
    return result
