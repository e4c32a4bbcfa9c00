"""The duties page: the manager sets which staff role may change what (issue 11)."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.access import manager_required
from portal.models import STAFF_ROLES, Duties, Duty, Role

# The grid's rows and columns, in reading order.
ROLES = [role for role in Role if role in STAFF_ROLES]
DUTIES = list(Duty)


def _grid(table: dict[str, frozenset[str]]) -> list[dict]:
    return [
        {
            "role": role,
            "cells": [
                {
                    "duty": duty,
                    "name": f"{role.value}:{duty.value}",
                    "checked": duty in table[role],
                    # "settings" stays with the manager: whoever held it could grant
                    # themselves anything, and the manager must never lock themselves out.
                    "fixed": duty == Duty.SETTINGS,
                }
                for duty in DUTIES
            ],
        }
        for role in ROLES
    ]


def save_duties(*, granted: set[tuple[str, str]], by) -> None:
    """Store every staff role's duties at once; "settings" is forced for the manager only."""
    with transaction.atomic():
        for role in ROLES:
            duties = sorted(duty.value for duty in DUTIES if (role.value, duty.value) in granted)
            duties = [d for d in duties if d != Duty.SETTINGS]
            if role == Role.MANAGER:
                duties.append(Duty.SETTINGS.value)
            Duties.objects.update_or_create(
                role=role.value, defaults={"duties": duties, "updated_by": by}
            )


@manager_required
@require_http_methods(["GET", "POST"])
def duties(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        granted = set()
        for raw in request.POST.getlist("grant"):
            role, _sep, duty = raw.partition(":")
            if role in STAFF_ROLES and duty in Duty.values:
                granted.add((role, duty))
        save_duties(granted=granted, by=request.user)
        messages.success(request, _("The duties are saved."))
        return redirect("portal:duties")
    return render(request, "portal/duties.html", {"grid": _grid(Duties.table()), "duties": DUTIES})
