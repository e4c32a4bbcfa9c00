"""What orders and renewals cost (`make bench-orders`).

    python bench/orders.py                  # 200 renders of each page
    python bench/orders.py --renders 500

A clinic with 1,000 requests at every step (200 clients, each with a dog on a long treatment),
a vet and reception signed in and past the second factor, through Django's test client (the
whole middleware stack, no network). Figures, each the median of --renders renders after a
warm-up, with the queries of the slowest:

- **status poll**: the htmx fragment a client's open request page asks for every
  ORDERS_LIVE_POLL_SECONDS (5) until the request is final: what "live" costs per open page;
- **request page**: the client's whole page (with its access-log line);
- **queue, 100 to look at**: the staff queue's first tab, 100 rows shown (the cap);
- **step: ready, with its notices**: reception presses "Ready for pick-up" on a request being
  prepared (htmx POST): the conditional UPDATE, the journal line, four outbox rows (ready and
  its reminder, text and e-mail) and the card re-rendered;
- **floor: empty queue tab**: the same queue page on a tab with no row (the page's frame, the
  middlewares, the session, the counts): what the rows add is the difference.

Runs on a temporary SQLite file, migrated first; prints a table and one JSON line.
docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import median_ms, report, setup  # noqa: E402

REQUESTS = 1000


def _clinic(renders: int):
    """1,000 requests over every step, and `renders` + 1 being prepared for the step figure."""
    from django.utils import timezone

    from orders import services
    from orders.models import Order, Status
    from records import services as records
    from tests import factories

    factories.make_clinic()
    site = factories.make_site(address="12 avenue des Tilleuls\n69006 Lyon")
    vet = factories.make_staff("vet")
    reception = factories.make_staff("reception")
    today = timezone.localdate()
    paths = [
        (),
        (Status.APPROVED,),
        (Status.APPROVED, Status.PREPARING),
        (Status.APPROVED, Status.PREPARING, Status.READY),
        (Status.APPROVED, Status.PREPARING, Status.READY, Status.COLLECTED),
    ]
    orders = []
    for i in range(200):
        owner = factories.make_client_user(first_name=f"Owner{i}", last_name="Bench")
        owner.client.phone = f"+336{10000000 + i}"
        owner.client.save(update_fields=["phone"])
        dog = factories.make_patient(owner, name=f"Dog{i}")
        entry = records.record_treatment(
            patient=dog,
            practitioner=vet,
            drug="Méloxicam",
            dose="0,1 mg/kg",
            start=today - timedelta(days=20),
            end=today + timedelta(days=10),
            antiparasitic=False,
        )
        for k in range(5):
            order = services.request_renewal(
                client=owner.client, treatment=entry.treatment, site=site, by=owner
            )
            for to in paths[k]:
                who = vet if to == Status.APPROVED else reception
                order = services.move(order=order, version=order.version, to=to, by=who)
            orders.append(order)
    assert Order.objects.count() == REQUESTS
    preparing = [o for o in orders if o.status == Status.PREPARING]
    extra = []
    while len(preparing) + len(extra) < renders + 1:
        order = services.request_renewal(
            client=orders[0].client,
            treatment=orders[0].treatment,
            site=site,
            by=orders[0].client.user,
        )
        order = services.move(order=order, version=1, to=Status.APPROVED, by=vet)
        extra.append(services.move(order=order, version=2, to=Status.PREPARING, by=reception))
    # The extras are counted in the queue's tabs, not in "to look at" (they are being prepared).
    return vet, reception, [o for o in orders if o.status == Status.NEW], preparing + extra


def run(renders: int) -> dict:
    from django.urls import reverse

    from tests import factories

    _vet, reception, new, preparing = _clinic(renders)
    staff = factories.verified_http_client(reception)
    owner = factories.http_client(new[0].client.user)
    detail = reverse("orders:detail", args=[new[0].pk])
    queue = reverse("orders:queue")
    htmx = {"HX-Request": "true"}
    rows = staff.get(queue).content.decode().count("<tr")
    assert rows == 101, f"the first tab should show 100 rows and a header, not {rows}"
    calls = {
        "floor: empty queue tab": lambda i: staff.get(queue, {"show": "late"}),
        "status poll": lambda i: owner.get(detail, headers=htmx),
        "request page": lambda i: owner.get(detail),
        "queue, 100 to look at": lambda i: staff.get(queue),
        "step: ready, with its notices": lambda i: staff.post(
            reverse("orders:step", args=[preparing[i].pk]),
            {"to": "ready", "version": preparing[i].version},
            headers=htmx,
        ),
    }
    figures = {}
    for name, call in calls.items():
        ms, queries = median_ms(call, renders)
        figures[name] = {"median_ms": round(ms, 2), "queries": queries}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accueil-bench-orders-") as var_dir:
        setup(var_dir)
        figures = run(args.renders)
    report(figures, floor="floor: empty queue tab", renders=args.renders, requests=REQUESTS)


if __name__ == "__main__":
    main()
