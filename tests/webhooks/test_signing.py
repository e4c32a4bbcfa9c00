"""Signatures follow Standard Webhooks, so receivers can check them with existing libraries."""

from webhooks import signing

# The specification's own example (standard-webhooks, "Signature scheme"; also in its libraries'
# tests): this secret, id, timestamp and body give exactly this signature.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_it_signs_the_specifications_known_vector():
    assert signing.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == EXPECTED


def test_it_verifies_a_good_delivery_and_refuses_a_changed_one():
    headers = signing.headers(SECRET, MSG_ID, TIMESTAMP, BODY)
    assert headers["webhook-signature"] == EXPECTED
    assert signing.verify(SECRET, headers, BODY, now=TIMESTAMP + 10)
    assert not signing.verify(SECRET, headers, BODY + b" ", now=TIMESTAMP)
    assert not signing.verify(signing.new_secret(), headers, BODY, now=TIMESTAMP)
    replayed_late = TIMESTAMP + signing.TOLERANCE_SECONDS + 1
    assert not signing.verify(SECRET, headers, BODY, now=replayed_late)
    assert not signing.verify(SECRET, {**headers, "webhook-id": "msg_other"}, BODY, now=TIMESTAMP)


def test_a_rotation_header_with_several_signatures_passes_on_any_match():
    headers = signing.headers(SECRET, MSG_ID, TIMESTAMP, BODY)
    headers["webhook-signature"] = "v1,bm90LXRoaXMtb25l " + headers["webhook-signature"]
    assert signing.verify(SECRET, headers, BODY, now=TIMESTAMP)


def test_a_new_secret_has_the_whsec_form_and_24_random_bytes():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(signing._key(secret)) == 24
    assert secret != signing.new_secret()
