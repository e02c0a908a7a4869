"""Checking an RFC 9068 access token and naming the API client it speaks for."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

from authlib.oauth2.rfc6750 import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc import jws
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet

from api.settings import Settings
from auth.keys import SigningKeys
from auth.principal import Principal
from db.enums import Province

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")


class InvalidToken(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class AccessTokenValidator(JWTBearerTokenValidator):
    def __init__(self, settings: Settings, keys: SigningKeys) -> None:
        super().__init__(issuer=settings.issuer, resource_server=settings.audience)
        self.keys = keys

    def get_jwks(self) -> KeySet:
        return self.keys.verification_keys


# Checking a token's signature and claims costs a search request more than anything else in authentication,
# and an HR system sends the same token for its whole lifetime: each process remembers the principal of each
# token it accepted (by its exact text, issuer and audience) until the token expires or the verification keys
# change (a rotation, a retirement: a retired key's tokens are then checked again, and refused).
VERIFIED_TOKENS_KEPT = 4096
_verified: OrderedDict[tuple[str, str, str], tuple[Principal, float, KeySet]] = OrderedDict()


def principal_from_access_token(token: str, settings: Settings, keys: SigningKeys) -> Principal:
    verification_keys = keys.verification_keys
    key = (token, settings.issuer, settings.audience)
    if (known := _verified.get(key)) is not None:
        principal, expires_at, verified_with = known
        if verified_with is verification_keys and time.time() < expires_at:
            _verified.move_to_end(key)
            return principal
        del _verified[key]
    _check_header(token, keys.algorithm)
    try:
        claims = AccessTokenValidator(settings, keys).authenticate_token(token)
        claims.validate()
    except InvalidTokenError as error:
        raise InvalidToken("The access token's signature does not verify.") from error
    except ExpiredTokenError as error:
        raise InvalidToken("The access token has expired.") from error
    except ClaimError as error:
        raise InvalidToken(f"The access token's '{error.claim}' claim is missing or not accepted here.") from error
    principal = _principal(claims)
    if isinstance(expires_at := claims.get("exp"), int | float):  # RFC 9068 requires exp; validate() checked it
        _verified[key] = (principal, float(expires_at), verification_keys)
        if len(_verified) > VERIFIED_TOKENS_KEPT:
            _verified.popitem(last=False)
    return principal


def _check_header(token: str, algorithm: str) -> None:
    """What authlib lets through: a token with no typ (any JWT, e.g. an ID token) and any strong algorithm."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as error:
        raise InvalidToken("The access token is not a well-formed JWT.") from error
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise InvalidToken("The token is not an access token: its typ must be at+jwt.")
    if header.get("alg") != algorithm:
        raise InvalidToken(f"The access token must be signed with {algorithm}.")


def _principal(claims: dict[str, object]) -> Principal:
    client_id = _string_claim(claims, "client_id") or ""
    employer_id = _string_claim(claims, "employer_id")
    province = _string_claim(claims, "province")
    try:
        return Principal(
            kind="client",
            subject=client_id,
            name=client_id,
            roles=(),
            scopes=frozenset((_string_claim(claims, "scope") or "").split()),
            employer_id=uuid.UUID(employer_id) if employer_id is not None else None,
            province=Province(province) if province is not None else None,
        )
    except ValueError as error:
        raise InvalidToken("The access token's employer_id or province is not valid.") from error


def _string_claim(claims: dict[str, object], name: str) -> str | None:
    # A present but unreadable employer_id must never read as "no employer", which means the ministry.
    value = claims.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidToken(f"The access token's '{name}' claim must be a string.")
    return value
