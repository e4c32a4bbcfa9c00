import pytest


@pytest.mark.django_db
def test_the_menu_shows_each_apps_links_for_the_role(as_client, as_vet, as_manager):
    client_menu = as_client.get("/").content.decode()
    vet_menu = as_vet.get("/").content.decode()
    manager_menu = as_manager.get("/").content.decode()

    assert 'href="/records/animals/"' in client_menu
    assert 'href="/records/staff/"' not in client_menu
    assert 'href="/records/staff/"' in vet_menu
    assert 'href="/waitlist/staff/"' in vet_menu
    assert 'href="/staff/team/"' not in vet_menu
    assert 'href="/staff/team/"' in manager_menu


@pytest.mark.django_db
def test_booking_adds_its_links_to_the_menu(as_client, as_reception):
    assert 'href="/booking/new/"' in as_client.get("/").content.decode()
    assert 'href="/booking/"' in as_client.get("/").content.decode()
    assert 'href="/booking/staff/agenda/"' in as_reception.get("/").content.decode()


@pytest.mark.django_db
def test_the_client_page_shows_the_apps_panels(as_reception, client_user):
    response = as_reception.get(f"/staff/clients/{client_user.client.pk}/")

    body = response.content.decode()
    assert f'href="/booking/staff/book/?client={client_user.client.pk}"' in body


@pytest.mark.django_db
def test_notifications_add_their_links(as_client, as_reception, client_user):
    assert 'href="/notifications/preferences/"' in as_client.get("/").content.decode()
    staff_home = as_reception.get("/").content.decode()
    assert 'href="/notifications/staff/"' in staff_home
    page = as_reception.get(f"/staff/clients/{client_user.client.pk}/").content.decode()
    assert f'href="/notifications/staff/clients/{client_user.client.pk}/"' in page


@pytest.mark.django_db
def test_messaging_adds_its_links(as_client, as_vet, client_user):
    assert 'href="/messages/"' in as_client.get("/").content.decode()
    assert 'href="/messages/inbox/"' in as_vet.get("/").content.decode()
    page = as_vet.get(f"/staff/clients/{client_user.client.pk}/").content.decode()
    assert "No conversation with this client yet." in page
