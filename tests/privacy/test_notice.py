"""The privacy notice: public, a sensible default, edited by a manager, in both languages."""

import pytest
from django.urls import reverse

from privacy.models import PrivacyNotice

pytestmark = pytest.mark.django_db


def test_the_notice_is_public_with_a_default_text(client, clinic):
    response = client.get(reverse("privacy:notice"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Privacy notice" in page
    assert "Clinique des Tests runs this portal" in page
    assert "kept for 5 years" in page


def test_a_manager_edits_it_and_readers_see_their_language(as_manager, client, clinic):
    response = as_manager.post(
        reverse("privacy:notice_edit"),
        {"text_fr": "Premier paragraphe.\n\nSecond paragraphe.", "text_en": "First.\n\nSecond."},
        follow=True,
    )

    assert "The privacy notice is saved" in response.content.decode()
    english = client.get(reverse("privacy:notice")).content.decode()
    french = client.get(reverse("privacy:notice"), headers={"accept-language": "fr"})
    assert "<p>First.</p>" in english
    assert "<p>Second.</p>" in english
    assert "<p>Premier paragraphe.</p>" in french.content.decode()
    assert "Politique de confidentialité" in french.content.decode()


def test_only_french_written_is_shown_to_everyone(as_manager, client, clinic):
    as_manager.post(
        reverse("privacy:notice_edit"), {"text_fr": "Seulement en français.", "text_en": ""}
    )

    assert "Seulement en français." in client.get(reverse("privacy:notice")).content.decode()


def test_only_a_manager_edits_it(as_reception, as_client, client, clinic):
    for http in (as_reception, as_client):
        assert http.post(reverse("privacy:notice_edit"), {"text_fr": "x"}).status_code == 403
    assert client.get(reverse("privacy:notice_edit")).status_code == 302
    assert not PrivacyNotice.objects.exists()


def test_it_is_linked_in_the_footer_and_at_sign_up(client, clinic):
    notice = reverse("privacy:notice")
    assert notice in client.get(reverse("account_login")).content.decode()
    assert notice in client.get(reverse("account_signup")).content.decode()
