"""The HTTP routes of auth/: the OAuth2 token endpoint, its discovery documents, and web-client login."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from auth.oauth import JWKS_PATH, METADATA_PATH, TOKEN_PATH, jwks_endpoint, metadata_endpoint, token_endpoint
from auth.sessions import login, logout

routes: list[BaseRoute] = [
    Route(TOKEN_PATH, token_endpoint, methods=["POST"]),
    Route(METADATA_PATH, metadata_endpoint, methods=["GET"]),
    Route(JWKS_PATH, jwks_endpoint, methods=["GET"]),
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
]
