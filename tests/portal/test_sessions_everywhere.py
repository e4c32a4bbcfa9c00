"""Sign out everywhere, a new password ending the other sign-ins, and /admin/ signing in through
the portal's own sign-in (its rate limits, lockout and second factor)."""

import pytest
from allauth.usersessions.models import UserSession
from django.contrib.sessions.models import Session
from django.test import Client as HttpClient
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36"
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; rv:133.0) Gecko/20100101 Firefox/133.0"


def _signed_in(user, *, language: str = "en", agent: str = LAPTOP) -> HttpClient:
    """A browser signed in through the real sign-in page (allauth lists the session)."""
    http = HttpClient(headers={"accept-language": language, "user-agent": agent})
    response = http.post("/accounts/login/", {"login": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return http


def _alive(http: HttpClient) -> bool:
    return Session.objects.filter(session_key=http.cookies["sessionid"].value).exists()


def test_the_security_page_lists_each_device_this_one_first(client_user):
    _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user, agent=LAPTOP)
    page = laptop.get(reverse("portal:security")).content.decode()
    assert page.index("Firefox, Windows") < page.index("Chrome, Android")
    assert "(this device)" in page
    assert page.count("(this device)") == 1
    assert "IP address 127.0.0.1" in page
    assert "Sign out on every other device" in page


def test_the_security_page_reads_in_french(client_user):
    http = _signed_in(client_user, language="fr", agent=PHONE)
    page = http.get(reverse("portal:security")).content.decode()
    assert "Où votre compte est connecté" in page
    assert "(cet appareil)" in page
    assert "Se déconnecter sur tous les autres appareils" in page


def test_sign_out_everywhere_ends_the_other_devices_and_keeps_this_one(
    client_user, other_client_user
):
    phone = _signed_in(client_user, agent=PHONE)
    tablet = _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user)
    stranger = _signed_in(other_client_user)

    response = laptop.post(reverse("portal:sign_out_everywhere"), follow=True)

    assert "Signed out on 2 other devices." in response.content.decode()
    assert not _alive(phone)
    assert not _alive(tablet)
    assert phone.get("/booking/").status_code == 302  # back to the sign-in page
    assert laptop.get("/booking/").status_code == 200
    assert _alive(stranger)  # another account's sessions are not touched
    assert UserSession.objects.filter(user=client_user).count() == 1


def test_sign_out_everywhere_can_end_this_device_too_in_french(client_user):
    phone = _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user, language="fr")

    response = laptop.post(reverse("portal:sign_out_everywhere"), {"this_one": "1"}, follow=True)

    assert "Vous êtes déconnecté sur tous les appareils, celui-ci compris." in (
        response.content.decode()
    )
    assert not _alive(phone)
    assert not _alive(laptop)
    assert not UserSession.objects.filter(user=client_user).exists()


def test_sign_out_everywhere_wants_a_post_from_a_signed_in_person(client_user, client):
    laptop = _signed_in(client_user)
    assert laptop.get(reverse("portal:sign_out_everywhere")).status_code == 405
    response = client.post(reverse("portal:sign_out_everywhere"))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    assert _alive(laptop)


def test_a_new_password_ends_every_other_sign_in(client_user):
    phone = _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user)

    response = laptop.post(
        reverse("account_change_password"),
        {
            "oldpassword": factories.PASSWORD,
            "password1": "n3w-Long-pass",
            "password2": "n3w-Long-pass",
        },
    )

    assert response.status_code == 302
    assert not _alive(phone)
    assert phone.get("/booking/").status_code == 302
    assert laptop.get("/booking/").status_code == 200  # this one carries on
    keys = set(UserSession.objects.filter(user=client_user).values_list("session_key", flat=True))
    assert keys == {laptop.cookies["sessionid"].value}


def test_a_wrong_old_password_changes_nothing(client_user):
    phone = _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user)
    response = laptop.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": "n3w-Long-pass", "password2": "n3w-Long-pass"},
    )
    assert response.status_code == 200
    assert "Please type your current password." in response.content.decode()
    assert _alive(phone)


def test_a_password_reset_from_the_email_link_ends_every_sign_in(client_user, mailoutbox):
    phone = _signed_in(client_user, agent=PHONE)
    stranger = HttpClient(headers={"accept-language": "en"})
    stranger.post(reverse("account_reset_password"), {"email": client_user.email})
    link = next(
        line for line in mailoutbox[-1].body.splitlines() if "/accounts/password/reset/key/" in line
    ).strip()
    form = stranger.get(link, follow=True)
    stranger.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"password1": "n3w-Long-pass", "password2": "n3w-Long-pass"},
    )
    client_user.refresh_from_db()
    assert client_user.check_password("n3w-Long-pass")
    assert not _alive(phone)


# --- /admin/ -------------------------------------------------------------------------------------


@pytest.fixture
def superuser(clinic):
    return factories.make_staff("manager", is_staff=True, is_superuser=True)


def test_the_admin_sends_a_stranger_to_the_portal_sign_in(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=%2Fadmin%2F")
    assert "Sign in" in response.content.decode()


def test_the_admin_login_never_checks_a_password_itself(client, superuser):
    for _ in range(10):
        response = client.post("/admin/login/", {"username": superuser.email, "password": "wrong"})
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/")
    response = client.post(
        "/admin/login/?next=/admin/", {"username": superuser.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session  # the right password there does not sign in


def test_repeated_wrong_passwords_on_the_way_to_the_admin_are_refused(client, superuser):
    login = client.get("/admin/login/?next=/admin/").url
    for _ in range(5):
        client.post(login, {"login": superuser.email, "password": "wrong"})
    response = client.post(login, {"login": superuser.email, "password": factories.PASSWORD})
    assert response.status_code == 200
    assert "Try again in 5 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_admin_opens_after_the_portal_sign_in_and_second_factor(superuser):
    http = factories.verified_http_client(superuser)
    response = http.get("/admin/")
    assert response.status_code == 200
    assert "Site administration" in response.content.decode()


def test_a_signed_in_client_is_refused_the_admin(as_client):
    assert as_client.get("/admin/login/").status_code == 403
    response = as_client.get("/admin/")
    assert response.status_code in (302, 403)
    assert "Site administration" not in response.content.decode()


def test_the_list_costs_the_same_few_queries_for_many_devices(
    client_user, django_assert_max_num_queries
):
    for _ in range(6):
        _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user)
    laptop.get("/")  # past the first request's session stamp
    with django_assert_max_num_queries(6):  # as many for one device as for seven
        page = laptop.get(reverse("portal:security")).content.decode()
    assert page.count("Chrome, Android") == 6


def test_the_list_drops_sign_ins_that_no_longer_hold(client_user):
    phone = _signed_in(client_user, agent=PHONE)
    laptop = _signed_in(client_user)
    Session.objects.filter(session_key=phone.cookies["sessionid"].value).delete()
    page = laptop.get(reverse("portal:security")).content.decode()
    assert "Chrome, Android" not in page
    assert UserSession.objects.filter(user=client_user).count() == 1
