"""Tokens from the OAuth2 endpoint, how /graphql judges them, and web-client login with a session cookie."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jws, jwt
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import func, update

import auth.oauth
import auth.sessions
from api.settings import Settings
from auth.csrf import CSRF_HEADER
from auth.keys import SigningKeys
from auth.passwords import verify_secret
from auth.principal import EMPLOYER_SCOPES, MINISTRY_SCOPES
from auth.tokens import InvalidToken, principal_from_access_token
from db.accounts import ApiClient, Employer, UserSession
from db.engine import Database
from db.enums import Role
from tests.factories import Factory

VIEWER = "{ viewer { name roles scopes } }"
FORM = {"grant_type": "client_credentials"}


@pytest.fixture
def keys(app: Any) -> SigningKeys:
    return app.state.signing_keys  # type: ignore[no-any-return]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(settings: Settings, **changes: Any) -> dict[str, Any]:
    """The claims of a good access token for client "hr-1", with the given claims changed (None drops one)."""
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "sub": "hr-1",
        "aud": settings.audience,
        "exp": now + 300,
        "iat": now,
        "jti": "forged-1",
        "client_id": "hr-1",
        "scope": "vacancies:read",
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def es256_token(key: KeySet | ECKey, claims: dict[str, Any], **header: str) -> str:
    return jws.serialize_compact({"alg": "ES256", **header}, json.dumps(claims), key)


def encoded(header: dict[str, str], claims: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"


def unsigned_token(claims: dict[str, Any]) -> str:
    return encoded({"alg": "none", "typ": "at+jwt"}, claims) + "."


def hs256_token_keyed_with_the_public_key(keys: SigningKeys, claims: dict[str, Any]) -> str:
    """The classic confusion attack: an HMAC whose secret is the verifier's public key."""
    signing_input = encoded({"alg": "HS256", "typ": "at+jwt"}, claims)
    secret = keys.private_key.as_pem(private=False)
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


async def post_token(client: httpx.AsyncClient, form: dict[str, str], auth: tuple[str, str] | None) -> httpx.Response:
    return await client.post("/oauth/token", data=form, auth=auth)


