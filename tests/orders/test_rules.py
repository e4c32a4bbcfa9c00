"""The request's path, its journal, the prescription rules, the pick-up deadline, the figures."""

from datetime import datetime, timedelta

import pytest
import time_machine

from notifications.contracts import subject_still_valid
from orders import figures, services
from orders.models import Order, OrderStep, Status
from portal.models import Duty
from tests import factories
from tests.orders.conftest import PARIS, pdf_upload, renewal, walk

pytestmark = pytest.mark.django_db


def test_a_renewal_walks_the_whole_path_and_every_step_is_journaled(
    camille, treatment, site, hours, vet, reception, monday
):
    order = renewal(camille, treatment, site, note="Merci")
    assert (order.status, order.label) == (Status.NEW, "Méloxicam — 0,1 mg/kg par jour")
    order = walk(order, Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, Status.COLLECTED, by=reception)
    assert order.status == Status.COLLECTED
    assert order.closed_at == monday
    journal = list(OrderStep.objects.filter(order=order).values_list("status", "by"))
    assert journal == [
        (Status.NEW, camille.user.pk),
        (Status.APPROVED, vet.pk),
        (Status.PREPARING, reception.pk),
        (Status.READY, reception.pk),
        (Status.COLLECTED, reception.pk),
    ]


def test_ready_holds_the_parcel_until_the_fifth_opening_day_closes(
    camille, treatment, site, hours, vet, reception, monday
):
    # Ready on Monday (closed): Tue, Wed, Thu, Fri, Sat are the five opening days; Saturday
    # closes at noon.
    order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, by=reception)
    assert order.ready_at == monday
    assert order.ready_until == datetime(2026, 12, 5, 12, 0, tzinfo=PARIS)


def test_the_deadline_skips_a_closure(camille, treatment, site, hours, vet, reception, monday):
    from booking.models import Closure

    Closure.objects.create(
        start=monday.date() + timedelta(days=1), end=monday.date() + timedelta(days=1)
    )
    order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, by=reception)
    # Tuesday closed: the fifth opening day is the next Tuesday, which closes at 19:00.
    assert order.ready_until == datetime(2026, 12, 8, 19, 0, tzinfo=PARIS)


def test_without_any_hours_the_parcel_waits_five_days_until_six(
    camille, treatment, site, vet, reception, monday
):
    order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, by=reception)
    assert order.ready_until == datetime(2026, 12, 5, 18, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("steps", "to", "words"),
    [
        ((), Status.COLLECTED, "only once it is ready"),
        ((), Status.READY, "once it is being prepared"),
        ((), Status.PREPARING, "A vet must approve"),
        ((Status.APPROVED, Status.PREPARING), Status.APPROVED, "cannot become"),
        ((), Status.REFUSED, "Say why"),
    ],
)
def test_a_skipped_or_undone_step_is_refused_and_changes_nothing(
    camille, treatment, site, vet, monday, steps, to, words
):
    order = walk(renewal(camille, treatment, site), *steps, by=vet)
    before = (order.status, order.version, OrderStep.objects.filter(order=order).count())
    with pytest.raises(services.StepRefused, match=words):
        services.move(order=order, version=order.version, to=to, by=vet)
    order.refresh_from_db()
    assert (order.status, order.version, OrderStep.objects.filter(order=order).count()) == before


