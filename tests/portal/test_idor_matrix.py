"""The IDOR matrix: every URL pattern and websocket route, and who may reach what through it.

Each route has an entry saying what it is: public (its credential is a token or a signature),
signed-in (the person's own pages), a client's object (an id another client must never reach),
staff (a client must be refused) or manager only. The tests walk the real URLconf and websocket
routes, so a new route without an entry fails `test_every_route_has_an_entry`, and each kind is
then tried against the demo clinic plus a stranger, "Zoé Étrangère" (tests/portal/idor_world.py):

- anonymous on anything not public → the sign-in page;
- the stranger, GET and POST, on the owner's objects → 404 or 403, with none of the owner's names
  (or their animals') in the body; the owner gets the page, so the ids are not simply wrong;
- a client (the stranger, and the owner too) on every staff page → 403, names absent;
- reception and vets on manager pages → 403;
- tampered tokens on public routes → no error page and no names;
- websockets: anonymous, the stranger on another's conversation, a client on the staff inbox
  are all refused at connect.
"""

import re
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from portal.models import STAFF_ROLES, Role
from tests import factories
from tests.portal import idor_world


@dataclass(frozen=True)
class Entry:
    kind: str
    obj: str | None = None  # the key in idor_world.World.objects that fills the URL
    get: bool = True  # the view answers GET (else POST only)
    roles: frozenset = STAFF_ROLES  # for staff pages: who may use them


PUBLIC, SIGNED_IN, CLIENT_OBJECT, STAFF, TOKEN, API_KEY = (
    "public",
    "signed_in",
    "client_object",
    "staff",
    "token",
    "api_key",
)


def public(obj: str | None = None) -> Entry:
    return Entry(PUBLIC, obj)


def token(obj: str | None = None) -> Entry:
    """Public, with a credential in the URL: tried with a tampered one."""
    return Entry(TOKEN, obj)


def api_key(obj: str | None = None, *, get: bool = True) -> Entry:
    """The JSON API (api/): public to the session middleware, its credential an API key in the
    Authorization header; a session (anyone's, staff's too) is no credential there."""
    return Entry(API_KEY, obj, get=get)


def signed_in(*, get: bool = True) -> Entry:
    return Entry(SIGNED_IN, get=get)


def owned(obj: str, *, get: bool = True) -> Entry:
    return Entry(CLIENT_OBJECT, obj, get=get)


def staff(obj: str | None = None, *, get: bool = True, roles=STAFF_ROLES) -> Entry:
    return Entry(STAFF, obj, get=get, roles=frozenset(roles))


def manager(obj: str | None = None, *, get: bool = True) -> Entry:
    return staff(obj, get=get, roles={Role.MANAGER})


