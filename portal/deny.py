"""Deny by default: every view needs a signed-in user unless it is marked public.

Django's LoginRequiredMiddleware does the work; a view that must answer strangers says so with
`@login_not_required` and a comment naming its credential (a token, a signature). The public
views are few: allauth's sign-in and sign-up pages, the one-tap links of reminders, waitlist
offers, unsubscribe links, the SMS provider's webhook, calendar feeds, the clinic's logo, the
language switch and the privacy notice. tests/portal/test_idor_matrix.py lists them and fails
when a new one appears.
"""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequired
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

from portal.sessions import return_to


class LoginRequiredMiddleware(DjangoLoginRequired):
    """Django's, plus htmx: a fragment request from a signed-out browser gets a full-page
    redirect to the sign-in page, not the sign-in form swapped into a corner of the page."""

    def handle_no_permission(self, request: HttpRequest, view_func) -> HttpResponse:
        response = super().handle_no_permission(request, view_func)
        if getattr(request, "htmx", False) and response.status_code == 302:
            # Back to the page the fragment was part of, not to the fragment alone.
            return HttpResponseClientRedirect(redirect_to_login(return_to(request))["Location"])
        return response
