"""Booking reads in French, the clinic's default language."""

from django.urls import reverse

from tests import factories


def test_the_booking_pages_speak_french(client_user, filou, consultation):
    http = factories.http_client(client_user)
    http.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"
    html = http.get(reverse("booking:new"), headers={"accept-language": "fr"}).content.decode()
    assert "Prendre rendez-vous" in html
    assert "Premier disponible" in html
    mine = http.get(reverse("booking:mine"), headers={"accept-language": "fr"}).content.decode()
    assert "Mes rendez-vous" in mine
