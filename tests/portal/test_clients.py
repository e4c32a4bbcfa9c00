import pytest
from django.core import mail

from portal.models import Client, Invitation
from tests import factories


@pytest.fixture
def many_clients(clinic) -> list[Client]:
    return [
        factories.make_client(first_name=f"Prénom{i}", last_name=f"Nom{i:02d}", phone="")
        for i in range(40)
    ]


@pytest.mark.django_db
def test_staff_search_clients_by_name_email_or_phone(as_reception, clinic):
    factories.make_client(first_name="Élodie", last_name="Garnier", phone="+33612345678")
    factories.make_client(first_name="Marc", last_name="Petit", email="marc@example.com")

    by_name = as_reception.get("/staff/clients/", {"q": "garnier"})
    by_email = as_reception.get("/staff/clients/", {"q": "marc@"})
    by_phone = as_reception.get("/staff/clients/", {"q": "612345"})

    assert [c.last_name for c in by_name.context["page"]] == ["Garnier"]
    assert [c.last_name for c in by_email.context["page"]] == ["Petit"]
    assert [c.last_name for c in by_phone.context["page"]] == ["Garnier"]


@pytest.mark.django_db
def test_htmx_search_returns_only_the_results_fragment(as_reception, clinic):
    factories.make_client(first_name="Élodie", last_name="Garnier")

    response = as_reception.get("/staff/clients/", {"q": "gar"}, headers={"HX-Request": "true"})

    body = response.content.decode()
    assert "Garnier" in body
    assert "<html" not in body
    assert "<table" in body


@pytest.mark.django_db
def test_the_client_list_uses_a_fixed_number_of_queries(
    as_reception, many_clients, django_assert_max_num_queries
):
    with django_assert_max_num_queries(9):  # 8, and the duties table on a cold cache (#11)
        response = as_reception.get("/staff/clients/")

    assert len(response.context["page"].object_list) == 25
    assert "Page 1 of 2" in response.content.decode()


@pytest.mark.django_db
def test_reception_creates_a_client_record(as_reception, clinic):
    response = as_reception.post(
        "/staff/clients/new/",
        {
            "first_name": "Iris",
            "last_name": "Perrin",
            "email": "iris@example.com",
            "phone": "06 11 22 33 44",
            "preferred_language": "fr",
        },
    )

    record = Client.objects.get(last_name="Perrin")
    assert response.url == f"/staff/clients/{record.pk}/"
    assert record.phone == "+33611223344"
    assert record.user is None


@pytest.mark.django_db
def test_a_bad_client_record_is_explained_and_not_saved(as_reception, clinic):
    response = as_reception.post(
        "/staff/clients/new/",
        {"first_name": "", "last_name": "Perrin", "phone": "123", "preferred_language": "fr"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"first_name", "phone"}
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_an_unknown_client_id_is_a_404(as_reception, clinic):
    assert as_reception.get("/staff/clients/999999/").status_code == 404
    assert as_reception.post("/staff/clients/999999/invite/").status_code == 404


@pytest.mark.django_db
def test_a_client_cannot_open_another_clients_record(as_client, other_client_user):
    response = as_client.get(f"/staff/clients/{other_client_user.client.pk}/")

    assert response.status_code == 403
    assert "Bruno" not in response.content.decode()


@pytest.mark.django_db
def test_inviting_a_record_without_email_explains_what_to_do(as_reception, clinic):
    record = factories.make_client(email="")

    response = as_reception.post(f"/staff/clients/{record.pk}/invite/", follow=True)

    assert "Add an e-mail address" in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_client_who_already_has_an_account_is_not_invited_again(as_reception, client_user):
    response = as_reception.post(f"/staff/clients/{client_user.client.pk}/invite/", follow=True)

    assert "already has an account" in response.content.decode()
    assert not Invitation.objects.exists()