def test_of_two_staff_moving_the_same_request_one_wins_and_the_other_is_told(
    camille, treatment, site, vet, monday
):
    order = renewal(camille, treatment, site)
    seen_by_both = Order.objects.get(pk=order.pk)
    services.move(order=seen_by_both, version=1, to=Status.APPROVED, by=vet)
    other_vet = factories.make_staff("vet")
    with pytest.raises(services.Conflict) as told:
        services.move(order=seen_by_both, version=1, to=Status.REFUSED, by=other_vet, reason="Non")
    assert told.value.order.status == Status.APPROVED
    order.refresh_from_db()
    assert (order.status, order.reason) == (Status.APPROVED, "")
    assert OrderStep.objects.filter(order=order, status=Status.REFUSED).count() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_true_race_on_postgresql_moves_the_request_once(site, vet):
    """Eight threads press "Approved" at once on PostgreSQL: one step, seven conflicts."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    camille = factories.make_client_user(first_name="Camille").client
    filou = factories.make_patient(camille)
    from tests.orders.conftest import give

    treatment = give(filou, start=datetime.now(PARIS).date(), end=None)
    order = renewal(camille, treatment, site)

    def press(_):
        try:
            services.move(order=Order.objects.get(pk=order.pk), version=1, to="approved", by=vet)
            return "moved"
        except services.Conflict:
            return "told"
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        results = sorted(pool.map(press, range(8)))
    assert results == ["moved"] + ["told"] * 7
    assert OrderStep.objects.filter(order=order, status=Status.APPROVED).count() == 1


def test_an_expired_prescription_goes_to_needs_a_consultation_on_its_own(
    camille, old_treatment, site, monday
):
    order = renewal(camille, old_treatment, site)
    assert order.status == Status.CONSULTATION
    step = OrderStep.objects.get(order=order, status=Status.CONSULTATION)
    assert step.by is None  # the system routed it
    assert "more than a year old" in order.reason
    assert services.consultation_url(order) == (
        f"/booking/new/?patient={order.patient_id}&service=renewal"
    )


def test_a_prescription_item_needs_a_valid_prescription(camille, filou, site, products, monday):
    with pytest.raises(services.StepRefused, match="needs a prescription"):
        services.request_product(
            client=camille, patient=filou, product=products["drops"], site=site, by=camille.user
        )
    assert Order.objects.count() == 0
    with_file = services.request_product(
        client=camille,
        patient=filou,
        product=products["drops"],
        site=site,
        prescription=services.prepare_prescription(pdf_upload()),
        by=camille.user,
    )
    assert with_file.needs_prescription
    assert with_file.prescription_type == "application/pdf"


def test_a_current_treatment_of_that_name_is_a_valid_prescription(
    camille, filou, site, products, vet, monday
):
    from tests.orders.conftest import give

    give(filou, drug="Collyre", start=monday.date() - timedelta(days=10), end=None, vet=vet)
    order = services.request_product(
        client=camille, patient=filou, product=products["drops"], site=site, by=camille.user
    )
    assert order.status == Status.NEW


def test_an_item_without_prescription_goes_straight_to_preparing(
    camille, filou, site, products, reception, monday
):
    order = services.request_product(
        client=camille, patient=filou, product=products["wormer"], site=site, by=camille.user
    )
    assert not order.needs_prescription
    with pytest.raises(services.StepRefused, match="needs no prescription"):
        services.move(order=order, version=1, to=Status.APPROVED, by=reception)
    assert walk(order, Status.PREPARING, by=reception).status == Status.PREPARING


def test_vets_approve_and_reception_prepares(camille, treatment, site, products, filou, monday):
    order = renewal(camille, treatment, site)
    assert services.duty_for(order, Status.APPROVED) == Duty.MEDICAL
    assert services.duty_for(order, Status.CONSULTATION) == Duty.MEDICAL
    assert services.duty_for(order, Status.REFUSED) == Duty.MEDICAL
    assert services.duty_for(order, Status.READY) == Duty.ORDERS
    shop = services.request_product(
        client=camille, patient=filou, product=products["wormer"], site=site, by=camille.user
    )
    assert services.duty_for(shop, Status.REFUSED) == Duty.ORDERS


def test_current_treatments_are_the_newest_course_of_each_drug_still_running(filou, vet, monday):
    from tests.orders.conftest import give

    today = monday.date()
    give(
        filou, drug="Méloxicam", start=today - timedelta(days=200), end=today - timedelta(days=150)
    )
    newest = give(filou, drug="méloxicam", start=today - timedelta(days=20), end=None)
    give(
        filou,
        drug="Amoxicilline",
        start=today - timedelta(days=100),
        end=today - timedelta(days=70),
    )
    assert services.current_treatments(filou, today) == [newest]


def test_the_subject_checker_drops_notices_about_a_request_that_moved_on(
    camille, treatment, site, vet, reception, monday
):
    order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, by=reception)
    assert subject_still_valid("order", order.pk, order.version)
    walk(order, Status.COLLECTED, by=reception)
    assert not subject_still_valid("order", order.pk, order.version)


def test_figures_count_requests_per_week_time_to_ready_and_collection(
    camille, treatment, site, vet, reception, filou, products
):
    start = datetime(2026, 11, 16, 9, 0, tzinfo=PARIS)  # a Monday, two weeks before
    with time_machine.travel(start, tick=False):
        first = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    with time_machine.travel(start + timedelta(hours=3), tick=False):
        walk(first, Status.PREPARING, Status.READY, Status.COLLECTED, by=reception)
    with time_machine.travel(start + timedelta(days=7), tick=False):
        second = services.request_product(
            client=camille, patient=filou, product=products["wormer"], site=site, by=camille.user
        )
    with time_machine.travel(start + timedelta(days=7, hours=5), tick=False):
        second = walk(second, Status.PREPARING, Status.READY, by=reception)
    with time_machine.travel(start + timedelta(days=20), tick=False):
        walk(second, Status.NOT_COLLECTED, by=reception)
        result = figures.summary(weeks=3)
    by_week = {week.monday.isoformat(): week.requests for week in result.weeks}
    assert by_week["2026-11-16"] == 1
    assert by_week["2026-11-23"] == 1
    assert result.requests == 2
    assert result.median_hours_to_ready == 4.0  # 3 h and 5 h
    assert (result.collected, result.not_collected, result.collected_percent) == (1, 1, 50)


def test_across_the_autumn_change_the_deadline_is_still_the_clinic_closing_time(
    camille, treatment, site, hours, vet, reception
):
    # Ready on Thursday 22 October 2026; the clocks go back on Sunday 25th. Fri, Sat, Tue, Wed,
    # Thu: the fifth opening day is Thursday 29th, closing at 19:00 Paris time (UTC+1 by then).
    with time_machine.travel(datetime(2026, 10, 22, 11, 0, tzinfo=PARIS), tick=False):
        order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
        order = walk(order, Status.PREPARING, Status.READY, by=reception)
    assert order.ready_until == datetime(2026, 10, 29, 19, 0, tzinfo=PARIS)
    assert order.ready_until.astimezone(PARIS).utcoffset() == timedelta(hours=1)
