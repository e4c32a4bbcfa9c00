"""A checked mobile changed on the profile page is no longer checked, and the journal says so."""

import pytest
from django.urls import reverse

from notifications import services as notifications
from notifications.models import PreferenceChange

pytestmark = pytest.mark.django_db


def test_a_new_number_on_the_profile_must_be_checked_again(as_client, client_user):
    client = client_user.client
    client.phone = "+33612345678"
    client.save(update_fields=["phone"])
    notifications.change_preferences(
        client=client, by=None, how=PreferenceChange.How.STAFF, phone_verified=True
    )
    assert notifications.phone_checked(client)
    form = as_client.get(reverse("portal:profile")).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["phone"] = "06 98 76 54 32"
    as_client.post(reverse("portal:profile"), data)
    client.refresh_from_db()
    assert client.phone == "+33698765432"
    assert not notifications.phone_checked(client)
    line = PreferenceChange.objects.filter(client=client, what="phone_verified").first()
    assert (line.how, line.new_value) == (PreferenceChange.How.SYSTEM, "no")
