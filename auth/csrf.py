"""CSRF defence for cookie sessions: a state-changing request must carry a header no cross-site form can set."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

CSRF_HEADER = "X-Karngar-CSRF"


def csrf_header_missing(request: Request) -> bool:
    """True for a POST authenticated by the session cookie without our header, which a form on another site
    cannot add; bearer-token callers are not concerned, as no browser sends their token by itself."""
    cookie_only = "authorization" not in request.headers
    return cookie_only and request.method == "POST" and request.headers.get(CSRF_HEADER) != "1"


def csrf_refused(headers: dict[str, str] | None = None) -> JSONResponse:
    message = f"A request authenticated by the session cookie must send the header {CSRF_HEADER}: 1."
    body = {"errors": [{"message": message, "extensions": {"code": "CSRF"}}]}
    return JSONResponse(body, status_code=403, headers={"Cache-Control": "no-store", **(headers or {})})
