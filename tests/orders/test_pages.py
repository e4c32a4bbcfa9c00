"""Through the views: the client asks, staff work the queue, strangers see nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse

from orders.models import Order, OrderStep, Status
from portal.models import AccessLog
from records.models import Guardianship
from tests import factories
from tests.orders.conftest import PDF, PNG, pdf_upload, renewal, walk

pytestmark = pytest.mark.django_db


def test_the_client_renews_from_the_one_tap_link_and_sees_the_request(
    as_client, camille, treatment, site, monday
):
    url = reverse("orders:renew", args=[treatment.entry_id])
    page = as_client.get(url)
    assert "Méloxicam — 0,1 mg/kg par jour" in page.content.decode()
    assert page.context["form"]["quantity"].value() == 1
    response = as_client.post(url, {"quantity": 2, "note": "Plus que 3 jours", "site": site.pk})
    order = Order.objects.get()
    assert response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.status, order.quantity, order.note) == (Status.NEW, 2, "Plus que 3 jours")
    assert order.client == camille
    assert order.kind == Order.Kind.RENEWAL
    detail = as_client.get(response["Location"]).content.decode()
    assert "Received" in detail
    assert "Méloxicam" in detail
    assert AccessLog.objects.filter(object_type="order", object_id=str(order.pk)).exists()


def test_in_french_the_request_page_reads_in_french(camille, treatment, site, monday):
    http = factories.http_client(camille.user)
    http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    order = renewal(camille, treatment, site)
    body = http.get(reverse("orders:detail", args=[order.pk]), headers={"accept-language": "fr"})
    text = body.content.decode()
    assert "Reçue" in text
    assert "Annuler cette demande" in text
    assert "30 nov." in text or "30 novembre" in text


def test_the_renewal_link_asks_to_sign_in_then_comes_back(client, treatment, monday):
    url = reverse("orders:renew", args=[treatment.entry_id])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "next=" in response["Location"]
    assert "renew" in response["Location"]


def test_the_renewal_from_the_animal_page(as_client, filou, treatment, monday):
    page = as_client.get(reverse("records:animal", args=[filou.pk])).content.decode()
    assert reverse("orders:renew", args=[treatment.entry_id]) in page
    assert "Ask for the renewal" in page


def test_the_care_reminder_for_a_renewal_links_to_the_request(as_client, filou, treatment, monday):
    page = as_client.get(reverse("records:my_animals")).content.decode()
    assert reverse("orders:renew", args=[treatment.entry_id]) in page


def test_a_pet_sitter_cannot_order_nor_see_the_treatments(treatment, filou, site, monday):
    sitter = factories.make_client_user(first_name="Sam", last_name="Sitter")
    Guardianship.objects.create(patient=filou, client=sitter.client, role=Guardianship.Role.SITTER)
    http = factories.http_client(sitter)
    url = reverse("orders:renew", args=[treatment.entry_id])
    assert http.get(url).status_code == 404
    assert http.post(url, {"quantity": 1, "site": site.pk}).status_code == 404
    animal = http.get(reverse("records:animal", args=[filou.pk])).content.decode()
    assert "Ask for the renewal" not in animal
    assert Order.objects.count() == 0


def test_the_stranger_gets_404_everywhere_and_nothing_changes(
    as_other_client, camille, treatment, site, monday
):
    order = renewal(camille, treatment, site, prescription=_pdf())
    for name, method in [
        ("orders:detail", "get"),
        ("orders:prescription", "get"),
        ("orders:cancel", "post"),
    ]:
        response = getattr(as_other_client, method)(
            reverse(name, args=[order.pk]), {"version": order.version}
        )
        assert response.status_code == 404, name
        assert "Méloxicam" not in response.content.decode()
    renew = reverse("orders:renew", args=[treatment.entry_id])
    assert as_other_client.post(renew, {"quantity": 1, "site": site.pk}).status_code == 404
    order.refresh_from_db()
    assert order.status == Status.NEW
    assert Order.objects.count() == 1
    assert AccessLog.objects.filter(action="denied", object_type="order").exists()


def _pdf():
    from orders import services

    return services.prepare_prescription(pdf_upload())


def test_a_prescription_is_stored_encrypted_and_given_back_to_its_owner_and_staff(
    as_client, as_vet, camille, treatment, site, settings, monday
):
    url = reverse("orders:renew", args=[treatment.entry_id])
    as_client.post(url, {"quantity": 1, "site": site.pk, "prescription": pdf_upload()})
    order = Order.objects.get()
    on_disk = (settings.MEDIA_ROOT / order.prescription.name).read_bytes()
    assert b"%PDF" not in on_disk
    for http in (as_client, as_vet):
        response = http.get(reverse("orders:prescription", args=[order.pk]))
        assert response["Content-Type"] == "application/pdf"
        assert b"".join(response.streaming_content) == PDF


def test_a_file_that_is_not_a_photo_nor_a_pdf_is_refused_and_nothing_is_made(
    as_client, treatment, site, monday
):
    url = reverse("orders:renew", args=[treatment.entry_id])
    fake = pdf_upload("ordonnance.jpg", b"#!/bin/sh\nrm -rf /\n")
    response = as_client.post(url, {"quantity": 1, "site": site.pk, "prescription": fake})
    assert response.status_code == 200
    assert "Only photos (JPEG, PNG, WebP) and PDF documents" in response.content.decode()
    assert Order.objects.count() == 0


def test_an_order_from_the_catalogue_with_a_photo_of_the_prescription(
    as_client, filou, site, products, monday
):
    url = reverse("orders:new") + f"?patient={filou.pk}"
    page = as_client.get(url)
    assert page.context["form"]["patient"].value() == filou.pk
    no_file = as_client.post(
        url, {"patient": filou.pk, "product": products["drops"].pk, "quantity": 1, "site": site.pk}
    )
    assert "This item needs a prescription" in no_file.content.decode()
    assert Order.objects.count() == 0
    photo = pdf_upload("ordonnance.png", PNG)
    response = as_client.post(
        url,
        {
            "patient": filou.pk,
            "product": products["drops"].pk,
            "quantity": 1,
            "site": site.pk,
            "prescription": photo,
        },
    )
    order = Order.objects.get()
    assert response["Location"] == reverse("orders:detail", args=[order.pk])
    assert (order.label, order.prescription_type) == ("Collyre (10 ml)", "image/png")


def test_an_item_for_another_species_is_refused(as_client, filou, site, products, monday):
    response = as_client.post(
        reverse("orders:new"),
        {"patient": filou.pk, "product": products["diet"].pk, "quantity": 1, "site": site.pk},
    )
    assert "This item is not for dog" in response.content.decode()
    assert Order.objects.count() == 0


def test_another_clients_animal_is_not_a_choice(as_other_client, filou, site, products, monday):
    response = as_other_client.post(
        reverse("orders:new"),
        {"patient": filou.pk, "product": products["wormer"].pk, "quantity": 1, "site": site.pk},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Order.objects.count() == 0


@pytest.mark.parametrize("quantity", ["0", "21", "abc"])
def test_a_wrong_quantity_is_said_under_the_field(as_client, treatment, site, quantity, monday):
    url = reverse("orders:renew", args=[treatment.entry_id])
    response = as_client.post(url, {"quantity": quantity, "site": site.pk})
    assert response.context["form"].errors["quantity"]
    assert Order.objects.count() == 0


def test_the_client_cancels_a_new_request_but_not_once_work_started(
    as_client, camille, treatment, site, vet, monday
):
    order = renewal(camille, treatment, site)
    cancel = reverse("orders:cancel", args=[order.pk])
    as_client.post(cancel, {"version": order.version})
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    second = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    response = as_client.post(
        reverse("orders:cancel", args=[second.pk]), {"version": second.version}, follow=True
    )
    assert "call us to stop it" in response.content.decode()
    second.refresh_from_db()
    assert second.status == Status.APPROVED


def test_the_status_fragment_keeps_asking_until_the_request_is_final(
    as_client, camille, treatment, site, hours, reception, vet, monday
):
    order = renewal(camille, treatment, site)
    url = reverse("orders:detail", args=[order.pk])
    fragment = as_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 5s"' in fragment
    assert "<html" not in fragment
    order = walk(order, Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, by=reception)
    fragment = as_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Ready for pick-up" in fragment
    assert "Saturday 5 December, 12:00" in fragment
    walk(order, Status.COLLECTED, by=reception)
    fragment = as_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Collected" in fragment
    assert "hx-trigger" not in fragment


# --- Staff ---------------------------------------------------------------------------------------


def test_reception_cannot_approve_a_prescription_item_but_a_vet_can(
    as_reception, as_vet, camille, treatment, site, monday
):
    order = renewal(camille, treatment, site)
    step = reverse("orders:step", args=[order.pk])
    page = as_reception.get(reverse("orders:staff_detail", args=[order.pk])).content.decode()
    assert "disabled" in page  # the vet's buttons are shown, greyed
    refused = as_reception.post(step, {"to": "approved", "version": 1})
    assert refused.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.NEW
    approved = as_vet.post(step, {"to": "approved", "version": 1}, headers={"HX-Request": "true"})
    assert approved.status_code == 200
    assert 'data-testid="order-status">Approved by a vet' in approved.content.decode()


def test_two_staff_at_once_the_second_is_told_what_happened(
    as_vet, camille, treatment, site, vet, monday
):
    order = renewal(camille, treatment, site)
    walk(Order.objects.get(pk=order.pk), Status.APPROVED, by=vet)
    response = as_vet.post(
        reverse("orders:step", args=[order.pk]),
        {"to": "refused", "version": 1, "reason": "Trop tôt"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 409
    assert "Someone else moved this request first" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.reason) == (Status.APPROVED, "")


def test_collected_before_ready_is_refused_with_a_clear_message(
    as_reception, camille, treatment, site, vet, monday
):
    order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    response = as_reception.post(
        reverse("orders:step", args=[order.pk]),
        {"to": "collected", "version": order.version},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert "only once it is ready" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.APPROVED


def test_refusing_needs_a_reason_for_the_client(as_vet, camille, treatment, site, monday):
    order = renewal(camille, treatment, site)
    step = reverse("orders:step", args=[order.pk])
    response = as_vet.post(step, {"to": "refused", "version": 1, "reason": "  "})
    assert "Say why the request is refused" in response.content.decode()
    as_vet.post(step, {"to": "refused", "version": 1, "reason": "Dose à revoir"})
    order.refresh_from_db()
    assert (order.status, order.reason) == (Status.REFUSED, "Dose à revoir")


def test_a_client_is_refused_on_the_staff_pages(as_client, camille, treatment, site, monday):
    order = renewal(camille, treatment, site)
    assert as_client.get(reverse("orders:queue")).status_code == 403
    step = as_client.post(reverse("orders:step", args=[order.pk]), {"to": "approved", "version": 1})
    assert step.status_code == 403
    order.refresh_from_db()
    assert order.status == Status.NEW


def test_the_queue_lists_by_status_in_bounded_queries(
    as_reception,
    camille,
    filou,
    treatment,
    site,
    products,
    vet,
    reception,
    monday,
    django_assert_max_num_queries,
):
    from orders import services

    for _ in range(12):
        services.request_product(
            client=camille, patient=filou, product=products["wormer"], site=site, by=camille.user
        )
    ready = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    walk(ready, Status.PREPARING, Status.READY, by=reception)
    with django_assert_max_num_queries(12):
        todo = as_reception.get(reverse("orders:queue"))
    assert len(todo.context["orders"]) == 12
    assert todo.context["counts"]["ready"] == 1
    with django_assert_max_num_queries(12):
        shown = as_reception.get(reverse("orders:queue") + "?show=ready").content.decode()
    assert "Méloxicam" in shown
    assert "until 5 December" in shown


def test_a_parcel_past_its_date_is_listed_for_staff_to_decide(
    camille, treatment, site, vet, reception, monday
):
    import time_machine

    order = walk(renewal(camille, treatment, site), Status.APPROVED, by=vet)
    order = walk(order, Status.PREPARING, Status.READY, by=reception)
    with time_machine.travel(order.ready_until + timedelta(hours=1), tick=False):
        http = factories.verified_http_client(reception)  # a new day, a new sign-in
        late = http.get(reverse("orders:queue") + "?show=late")
        assert [o.pk for o in late.context["orders"]] == [order.pk]
        http.post(
            reverse("orders:step", args=[order.pk]),
            {"to": "not_collected", "version": order.version},
        )
    order.refresh_from_db()
    assert order.status == Status.NOT_COLLECTED
    assert OrderStep.objects.filter(order=order, status=Status.NOT_COLLECTED, by=reception).exists()


def test_the_manager_keeps_the_catalogue(as_manager, as_reception, products, monday):
    url = reverse("orders:catalogue")
    assert as_reception.get(url).status_code == 403
    response = as_manager.post(
        url,
        {
            "name": "Pâtée digestive",
            "pack": "12 boîtes de 100 g",
            "price": "-3",
            "species": ["cat"],
        },
    )
    assert response.status_code == 400
    assert "cannot be negative" in response.content.decode()
    as_manager.post(
        url,
        {
            "name": "Pâtée digestive",
            "pack": "12 boîtes de 100 g",
            "price": "18.40",
            "species": ["cat"],
            "active": "on",
        },
    )
    from orders.models import Product

    product = Product.objects.get(name="Pâtée digestive")
    assert (str(product.price), product.species, product.active) == ("18.40", ["cat"], True)
    page = as_manager.get(url).content.decode()
    assert "Pâtée digestive" in page


def test_figures_page_shows_the_counts(as_manager, camille, treatment, site, monday):
    renewal(camille, treatment, site)
    page = as_manager.get(reverse("orders:figures"))
    assert page.context["figures"].requests == 1
    assert "Requests per week" in page.content.decode()