MATRIX: dict[str, Entry] = {
    # portal
    # Signed out, "/" is the clinic's public page; signed in, the person's space.
    "portal:home": public(),
    "portal:clinic_logo": public(),
    "portal:clinic_settings": manager(),
    "portal:team": manager(),
    "portal:duties": manager(),
    "portal:clients": staff(),
    "portal:client_new": staff(),
    "portal:client_detail": staff("client"),
    "portal:client_invite": staff("client", get=False),
    "portal:invitation": token("invitation"),
    "portal:profile": signed_in(),
    "portal:security": signed_in(),
    "portal:otp_setup": signed_in(),
    "portal:otp_verify": signed_in(),
    "portal:otp_backup_codes": signed_in(),
    "portal:otp_disable": signed_in(),
    "portal:sign_out_everywhere": signed_in(get=False),
    "portal:access_log": manager(),
    "portal:access_log_export": manager(),
    "set_language": public(),
    # allauth: signing in, up and out, and recovering an account, are public by nature
    "account_login": public(),
    "account_logout": public(),
    "account_inactive": public(),
    "account_signup": public(),
    "account_reauthenticate": signed_in(),
    "account_request_reauthentication_code": signed_in(),
    "account_confirm_reauthentication_code": signed_in(),
    "account_email": signed_in(),
    "account_email_verification_sent": public(),
    "account_change_password": signed_in(),
    "account_set_password": signed_in(),
    "account_reset_password": public(),
    "account_confirm_login_code": public(),
    "account_confirm_email": token("email_key"),
    "account_reset_password_from_key_done": public(),
    "account_reset_password_from_key": token("reset_key"),
    "account_reset_password_done": public(),
    "account_sessions": signed_in(),
    "usersessions_list": signed_in(),
    # booking
    "booking:mine": signed_in(),
    "booking:new": signed_in(),
    "booking:confirm": signed_in(),
    "booking:detail": owned("appointment"),
    "booking:ics": owned("appointment"),
    "booking:cancel": owned("appointment"),
    "booking:move": owned("appointment"),
    "booking:one_tap": token("one_tap"),
    "booking:agenda": staff(),
    "booking:staff_book": staff(),
    "booking:staff_appointment": staff("appointment"),
    "booking:staff_cancel": staff("appointment", get=False),
    "booking:staff_outcome": staff("appointment", get=False),
    "booking:staff_move": staff("appointment"),
    "booking:staff_mark": staff("appointment", get=False),
    "booking:hours": staff(),
    "booking:absence": staff("timeoff"),
    "booking:rules": manager(),
    "booking:services": manager(),
    "booking:service_edit": manager("service"),
    "booking:feeds": staff(),
    "booking:feed": token("feed"),
    # waitlist
    "waitlist:mine": signed_in(),
    "waitlist:join": signed_in(),
    "waitlist:earlier": signed_in(),
    "waitlist:leave": owned("waitlist_entry", get=False),
    "waitlist:offer": token("offer"),
    "waitlist:staff": staff(),
    "waitlist:staff_offer": staff(get=False),
    "waitlist:staff_withdraw": staff("release", get=False),
    "waitlist:staff_book": staff("release", get=False),
    # records
    "records:my_animals": signed_in(),
    "records:access_history": signed_in(),
    "records:animal": owned("patient"),
    "records:correction": owned("patient", get=False),
    "records:patient_photo": owned("patient", get=False),
    "records:report_download": owned("report"),
    "records:search": staff(),
    "records:patient_new": staff(),
    "records:staff_patient": staff("patient"),
    "records:patient_edit": staff("patient"),
    "records:patient_link": staff("patient", get=False),
    "records:add_entry": staff("patient", get=False),
    "records:add_vaccination": staff("patient", get=False),
    "records:add_treatment": staff("patient", get=False),
    "records:add_weight": staff("patient", get=False),
    "records:upload_report": staff("patient", get=False),
    "records:write_report": staff("patient", get=False),
    "records:publish_report": staff("report", get=False),
    "records:delete_report": staff("report", get=False),
    "records:resolve_correction": staff("correction", get=False),
    # messaging
    "messaging:conversations": signed_in(),
    "messaging:conversation": owned("conversation"),
    "messaging:send": owned("conversation", get=False),
    "messaging:assign": staff("conversation", get=False),
    "messaging:take": staff("conversation", get=False),
    "messaging:status": staff("conversation", get=False),
    "messaging:attachment": owned("attachment"),
    "messaging:inbox": staff(),
    "messaging:quick_replies": staff(),
    "messaging:quick_reply_edit": staff("quick_reply"),
    # notifications
    "notifications:preferences": signed_in(),
    "notifications:unsubscribe": token("unsubscribe"),
    "notifications:sms_receipt": public(),
    "notifications:twilio_status": public(),  # signed: X-Twilio-Signature
    "notifications:twilio_inbound": public(),  # signed: X-Twilio-Signature
    "notifications:ovh_status": token("ovh_callback"),  # the shared token in the path
    "notifications:ovh_inbound": token("ovh_callback"),
    "notifications:anymail_brevo": public(),
    "notifications:anymail_mailgun": public(),
    "notifications:anymail_mailjet": public(),
    "notifications:anymail_postmark": public(),
    "notifications:outbox": staff(),
    "notifications:detail": staff("notification"),
    "notifications:resend": staff("notification", get=False),
    "notifications:client_history": staff("client"),
    "notifications:client_phone": staff("client", get=False),
    "notifications:client_email": staff("client", get=False),
    "notifications:templates": manager(),
    "notifications:template_edit": manager("template"),
    "notifications:campaigns": manager(),
    "notifications:campaign_send": manager("campaign", get=False),
    # privacy: the client's data rights
    "privacy:home": signed_in(),
    "privacy:export_request": signed_in(get=False),
    "privacy:export": owned("data_export"),
    "privacy:correction": signed_in(get=False),
    "privacy:erasure": signed_in(),
    "privacy:consents": signed_in(),
    "privacy:notice": public(),
    "privacy:notice_edit": manager(),
    "privacy:requests": staff(),
    "privacy:resolve_correction": staff("profile_correction", get=False),
    "privacy:confirm_erasure": manager("erasure", get=False),
    # api: the manager's keys, the public description, and the key-holders' operations
    "api:keys": manager(),
    "api:key_revoke": manager("api_key", get=False),
    "api:docs": public(),
    "api_v1:openapi-json": public(),
    "api_v1:api-root": public(),
    "api_v1:clinic": api_key(),
    "api_v1:services": api_key(),
    "api_v1:slots": api_key(),
    "api_v1:clients_find": api_key(),
    "api_v1:appointments": api_key(get=False),
    "api_v1:appointment": api_key("appointment"),
    "api_v1:appointment_move": api_key("appointment", get=False),
    "api_v1:appointment_cancel": api_key("appointment", get=False),
    "api_v1:appointment_confirm": api_key("appointment", get=False),
    "api_v1:messages": api_key(get=False),
    "api_v1:waitlist": api_key(get=False),
    # webhooks: the manager's endpoints and their deliveries (tests/webhooks/test_pages.py tries
    # each object route with an id of another endpoint's)
    "webhooks:endpoints": manager(),
    # orders: the client's requests and renewals, the staff queue, the manager's catalogue
    "orders:mine": signed_in(),
    "orders:new": signed_in(),
    "orders:renew": owned("treatment"),
    "orders:detail": owned("order"),
    "orders:cancel": owned("order", get=False),
    "orders:prescription": owned("order"),
    "orders:queue": staff(),
    "orders:figures": staff(),
    "orders:staff_detail": staff("order"),
    "orders:step": staff("order", get=False),
    "orders:catalogue": manager(),
    "orders:product_edit": manager("product"),
    # records: animals their owners declare, and staff confirm
    "records:animal_new": signed_in(),
    "records:animal_edit": owned("patient"),
    "records:to_confirm": staff(),
    "records:confirm_patient": staff("patient", get=False),
    "notifications:phone": signed_in(),
    # onboarding: a newcomer's booking; its credential is the hold in the browser's session
    "onboarding:start": public(),
    "onboarding:day": public("online_service"),
    "onboarding:hold": public("online_service"),
    "onboarding:account": public(),
    "onboarding:verify": public(),
    "onboarding:link": public(),
    "onboarding:link_record": signed_in(),
    # household: co-owners and pet-sitters; the join link needs the invitee signed in
    "household:home": signed_in(),
    "household:invite": signed_in(get=False),
    "household:join": Entry(SIGNED_IN, "household_join"),
    "household:revoke": owned("shared_link", get=False),
    "household:leave": owned("own_link", get=False),
    "household:cancel": owned("household_invitation", get=False),
    "webhooks:endpoint_new": manager(),
    "webhooks:endpoint": manager("webhook_endpoint"),
    "webhooks:endpoint_active": manager("webhook_endpoint", get=False),
    "webhooks:delivery": manager("webhook_delivery"),
    "webhooks:replay": manager("webhook_delivery", get=False),
}

