"""Who may do what: roles are checked here and nowhere else.

Views use the decorators; object endpoints fetch through helpers that raise 404 for a stranger, so
a client can never learn whether another client's object exists.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from portal.lib.net import client_ip
from portal.models import STAFF_ROLES, AccessLog, Client, Role, User

View = Callable[..., HttpResponse]


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
) -> AccessLog:
    """Append one line to the access log for a read (or refused read) of health data."""
    user = request.user if request.user.is_authenticated else None
    return AccessLog.objects.create(
        user=user,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        detail=detail[:300],
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent", "")[:300],
    )
