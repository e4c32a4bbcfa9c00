"""Who may do what: roles are checked here and nowhere else.

Views use the decorators; object endpoints fetch through helpers that raise 404 for a stranger, so
a client can never learn whether another client's object exists.
"""

import logging
from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from portal.lib.net import client_ip
from portal.models import STAFF_ROLES, AccessLog, Client, Duties, Duty, Role, User

View = Callable[..., HttpResponse]
logger = logging.getLogger(__name__)


def is_staff(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role in STAFF_ROLES


def is_manager(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role == Role.MANAGER


def needs_two_factor(user: User) -> bool:
    """Staff must always pass a second factor; clients only once they have enrolled one."""
    return is_staff(user)


def role_required(*roles: str) -> Callable[[View], View]:
    """Logged in, with one of `roles`, else the 403 page."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.role not in roles:
                log_refusal(request)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


staff_required = role_required(*STAFF_ROLES)
manager_required = role_required(Role.MANAGER)
client_required = role_required(Role.CLIENT)


def client_of(user: User) -> Client:
    """The client record of a logged-in client; 404 when there is none (a staff account)."""
    try:
        return user.client
    except Client.DoesNotExist:
        raise Http404 from None


def client_for_staff(pk: int) -> Client:
    try:
        return Client.objects.select_related("user", "usual_site").get(pk=pk)
    except Client.DoesNotExist:
        raise Http404 from None


def log_access(
    request: HttpRequest,
    *,
    action: str,
    object_type: str,
    object_id: object,
    detail: str = "",
    user: User | None = None,
) -> AccessLog:
    """Append one line to the access log for a read (or refused read) of health data.

    `user`: whom the read is for when nobody signed in (a calendar feed read by its token);
    by default the request's user."""
    if user is None and request.user.is_authenticated:
        user = request.user
    return AccessLog.objects.create(
        user=user,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail[:300],
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:300],
    )


def log_unreadable(request: HttpRequest, *, object_type: str, object_id: object, why: str) -> None:
    """A stored file that does not decrypt (missing, wrong key, tampered): an error for the
    operators and an alert line in the access log, before the view explains it to the reader."""
    logger.error("%s %s could not be decrypted: %s", object_type, object_id, why)
    log_access(
        request,
        action=AccessLog.Action.ALERT,
        object_type=object_type,
        object_id=object_id,
        detail=f"undecryptable: {why}",
    )


def log_refusal(request: HttpRequest) -> AccessLog:
    """A signed-in person turned away from a page their role does not open (a client on a staff
    record page, say): the page's name is the object, its path the detail."""
    match = request.resolver_match
    return log_access(
        request,
        action=AccessLog.Action.DENIED,
        object_type="page",
        object_id=match.view_name if match else "",
        detail=request.path,
    )


# --- Separation of duties (issue 11) -------------------------------------------------------------
# Kept apart from the access log above: the duties work owns this block.


def duties_of(user: User, *, fresh: bool = False) -> frozenset[str]:
    """The duties of `user`'s role; none for a client or an inactive account.

    Read once per request: the table is kept on the user object, which lives as long as the
    request (a duty changed meanwhile takes effect from the next request). A websocket's user
    lives as long as the socket, so its consumer asks with `fresh=True` on each event.
    """
    if not is_staff(user):
        return frozenset()
    table = None if fresh else getattr(user, "_duties_table", None)
    if table is None:
        table = Duties.table()
        user._duties_table = table
    return table.get(user.role, frozenset())


def has_duty(user: User, duty: str, *, fresh: bool = False) -> bool:
    return duty in duties_of(user, fresh=fresh)


def duty_required(duty: str) -> Callable[[View], View]:
    """Staff whose role holds `duty`, else a 403 page naming the duty and who can grant it."""
    if duty not in Duty.values:
        raise ValueError(f"Unknown duty: {duty}")

    def decorator(view: View) -> View:
        @staff_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not has_duty(request.user, duty):
                log_refusal(request)  # a refused write is traced like a refused read
                return duty_denied(request, duty)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def duty_denied(request: HttpRequest, duty: str) -> HttpResponse:
    managers = User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk")
    return render(
        request,
        "portal/duty_denied.html",
        {"duty": Duty(duty), "managers": list(managers[:3])},
        status=403,
    )
