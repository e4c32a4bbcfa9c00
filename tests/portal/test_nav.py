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