async def viewer(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/graphql", json={"query": VIEWER}, headers=headers)


@pytest.fixture
def verified_hashes(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The hashes each secret check verified against (None: the dummy hash of an unknown account)."""
    hashes: list[str | None] = []

    def spy(secret_hash: str | None, secret: str) -> bool:
        hashes.append(secret_hash)
        return verify_secret(secret_hash, secret)

    monkeypatch.setattr(auth.oauth, "verify_secret", spy)
    monkeypatch.setattr(auth.sessions, "verify_secret", spy)
    return hashes


# The signing key


def test_a_new_signing_key_is_written_for_the_owner_only_and_reused_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "not-yet" / "signing-key.json"

    first = SigningKeys.load_or_create(path)
    again = SigningKeys.load_or_create(path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.kid == again.kid == first.private_key.thumbprint()
    assert first.algorithm == "ES256"
    assert [key["kid"] for key in first.public_jwks()["keys"]] == [first.kid]
    assert "d" not in first.public_jwks()["keys"][0]


def test_a_provisioned_key_file_with_a_key_that_is_not_p256_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.json"
    path.write_text(json.dumps(KeySet([ECKey.generate_key("P-384")]).as_dict(private=True)))

    with pytest.raises(ValueError, match="P-256"):
        SigningKeys.load_or_create(path)


# The token endpoint


async def test_a_client_gets_an_access_token_with_http_basic_credentials(
    client: httpx.AsyncClient, make: Factory, settings: Settings
) -> None:
    client_id, secret = await make.api_client(await make.employer())

    response = await post_token(client, FORM, auth=(client_id, secret))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["scope"].split() == list(EMPLOYER_SCOPES)
    assert response.headers["cache-control"] == "no-store"


async def test_a_client_gets_an_access_token_with_credentials_in_the_form_body(
    client: httpx.AsyncClient, make: Factory
) -> None:
    client_id, secret = await make.api_client(await make.employer())

    response = await post_token(client, {**FORM, "client_id": client_id, "client_secret": secret}, auth=None)

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


async def test_the_access_token_is_an_es256_at_jwt_with_the_rfc_9068_claims(
    make: Factory, settings: Settings, keys: SigningKeys
) -> None:
    employer = await make.employer()
    caller = await make.caller(employer)

    header = jws.extract_compact(caller.token.encode()).headers()
    claims = json.loads(jws.extract_compact(caller.token.encode()).payload)

    assert header == {"typ": "at+jwt", "alg": "ES256", "kid": keys.kid}
    assert claims["iss"] == settings.issuer
    assert claims["aud"] == settings.audience
    assert claims["sub"] == claims["client_id"] == caller.client_id
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl_seconds
    assert claims["jti"]
    assert claims["scope"].split() == list(EMPLOYER_SCOPES)
    assert claims["employer_id"] == str(employer.id)


async def test_a_ministry_clients_token_names_no_employer(make: Factory) -> None:
    caller = await make.caller(None)

    claims = json.loads(jws.extract_compact(caller.token.encode()).payload)

    assert "employer_id" not in claims
    assert claims["scope"].split() == list(MINISTRY_SCOPES)


async def test_the_access_token_verifies_against_the_published_jwks(client: httpx.AsyncClient, make: Factory) -> None:
    caller = await make.caller(await make.employer())

    response = await client.get("/.well-known/jwks.json")

    published = response.json()
    assert all("d" not in key and key["use"] == "sig" and key["alg"] == "ES256" for key in published["keys"])
    token = jwt.decode(caller.token, KeySet.import_key_set(published), algorithms=["ES256"])
    assert token.claims["client_id"] == caller.client_id


async def test_the_metadata_document_describes_the_client_credentials_server(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response.json() == {
        "issuer": settings.issuer,
        "token_endpoint": f"{settings.issuer}/oauth/token",
        "jwks_uri": f"{settings.issuer}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": list(EMPLOYER_SCOPES + MINISTRY_SCOPES),
        "response_types_supported": [],
    }


async def test_a_wrong_secret_is_refused_as_invalid_client(client: httpx.AsyncClient, make: Factory) -> None:
    client_id, _ = await make.api_client(await make.employer())

    response = await post_token(client, FORM, auth=(client_id, "not-the-secret"))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic ")


async def test_an_unknown_client_gets_the_same_answer_as_a_wrong_secret(
    client: httpx.AsyncClient, make: Factory
) -> None:
    client_id, _ = await make.api_client(await make.employer())

    wrong_secret = await post_token(client, FORM, auth=(client_id, "not-the-secret"))
    unknown = await post_token(client, FORM, auth=("no-such-client", "not-the-secret"))

    assert unknown.status_code == wrong_secret.status_code == 401
    assert unknown.json() == wrong_secret.json()


async def test_an_unknown_client_costs_a_secret_verification_like_a_known_one(
    client: httpx.AsyncClient, verified_hashes: list[str | None]
) -> None:
    await post_token(client, FORM, auth=("no-such-client", "not-the-secret"))
    await post_token(client, {**FORM, "client_id": "no-such-client", "client_secret": "x"}, auth=None)

    assert verified_hashes == [None, None]


async def test_an_inactive_client_is_refused_as_invalid_client(
    client: httpx.AsyncClient, make: Factory, db: Database
) -> None:
    client_id, secret = await make.api_client(await make.employer())
    async with db.write() as session:
        await session.execute(update(ApiClient).where(ApiClient.client_id == client_id).values(is_active=False))

    response = await post_token(client, FORM, auth=(client_id, secret))

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_grant_other_than_client_credentials_is_unsupported(client: httpx.AsyncClient, make: Factory) -> None:
    client_id, secret = await make.api_client(await make.employer())

    response = await post_token(
        client, {"grant_type": "password", "username": "a", "password": "b"}, auth=(client_id, secret)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("form", "use_basic"),
    [
        pytest.param({}, True, id="without grant_type"),
        pytest.param({**FORM, "client_secret": "x"}, True, id="with credentials in the header and the body"),
    ],
)
async def test_a_malformed_token_request_is_an_invalid_request(
    client: httpx.AsyncClient, make: Factory, form: dict[str, str], use_basic: bool
) -> None:
    client_id, secret = await make.api_client(await make.employer())

    response = await post_token(client, form, auth=(client_id, secret) if use_basic else None)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_a_client_may_ask_for_fewer_scopes_than_it_holds(make: Factory) -> None:
    client_id, secret = await make.api_client(await make.employer())

    token = await make.token(client_id, secret, scope="vacancies:read")

    assert json.loads(jws.extract_compact(token.encode()).payload)["scope"] == "vacancies:read"


async def test_scopes_the_client_lacks_are_left_out_of_its_token(client: httpx.AsyncClient, make: Factory) -> None:
    client_id, secret = await make.api_client(await make.employer(), scopes=["vacancies:read"])

    response = await post_token(client, {**FORM, "scope": "vacancies:read hires:write"}, auth=(client_id, secret))

    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "vacancies:read"


@pytest.mark.parametrize("scope", ["hires:write", "ministry:audit", "admin"])
async def test_asking_only_for_scopes_the_client_lacks_is_an_invalid_scope(
    client: httpx.AsyncClient, make: Factory, scope: str
) -> None:
    client_id, secret = await make.api_client(await make.employer(), scopes=["vacancies:read"])

    response = await post_token(client, {**FORM, "scope": scope}, auth=(client_id, secret))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


# How /graphql judges bearer tokens


async def test_graphql_without_credentials_answers_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await viewer(client, {})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="karngar"'
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_graphql_shows_a_valid_tokens_client_and_scopes(client: httpx.AsyncClient, make: Factory) -> None:
    client_id, secret = await make.api_client(await make.employer())
    token = await make.token(client_id, secret, scope="vacancies:read profiles:read")

    response = await viewer(client, {"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"] == {
        "name": client_id,
        "roles": [],
        "scopes": ["profiles:read", "vacancies:read"],
    }


async def test_a_token_forged_with_the_real_key_and_good_claims_is_accepted(
    client: httpx.AsyncClient, settings: Settings, keys: SigningKeys
) -> None:
    """The forgeries below differ from this token in one way each, so each fails for its own reason."""
    response = await viewer(client, {"Authorization": f"Bearer {well_typed(settings, keys)}"})

    assert response.status_code == 200, response.text


def well_typed(settings: Settings, keys: SigningKeys, **changes: Any) -> str:
    return es256_token(keys.signing_key_set, claims_for(settings, **changes), typ="at+jwt")


def signed_by_another_key_with_the_same_kid(settings: Settings, keys: SigningKeys) -> str:
    return es256_token(ECKey.generate_key("P-256", parameters={"kid": keys.kid}), claims_for(settings), typ="at+jwt")


BAD_TOKENS = {
    "expired": lambda s, k: well_typed(s, k, exp=int(time.time()) - 60),
    "signed by another key": signed_by_another_key_with_the_same_kid,
    "from another issuer": lambda s, k: well_typed(s, k, iss="https://elsewhere.example"),
    "for another audience": lambda s, k: well_typed(s, k, aud="https://elsewhere.example/graphql"),
    "without jti": lambda s, k: well_typed(s, k, jti=None),
    "with a number for employer_id": lambda s, k: well_typed(s, k, employer_id=7),
    "typed JWT": lambda s, k: es256_token(k.signing_key_set, claims_for(s), typ="JWT"),
    "untyped": lambda s, k: es256_token(k.signing_key_set, claims_for(s)),
    "alg none": lambda s, k: unsigned_token(claims_for(s)),
    "HS256 keyed with the public key": lambda s, k: hs256_token_keyed_with_the_public_key(k, claims_for(s)),
    "not a JWT": lambda s, k: "not-a-jwt",
}


async def test_an_accepted_token_is_refused_once_it_expires(
    client: httpx.AsyncClient, settings: Settings, keys: SigningKeys
) -> None:
    """Each process remembers the tokens it verified: never past their expiry."""
    expires_at = int(time.time()) + 2
    token = well_typed(settings, keys, exp=expires_at)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await viewer(client, headers)).status_code == 200
    assert (await viewer(client, headers)).status_code == 200

    await asyncio.sleep(max(0.0, expires_at - time.time()) + 0.05)
    response = await viewer(client, headers)

    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


def test_a_token_remembered_for_one_audience_is_still_refused_by_another(settings: Settings, keys: SigningKeys) -> None:
    """The remembered tokens are per issuer and audience: another service in the process checks for itself."""
    token = well_typed(settings, keys)
    assert principal_from_access_token(token, settings, keys).subject == "hr-1"
    for other in (
        dataclasses.replace(settings, audience="https://elsewhere.example/graphql"),
        dataclasses.replace(settings, issuer="https://elsewhere.example"),
    ):
        with pytest.raises(InvalidToken):
            principal_from_access_token(token, other, keys)


@pytest.mark.parametrize("forge", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_graphql_refuses_a_bad_token_as_invalid_token(
    client: httpx.AsyncClient, settings: Settings, keys: SigningKeys, forge: Any
) -> None:
    response = await viewer(client, {"Authorization": f"Bearer {forge(settings, keys)}"})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_authorization_header_that_is_not_bearer_is_an_invalid_request(client: httpx.AsyncClient) -> None:
    response = await viewer(client, {"Authorization": "Basic aHItMTpzZWNyZXQ="})

    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


# Web-client login


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    response = await client.post("/auth/login", json={"username": username, "password": password})
    client.cookies.clear()  # each test sends the cookie itself, so what it sends is plain to read
    return response


async def test_a_user_logs_in_and_the_session_cookie_authenticates_graphql(
    client: httpx.AsyncClient, make: Factory, settings: Settings
) -> None:
    employer = await make.employer()
    username, password = await make.user(Role.HIRING_MANAGER, employer)

    response = await log_in(client, username.upper(), password)

    assert response.status_code == 200, response.text
    assert response.json()["user"] == {
        "username": username,
        "name": username.title(),
        "role": "HIRING_MANAGER",
        "employerId": str(employer.id),
        "province": None,
    }
    cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", f"Max-Age={settings.session_ttl_seconds}"):
        assert attribute.lower() in cookie.lower()
    session = {"Cookie": f"karngar_session={response.cookies['karngar_session']}", CSRF_HEADER: "1"}
    graphql = await viewer(client, session)
    assert graphql.status_code == 200, graphql.text
    assert graphql.json()["data"]["viewer"] == {
        "name": username.title(),
        "roles": ["HIRING_MANAGER"],
        "scopes": sorted(EMPLOYER_SCOPES),
    }


async def test_login_accepts_a_form_encoded_body(client: httpx.AsyncClient, make: Factory) -> None:
    username, password = await make.user(Role.MINISTRY_AUDITOR)

    response = await client.post("/auth/login", data={"username": username, "password": password})
    client.cookies.clear()

    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "MINISTRY_AUDITOR"


async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(
    client: httpx.AsyncClient, make: Factory
) -> None:
    username, _ = await make.user(Role.EMPLOYER_ADMIN, await make.employer())

    wrong_password = await log_in(client, username, "not-the-password")
    unknown_user = await log_in(client, "nobody-by-this-name", "not-the-password")

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert (
        wrong_password.json()
        == unknown_user.json()
        == {
            "error": "invalid_credentials",
            "message": "Wrong username or password.",
        }
    )
    assert "set-cookie" not in wrong_password.headers


async def test_an_unknown_user_costs_a_password_verification_like_a_known_one(
    client: httpx.AsyncClient, verified_hashes: list[str | None]
) -> None:
    await log_in(client, "nobody-by-this-name", "not-the-password")

    assert verified_hashes == [None]


async def test_after_logout_the_session_cookie_no_longer_works(client: httpx.AsyncClient, make: Factory) -> None:
    username, password = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    cookie = (await log_in(client, username, password)).cookies["karngar_session"]
    session = {"Cookie": f"karngar_session={cookie}", CSRF_HEADER: "1"}

    logout = await client.post("/auth/logout", headers=session)

    assert logout.status_code == 204
    assert "max-age=0" in logout.headers["set-cookie"].lower()
    assert (await viewer(client, session)).status_code == 401


async def test_a_cross_site_logout_without_the_csrf_header_is_refused(client: httpx.AsyncClient, make: Factory) -> None:
    username, password = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    cookie = (await log_in(client, username, password)).cookies["karngar_session"]

    forged = await client.post("/auth/logout", headers={"Cookie": f"karngar_session={cookie}"})

    assert (forged.status_code, forged.json()["errors"][0]["extensions"]["code"]) == (403, "CSRF")
    session = {"Cookie": f"karngar_session={cookie}", CSRF_HEADER: "1"}
    assert (await viewer(client, session)).status_code == 200


async def test_an_expired_session_is_simply_unauthenticated(
    client: httpx.AsyncClient, make: Factory, db: Database
) -> None:
    username, password = await make.user(Role.EMPLOYER_ADMIN, await make.employer())
    cookie = (await log_in(client, username, password)).cookies["karngar_session"]
    session = {"Cookie": f"karngar_session={cookie}", CSRF_HEADER: "1"}
    async with db.write() as transaction:
        await transaction.execute(update(UserSession).values(expires_at=func.now()))

    response = await viewer(client, session)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="karngar"'


async def test_a_suspended_employers_clients_and_users_are_refused(
    client: httpx.AsyncClient, make: Factory, db: Database
) -> None:
    employer = await make.employer()
    client_id, secret = await make.api_client(employer)
    username, password = await make.user(Role.HIRING_MANAGER, employer=employer)
    login = await client.post("/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200
    cookie = login.cookies["karngar_session"]

    async with db.write() as session:
        await session.execute(update(Employer).where(Employer.id == employer.id).values(status="SUSPENDED"))

    token = await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert (token.status_code, token.json()["error"]) == (401, "invalid_client")
    again = await client.post("/auth/login", json={"username": username, "password": password})
    assert again.status_code == 401
    client.cookies.clear()
    client.cookies.set("karngar_session", cookie)
    viewer = await client.post("/graphql", json={"query": "{ viewer { name } }"}, headers={CSRF_HEADER: "1"})
    assert viewer.status_code == 401