# Every websocket route, and who may open it.
WEBSOCKETS: dict[str, str] = {
    "ws/conversations/<id:conversation_id>/": "conversation",
    "ws/agenda/": "staff: a day's agenda changed (booking/consumers.py)",
    "ws/messages/inbox/": "own counts (staff: the inbox; a client: their own conversations)",
    "ws/bench/echo/": "bench",
    "": "refuses every path no other route takes (portal/routing.py)",
}

# Tokens that name nothing: each public route with a credential is tried with one.
TAMPERED = {
    "invitation": {"token": "AAAA-tampered-invitation"},
    "one_tap": {"token": "AAAA-tampered-one-tap"},
    "feed": {"token": "AAAA-tampered-feed"},
    "offer": {"token": "AAAA-tampered-offer"},
    "unsubscribe": {"token": "AAAA-tampered-unsubscribe"},
    "ovh_callback": {"token": "AAAA-tampered-ovh-callback"},
    "email_key": {"key": "AAAA-tampered-key"},
    "reset_key": {"uidb36": "zz", "key": "AAAA-tampered-key"},
}


def _routes(resolver=None, prefix: str = "", namespace: str = ""):
    """(route text, full name, callback) of every URL pattern, includes walked."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _routes(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield prefix + str(pattern.pattern), name, pattern.callback


def _is_admin(name: str) -> bool:
    return name.startswith("admin:")


def _websocket_routes() -> list[str]:
    from portal.routing import websocket_urlpatterns

    return [str(p.pattern) for p in websocket_urlpatterns()]


def test_every_route_has_an_entry():
    missing = [
        f"{route} ({name or 'unnamed'})"
        for route, name, _callback in _routes()
        if not _is_admin(name) and name not in MATRIX
    ]
    assert not missing, "add these routes to MATRIX in " + __name__ + ": " + ", ".join(missing)
    names = {name for _route, name, _callback in _routes()}
    assert not (set(MATRIX) - names), f"entries without a route: {set(MATRIX) - names}"
    ws_missing = [route for route in _websocket_routes() if route not in WEBSOCKETS]
    assert not ws_missing, f"add these websocket routes to WEBSOCKETS: {ws_missing}"


def test_exactly_the_public_routes_answer_strangers():
    """Deny by default: a view is public only when marked so, and the matrix says which."""
    for _route, name, callback in _routes():
        if _is_admin(name):
            continue
        entry = MATRIX.get(name)
        if entry is None:
            continue  # test_every_route_has_an_entry names it
        is_public = getattr(callback, "login_required", True) is False
        assert is_public == (entry.kind in (PUBLIC, TOKEN, API_KEY)), (
            f"{name}: public={is_public} but the matrix says {entry.kind}"
        )


def _url(world: idor_world.World, name: str, entry: Entry, *, tampered: bool = False) -> str:
    if entry.kind == TOKEN:
        kwargs = TAMPERED[entry.obj] if tampered or entry.obj not in world.objects else None
        kwargs = kwargs or world.objects[entry.obj].kwargs
    elif entry.kind == API_KEY and entry.obj is not None:
        kwargs = {f"{entry.obj}_id": world.objects[entry.obj].kwargs["pk"]}  # ninja's names
    elif entry.obj is not None:
        kwargs = world.objects[entry.obj].kwargs
    else:
        kwargs = {}
    return reverse(name, kwargs=kwargs)


def _leaks(world: idor_world.World, body: str) -> list[str]:
    return [name for name in world.secrets if re.search(rf"\b{re.escape(name)}\b", body)]


@pytest.fixture
def world(db, settings, tmp_path) -> idor_world.World:
    settings.MEDIA_ROOT = tmp_path
    world = idor_world.build()
    from api.models import ApiKey

    manager_user = world.users["manager"]
    key, _token = ApiKey.issue(name="Matrix", scopes=[], channel="phone", created_by=manager_user)
    world.objects["api_key"] = idor_world.Target({"pk": key.pk})
    return world


def _sessions(world: idor_world.World) -> dict[str, HttpClient]:
    http = {"anonymous": HttpClient()}
    for key, user in world.users.items():
        if user.role in STAFF_ROLES:
            http[key] = factories.verified_http_client(user)
        else:
            http[key] = factories.http_client(user)
    return http


def _object_routes(kind: str):
    for _route, name, _callback in _routes():
        entry = MATRIX.get(name)
        if entry is not None and entry.kind == kind:
            yield name, entry


def test_anonymous_is_sent_to_sign_in_everywhere_but_public_routes(world):
    http = HttpClient()
    login = reverse("account_login")
    wrong = []
    for _route, name, _callback in _routes():
        if name not in MATRIX and not _is_admin(name):
            continue  # test_every_route_has_an_entry names it
        entry = MATRIX.get(name)
        if entry is not None and entry.kind in (PUBLIC, TOKEN, API_KEY):
            continue
        if entry is not None and entry.obj is not None and entry.obj not in world.objects:
            continue
        url = _url(world, name, entry) if entry else None
        if url is None:
            continue
        for method in ("get", "post"):
            response = getattr(http, method)(url)
            if response.status_code != 302 or not response["Location"].startswith(login):
                wrong.append(f"{method.upper()} {url} ({name}): {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_anonymous_htmx_request_gets_a_full_page_redirect_to_sign_in(world):
    response = HttpClient().get(reverse("booking:mine"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("account_login"))


def test_the_stranger_reaches_none_of_the_owners_objects(world):
    http = _sessions(world)
    wrong = []
    for name, entry in _object_routes(CLIENT_OBJECT):
        if entry.obj not in world.objects:
            wrong.append(f"{name}: the world has no {entry.obj}")
            continue
        url = _url(world, name, entry)
        for method in ("get", "post"):
            response = getattr(http["stranger"], method)(url)
            body = response.content.decode(errors="replace")
            if response.status_code not in (403, 404, 405) or _leaks(world, body):
                wrong.append(
                    f"stranger {method.upper()} {url} ({name}): {response.status_code} "
                    f"{_leaks(world, body)}"
                )
        if entry.get:
            response = http["owner"].get(url)
            if response.status_code != 200:
                wrong.append(f"owner GET {url} ({name}): {response.status_code}, not 200")
    assert not wrong, "\n".join(wrong)


@pytest.mark.slow
def test_a_client_is_refused_on_every_staff_page(world):
    http = _sessions(world)
    wrong = []
    for name, entry in _object_routes(STAFF):
        if entry.obj is not None and entry.obj not in world.objects:
            continue  # the demo has none (e.g. no campaign yet): the route is checked elsewhere
        url = _url(world, name, entry)
        for who in ("stranger", "owner"):
            for method in ("get", "post"):
                response = getattr(http[who], method)(url)
                body = response.content.decode(errors="replace")
                leaks = _leaks(world, body) if who == "stranger" else []
                if response.status_code != 403 or leaks:
                    wrong.append(f"{who} {method.upper()} {url}: {response.status_code} {leaks}")
        if entry.get:
            allowed = "manager" if Role.MANAGER in entry.roles else "vet"
            response = http[allowed].get(url)
            if response.status_code != 200:
                wrong.append(f"{allowed} GET {url} ({name}): {response.status_code}, not 200")
        for role in ("reception", "vet"):
            if world.users[role].role not in entry.roles:
                response = http[role].get(url) if entry.get else http[role].post(url)
                if response.status_code != 403:
                    wrong.append(f"{role} on manager page {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_tampered_tokens_show_nothing_of_anyone(world):
    http = _sessions(world)
    wrong = []
    for name, entry in _object_routes(TOKEN):
        url = _url(world, name, entry, tampered=True)
        for who in ("anonymous", "stranger"):
            for method in ("get", "post"):
                response = getattr(http[who], method)(url)
                body = response.content.decode(errors="replace")
                if response.status_code >= 500 or _leaks(world, body):
                    wrong.append(f"{who} {method.upper()} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_api_operations_answer_no_one_without_a_key(world):
    """A session is no credential for the API: anonymous, a client, even the manager get 401
    (405 for a method the operation does not take), and no names."""
    http = _sessions(world)
    wrong = []
    for name, entry in _object_routes(API_KEY):
        url = _url(world, name, entry)
        for who in ("anonymous", "owner", "stranger", "manager"):
            for method in ("get", "post"):
                response = getattr(http[who], method)(url)
                body = response.content.decode(errors="replace")
                if response.status_code not in (401, 405) or _leaks(world, body):
                    wrong.append(f"{who} {method.upper()} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_clients_never_reach_the_admin(world):
    http = _sessions(world)
    wrong = []
    for route, name, _callback in _routes():
        # The admin's own sign-in and sign-out pages show no data to anyone.
        if name in ("admin:login", "admin:logout"):
            continue
        if not _is_admin(name) or "<" in route or "(?P" in route:
            continue
        url = "/" + route.replace("^", "").replace("$", "")
        response = http["owner"].get(url)
        if response.status_code == 200:
            wrong.append(f"client GET {url}: 200")
    assert not wrong, "\n".join(wrong)


# --- websockets ----------------------------------------------------------------------------------


def _socket(http: HttpClient | None, path: str) -> WebsocketCommunicator:
    from portal.asgi import application

    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
    if http is not None and settings.SESSION_COOKIE_NAME in http.cookies:
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={http.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        headers.append((b"cookie", cookie.encode()))
    return WebsocketCommunicator(application, path, headers)


async def _refused(http: HttpClient | None, path: str) -> bool:
    comm = _socket(http, path)
    connected, _ = await comm.connect(timeout=3)
    if connected:
        # Some consumers accept, then close on the first event once they find no right.
        await comm.send_json_to({"type": "hello", "last_seq": 0})
        output = await comm.receive_output(timeout=3)
        await comm.disconnect()
        return output["type"] == "websocket.close"
    return True


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("clearable_access_log")
async def test_websocket_routes_refuse_strangers(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    world = await sync_to_async(idor_world.build)()
    http = await sync_to_async(_sessions)(world)
    conversation = world.objects["conversation"].kwargs["pk"]
    own = f"/ws/conversations/{conversation}/"
    assert await _refused(None, own), "anonymous opened a conversation socket"
    assert await _refused(http["stranger"], own), "the stranger opened the owner's conversation"
    assert not await _refused(http["owner"], own), "the owner could not open their conversation"
    assert await _refused(None, "/ws/messages/inbox/"), "anonymous opened the inbox socket"
    assert await _refused(http["stranger"], f"/ws/conversations/{2**70}/")
    assert await _refused(http["owner"], "/ws/no/such/socket/")
    assert await _refused(http["owner"], "/ws/agenda/"), "a client opened the agenda socket"
    assert await _refused(None, "/ws/agenda/"), "anonymous opened the agenda socket"

    # The inbox socket: a client's carries their own counts only, never the staff inbox's.
    owners = _socket(http["owner"], "/ws/messages/inbox/")
    vets = _socket(http["vet"], "/ws/messages/inbox/")
    assert (await owners.connect(timeout=3))[0]
    assert (await vets.connect(timeout=3))[0]
    stranger = world.users["stranger"]
    await sync_to_async(_stranger_writes)(stranger)
    staff_frame = await vets.receive_from(timeout=3)
    assert "Étrangère" in staff_frame or "inbox" in staff_frame.lower()
    assert await owners.receive_nothing(timeout=0.3), "a client's socket got the staff inbox"
    await owners.disconnect()
    await vets.disconnect()


def _stranger_writes(user) -> None:
    from tests.messaging.factories import make_conversation

    make_conversation(user, subject="Zéphyr boite", body="Depuis ce matin.")
