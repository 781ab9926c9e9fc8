"""Access-token verification against a JWKS served over real HTTP, and device-token helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from vigia.common.auth import (
    AccessClaims,
    InvalidToken,
    JWKSClient,
    KeySetUnavailable,
    constant_time_equals,
    device_token_matches,
    hash_device_token,
    is_well_formed_device_token,
    new_device_token,
)

ISSUER, AUDIENCE = "vigia-control", "vigia"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    def jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)


def _key(kid: str, bits: int = 2048) -> SigningKey:
    return SigningKey(kid, rsa.generate_private_key(public_exponent=65537, key_size=bits))


@pytest.fixture(scope="module")
def key_a() -> SigningKey:
    return _key("key-a")


@pytest.fixture(scope="module")
def key_b() -> SigningKey:
    return _key("key-b")


@dataclass
class JWKSServer:
    """A real HTTP server publishing a JWK set the test can change, counting the fetches."""

    url: str
    keys: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    status: int = 200

    def publish(self, *keys: SigningKey) -> None:
        self.keys = [k.jwk() for k in keys]


@pytest.fixture
def jwks_server() -> Iterator[JWKSServer]:
    state = JWKSServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            if self.path != "/.well-known/jwks.json":
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


class FakeClock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(jwks_server: JWKSServer, clock: FakeClock) -> JWKSClient:
    return JWKSClient(jwks_server.url, ISSUER, AUDIENCE, cache_seconds=300, min_refresh_seconds=30,
                      clock=clock)


USER, ORG = uuid.uuid4(), uuid.uuid4()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(USER), "org": str(ORG),
                              "role": "operator", "email": "op@example.com", "jti": uuid.uuid4().hex,
                              "iat": now, "exp": now + 900}
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def sign(key: SigningKey, kid: str | None = "", **overrides: Any) -> str:
    headers = {"kid": key.kid if kid == "" else kid} if kid is not None else {}
    return jwt.encode(claims(**overrides), key.private, algorithm="RS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A token built without a JWT library, the way an attacker would."""
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    return head + "." + _b64(signature)


# -- accepted --------------------------------------------------------------------------------


