"""The thin web client: its static files under `/`, with strict security headers and gzip, and its CSV import."""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router, request_response
from starlette.types import ASGIApp

from auth.csrf import csrf_header_missing, csrf_refused
from auth.middleware import AuthenticationFailed, authenticate, unauthorized_response
from auth.principal import Principal
from db.enums import Role
from resolvers.returnee_import import ImportFileError, import_returnees

logger = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A labour office's file of a few thousand returnees is well under this; larger files go through the CLI.
MAX_IMPORT_BYTES = 5 * 1024 * 1024
VERSION_MARK = "__VERSION__"


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str


class WebClient:
    """The files of web/, read once; asset URLs carry a digest of them all, so browsers may cache them for good."""

    def __init__(self, directory: Path) -> None:
        files = sorted(p for p in directory.rglob("*") if p.suffix in CONTENT_TYPES and p.name != "index.html")
        self.assets = {
            p.relative_to(directory).as_posix(): Asset(p.read_bytes(), CONTENT_TYPES[p.suffix]) for p in files
        }
        digest = hashlib.sha256()
        for path, asset in self.assets.items():
            digest.update(path.encode() + b"\0" + asset.body)
        self.version = digest.hexdigest()[:12]
        self.index = (directory / "index.html").read_text().replace(VERSION_MARK, self.version).encode()

    async def index_page(self, request: Request) -> Response:
        return Response(self.index, media_type=CONTENT_TYPES[".html"], headers=_headers("no-cache"))

    async def asset(self, request: Request) -> Response:
        asset = self.assets.get(request.path_params["path"])
        if asset is None:
            return Response("Not found", status_code=404, media_type="text/plain", headers=_headers("no-store"))
        # An old page asking for an earlier version gets today's file, but must not keep it.
        current = request.path_params["version"] == self.version
        cache = "public, max-age=31536000, immutable" if current else "no-cache"
        return Response(asset.body, media_type=asset.content_type, headers=_headers(cache))


def _headers(cache_control: str) -> dict[str, str]:
    return {**SECURITY_HEADERS, "Cache-Control": cache_control}


def _refused(message: str, code: str, status_code: int) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status_code, headers=_headers("no-store"))


async def import_csv(request: Request) -> Response:
    """POST /web/imports: a provincial officer's CSV of returnees (the request body), answered with the report."""
    try:
        principal: Principal | None = await authenticate(request)
    except AuthenticationFailed as failure:
        return unauthorized_response(failure)
    if principal is None:
        return unauthorized_response(None)
    if csrf_header_missing(request):
        return csrf_refused(SECURITY_HEADERS)
    if principal.kind != "user" or Role.PROVINCIAL_OFFICER not in principal.roles:
        message = "Provincial officers import returnees here; API clients call registerReturnee."
        return _refused(message, "FORBIDDEN", 403)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_IMPORT_BYTES:
            return _refused(
                "The file is larger than 5 MB: split it, or use karngar import-returnees.", "TOO_LARGE", 413
            )
    try:
        # newline="" splits lines as the csv module expects, keeping line breaks inside quoted cells.
        lines = io.StringIO(body.decode("utf-8-sig"), newline="")
    except UnicodeDecodeError:
        return _refused("Save the file as CSV UTF-8.", "BAD_USER_INPUT", 400)
    try:
        db = request.app.state.db.for_principal(principal)  # row-level security binds the officer to the province
        report = await import_returnees(db, lines, actor=principal.actor, province=principal.province)
    except ImportFileError as error:
        return _refused(str(error), "BAD_USER_INPUT", 400)
    return JSONResponse(report.as_json(), headers=_headers("no-store"))


def _gzipped(app: ASGIApp) -> ASGIApp:
    return GZipMiddleware(app, minimum_size=500)


def web_routes(directory: Path = WEB_DIR) -> list[BaseRoute]:
    if not (directory / "index.html").is_file():
        # An install without the web/ folder (e.g. a wheel) still serves the API.
        logger.warning("no web client at %s: / and /web/ are not served", directory)
        return []
    client = WebClient(directory)
    files = Router([Route("/{version}/{path:path}", client.asset, methods=["GET", "HEAD"])])
    return [
        Route("/", _gzipped(request_response(client.index_page)), methods=["GET", "HEAD"]),
        Route("/web/imports", import_csv, methods=["POST"]),
        Mount("/web", app=_gzipped(files)),
    ]