def test_valid_token_yields_typed_claims(client: JWKSClient, jwks_server: JWKSServer,
                                         key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    token = sign(key_a, role="admin", jti="j-1")

    result = client.verify(token)

    assert isinstance(result, AccessClaims)
    assert (result.sub, result.user_id, result.org, result.role) == (USER, USER, ORG, "admin")
    assert (result.jti, result.kid, result.email) == ("j-1", "key-a", "op@example.com")
    assert result.exp.tzinfo is not None
    assert abs(result.exp.timestamp() - time.time() - 900) < 5


async def test_async_verification_accepts_the_same_token(client: JWKSClient, jwks_server: JWKSServer,
                                                         key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    result = await client.averify(sign(key_a))
    assert result.org == ORG
    assert jwks_server.requests == 1


# -- refused ---------------------------------------------------------------------------------


def _refused(client: JWKSClient, token: str, reason: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        client.verify(token)
    assert reason in caught.value.reason


def test_expired_token_is_refused(client: JWKSClient, jwks_server: JWKSServer, key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    now = int(time.time())
    _refused(client, sign(key_a, iat=now - 1000, exp=now - 60), "expired")


def test_expiry_within_the_clock_skew_leeway_is_accepted(client: JWKSClient, jwks_server: JWKSServer,
                                                         key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    now = int(time.time())
    assert client.verify(sign(key_a, iat=now - 900, exp=now - 5)).sub == USER


def test_tampered_payload_is_refused(client: JWKSClient, jwks_server: JWKSServer, key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    header, _, signature = sign(key_a, role="viewer").split(".")
    forged_payload = _b64(json.dumps(claims(role="admin")).encode())
    _refused(client, f"{header}.{forged_payload}.{signature}", "signature")


def test_tampered_signature_is_refused(client: JWKSClient, jwks_server: JWKSServer,
                                       key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    head, payload, signature = sign(key_a).split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=="))
    flipped[10] ^= 1
    _refused(client, f"{head}.{payload}.{_b64(bytes(flipped))}", "signature")


def test_token_signed_by_another_key_under_a_known_kid_is_refused(
        client: JWKSClient, jwks_server: JWKSServer, key_a: SigningKey, key_b: SigningKey) -> None:
    jwks_server.publish(key_a)
    impostor = SigningKey("key-a", key_b.private)
    _refused(client, sign(impostor), "signature")


def test_alg_none_is_refused_without_fetching_keys(client: JWKSClient, jwks_server: JWKSServer,
                                                   key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    for alg in ("none", "None", "NONE"):
        _refused(client, handmade({"alg": alg, "kid": "key-a", "typ": "JWT"}, claims(role="admin")),
                 "algorithm")
    assert jwks_server.requests == 0


def test_hs256_signed_with_the_public_key_is_refused(client: JWKSClient, jwks_server: JWKSServer,
                                                     key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    client.verify(sign(key_a))  # the keys are cached: the attack targets a warm verifier
    header = {"alg": "HS256", "kid": "key-a", "typ": "JWT"}
    for secret in (key_a.public_pem(), json.dumps(key_a.jwk()).encode()):
        unsigned = handmade(header, claims(role="admin")).rsplit(".", 1)[0]
        mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        _refused(client, f"{unsigned}.{_b64(mac)}", "algorithm")


@pytest.mark.parametrize("alg", ["RS512", "PS256", "ES256"])
def test_other_asymmetric_algorithms_are_refused(client: JWKSClient, jwks_server: JWKSServer,
                                                 key_a: SigningKey, alg: str) -> None:
    jwks_server.publish(key_a)
    _refused(client, handmade({"alg": alg, "kid": "key-a"}, claims(), b"sig"), "algorithm")


def test_missing_kid_is_refused_without_fetching(client: JWKSClient, jwks_server: JWKSServer,
                                                 key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    _refused(client, sign(key_a, kid=None), "kid")
    _refused(client, handmade({"alg": "RS256", "kid": ""}, claims(), b"x"), "kid")
    with pytest.raises(InvalidToken):
        client.verify(handmade({"alg": "RS256", "kid": 7}, claims(), b"x"))
    assert jwks_server.requests == 0


@pytest.mark.parametrize(("override", "reason"), [
    ({"iss": "someone-else"}, "issuer"),
    ({"aud": "another-service"}, "audience"),
    ({"jti": None}, "jti"),
    ({"org": None}, "org"),
    ({"exp": None}, "exp"),
    ({"role": "superuser"}, "role"),
    ({"sub": "42"}, "UUID"),
    ({"nbf": int(time.time()) + 3600}, "not yet valid"),
])
def test_wrong_or_missing_claims_are_refused(client: JWKSClient, jwks_server: JWKSServer, key_a: SigningKey,
                                             override: dict[str, Any], reason: str) -> None:
    jwks_server.publish(key_a)
    _refused(client, sign(key_a, **override), reason)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 9000, "eyJhbGciOiJSUzI1NiJ9..."])
def test_malformed_tokens_are_refused(client: JWKSClient, token: str) -> None:
    with pytest.raises(InvalidToken):
        client.verify(token)


# -- the key cache ---------------------------------------------------------------------------


def test_keys_are_fetched_once_and_cached(client: JWKSClient, jwks_server: JWKSServer, clock: FakeClock,
                                          key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    for _ in range(10):
        client.verify(sign(key_a))
        clock.now += 20
    assert jwks_server.requests == 1  # 200 s later, still inside the 300 s cache

    clock.now += 150
    client.verify(sign(key_a))
    assert jwks_server.requests == 2  # the cache expired: fetched again


def test_unknown_kid_refreshes_once_then_fails(client: JWKSClient, jwks_server: JWKSServer, clock: FakeClock,
                                               key_a: SigningKey, key_b: SigningKey) -> None:
    jwks_server.publish(key_a)
    client.verify(sign(key_a))
    assert jwks_server.requests == 1
    clock.now += 60

    _refused(client, sign(key_b, kid="forged-1"), "unknown signing key")
    assert jwks_server.requests == 2
    for i in range(50):  # an attacker cycling kids gets no further fetches
        _refused(client, sign(key_b, kid=f"forged-{i + 2}"), "unknown signing key")
    assert jwks_server.requests == 2

    clock.now += 31
    _refused(client, sign(key_b, kid="forged-late"), "unknown signing key")
    assert jwks_server.requests == 3  # one more refresh once the rate-limit window has passed


def test_rotated_key_is_picked_up_on_refresh(client: JWKSClient, jwks_server: JWKSServer, clock: FakeClock,
                                             key_a: SigningKey, key_b: SigningKey) -> None:
    jwks_server.publish(key_a)
    old_token = sign(key_a)
    client.verify(old_token)
    clock.now += 60

    jwks_server.publish(key_b, key_a)  # control rotated: B signs, A still verifies
    assert client.verify(sign(key_b)).kid == "key-b"
    assert client.verify(old_token).kid == "key-a"
    assert jwks_server.requests == 2

    jwks_server.publish(key_b)  # A retired for good
    clock.now += 301
    _refused(client, old_token, "unknown signing key")


async def test_async_refresh_picks_up_a_rotated_key(client: JWKSClient, jwks_server: JWKSServer,
                                                    clock: FakeClock, key_a: SigningKey,
                                                    key_b: SigningKey) -> None:
    jwks_server.publish(key_a)
    await client.averify(sign(key_a))
    clock.now += 60
    jwks_server.publish(key_a, key_b)
    assert (await client.averify(sign(key_b))).kid == "key-b"
    with pytest.raises(InvalidToken):
        await client.averify(sign(key_b, kid="forged"))
    assert jwks_server.requests == 2


def test_cached_keys_keep_verifying_while_the_jwks_server_fails(
        client: JWKSClient, jwks_server: JWKSServer, clock: FakeClock, key_a: SigningKey) -> None:
    jwks_server.publish(key_a)
    client.verify(sign(key_a))
    jwks_server.status = 503
    clock.now += 400  # cache stale, refetch fails

    assert client.verify(sign(key_a)).kid == "key-a"
    assert jwks_server.requests == 2


def test_no_keys_at_all_is_unavailable_not_invalid(jwks_server: JWKSServer, clock: FakeClock,
                                                   key_a: SigningKey) -> None:
    jwks_server.status = 500
    client = JWKSClient(jwks_server.url, ISSUER, AUDIENCE, clock=clock)
    with pytest.raises(KeySetUnavailable):
        client.verify(sign(key_a))

    unreachable = JWKSClient("http://127.0.0.1:9/.well-known/jwks.json", ISSUER, AUDIENCE, timeout=1)
    with pytest.raises(KeySetUnavailable):
        unreachable.verify(sign(key_a))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_unusable_jwks_entries_are_ignored(client: JWKSClient, jwks_server: JWKSServer) -> None:
    weak = _key("weak", bits=1024)
    enc = _key("enc")
    jwks_server.keys = [weak.jwk(), {**enc.jwk(), "use": "enc"},
                        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
                        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"}, "junk"]
    _refused(client, sign(weak), "unknown signing key")
    _refused(client, sign(enc), "unknown signing key")


# -- device tokens ---------------------------------------------------------------------------


def test_new_device_token_has_the_documented_shape() -> None:
    token, prefix, token_hash = new_device_token()
    assert token.startswith("vdt_") and len(token) == 4 + 43
    assert base64.urlsafe_b64decode(token[4:] + "=").__len__() == 32
    assert prefix == token[:12]
    assert token_hash == hashlib.sha256(token.encode()).hexdigest() == hash_device_token(token)
    assert is_well_formed_device_token(token)


def test_device_tokens_do_not_repeat() -> None:
    tokens = {new_device_token().token for _ in range(2000)}
    assert len(tokens) == 2000


@pytest.mark.parametrize("token", [
    None, 42, "", "vdt_", "vdx_" + "A" * 43, "vdt_" + "A" * 42, "vdt_" + "A" * 44, "vdt_" + "A" * 42 + "=",
    "vdt_" + "A" * 42 + "+", "vdt_" + "A" * 42 + "/", "vdt_" + "A" * 42 + "B",  # 'B' sets a spare bit
    " vdt_" + "A" * 43, "vdt_" + "A" * 43 + "\n", "VDT_" + "A" * 43,
])
def test_malformed_device_tokens_are_recognised(token: object) -> None:
    assert not is_well_formed_device_token(token)


def test_device_token_matches_only_its_own_hash() -> None:
    token, _, token_hash = new_device_token()
    other, _, other_hash = new_device_token()
    assert device_token_matches(token, token_hash)
    assert not device_token_matches(token, other_hash)
    assert not device_token_matches(other, token_hash)
    assert not device_token_matches(token + "x", hash_device_token(token + "x"))


def test_constant_time_equals_compares_text_and_bytes() -> None:
    assert constant_time_equals("abc", "abc")
    assert constant_time_equals(b"abc", "abc")
    assert not constant_time_equals("abc", "abd")
    assert not constant_time_equals("abc", "abcd")
