"""The HTTP edge of /graphql: who may call, what a request may look like, and how the answer is shaped.

Strawberry executes; this module decides everything around it, before any resolver runs:

- GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/): a client whose Accept prefers
  `application/graphql-response+json` gets that media type and its status codes: 400 for a request that
  cannot be parsed (bad JSON, no query, a GraphQL syntax error), 422 for a document that fails validation
  (the issue's choice; the current draft says 400 there too), 405 with `Allow: POST` for a mutation over
  GET, 415 for a body that is not `application/json`. Everyone else gets `application/json`, and 200 for
  any GraphQL error, as before.
- Limits: the body may hold KARNGAR_MAX_BODY_BYTES (413, checked on Content-Length and while streaming);
  batched operations (a JSON array) are refused unless KARNGAR_MAX_BATCH_OPERATIONS allows them.
- Who: every operation needs a caller (401 otherwise, so introspection too). Queries over GET need a bearer
  token: a browser session may not read over GET, and mutations never go over GET. The API explorer page is
  served only to a logged-in web session, with the CSRF header its requests need already set.
- A database that does not answer gives a 503 with Retry-After, never a hang or a 500 (db/engine.py bounds
  the waits); pooled connections are checked before use, so the service recovers when PostgreSQL returns.
"""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
import orjson
from cross_web import HTTPException, StarletteRequestAdapter
from graphql import GraphQLError, GraphQLSyntaxError
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http import process_result as http_result
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from api.ratelimit import enforce_client_rate_limit
from auth.csrf import CSRF_HEADER, csrf_header_missing, csrf_refused
from auth.middleware import REALM, AuthenticationFailed, authenticate, unauthorized_response
from auth.sessions import SESSION_COOKIE, principal_from_session
from schema.context import Context
from schema.root import schema

logger = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
RETRY_AFTER_SECONDS = 5
# What this edge leaves in the ASGI scope for the hooks below and for the answer's shape.
MEDIA_TYPE = "karngar.media_type"
OUTCOME = "karngar.graphql_outcome"
BATCH = "karngar.graphql_batch"
UNPARSEABLE, INVALID = "unparseable", "invalid"
STATUS_OF_OUTCOME = {UNPARSEABLE: 400, INVALID: 422}
MASKED_CODE = "INTERNAL_SERVER_ERROR"
MASKED_MESSAGE = "Unexpected error."


class RequestRefused(Exception):
    """A request refused at the edge, answered as one GraphQL-shaped error with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self, media_type: str) -> Response:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        headers = {"Cache-Control": "no-store", **self.headers}
        return JSONResponse(body, status_code=self.status, headers=headers, media_type=media_type)


class DatabaseUnavailable(Exception):
    """An operation failed and the database does not answer a ping: the whole request is a 503."""


def response_media_type(accept: str | None) -> str:
    """`application/graphql-response+json` when the client names it and ranks it at least as high as
    `application/json`; wildcards and no Accept at all keep the legacy `application/json`."""
    quality: dict[str, float] = {}
    for item in (accept or "").split(","):
        mime, *parameters = (part.strip() for part in item.split(";"))
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        mime = mime.lower()
        if mime in (GRAPHQL_RESPONSE, JSON):
            quality[mime] = max(quality.get(mime, 0.0), q)
    preferred = quality.get(GRAPHQL_RESPONSE, 0.0)
    return GRAPHQL_RESPONSE if preferred > 0 and preferred >= quality.get(JSON, 0.0) else JSON


def database_unavailable(error: BaseException | None) -> bool:
    """Whether an exception, or one it was raised from, means PostgreSQL cannot be reached right now:
    refused or lost connections, timeouts waiting to connect or for a pooled connection, a server shutting
    down or starting up. A query's own failure (a constraint, a statement timeout) is not one."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(
            error,
            DatabaseUnavailable
            | OSError  # ConnectionRefusedError, a missing Unix socket, a reset connection
            | TimeoutError  # asyncpg's connect timeout
            | sa_exc.TimeoutError  # no pooled connection within the pool timeout
            | asyncpg.PostgresConnectionError  # connection does not exist or failed
            | asyncpg.CannotConnectNowError
            | asyncpg.AdminShutdownError
            | asyncpg.CrashShutdownError
            | asyncpg.TooManyConnectionsError,
        ):
            return True
        if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__ or error.__context__
    return False


def _code(error: GraphQLError) -> Any:
    return (error.extensions or {}).get("code")


def _unexpected(error: GraphQLError) -> bool:
    """A masked resolver failure, or an error graphql-core raised on its own during execution."""
    masked = _code(error) == MASKED_CODE or error.message == MASKED_MESSAGE
    return masked or (error.path is not None and _code(error) is None)


def _outcome(result: ExecutionResult) -> str | None:
    """UNPARSEABLE or INVALID when the document never ran (a request error, data absent); None otherwise."""
    errors = result.errors or []
    if not errors or result.data is not None or any(e.path is not None or _unexpected(e) for e in errors):
        return None
    unparseable = any(
        isinstance(e, GraphQLSyntaxError) or _code(e) in ("GRAPHQL_PARSE_FAILED", "TOO_MANY_TOKENS") for e in errors
    )
    return UNPARSEABLE if unparseable else INVALID


async def database_answers(request: Request) -> bool:
    """One `SELECT 1`, bounded by the engine's connect and pool timeouts."""
    try:
        async with request.app.state.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # whatever the reason, the database cannot serve this request
        logger.warning("the database does not answer: %r", error)
        return False
    return True


class KarngarRequestAdapter(StarletteRequestAdapter):
    """Strawberry's adapter, keeping the Starlette request for the hooks that need the scope and the stream."""

    def __init__(self, request: Request) -> None:
        super().__init__(request)
        self.request = request


class KarngarGraphQL(GraphQL[Context, None]):
    request_adapter_class = KarngarRequestAdapter

    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.app.state
        principal = request.scope["principal"]  # resolvers get the database bound to it (row-level security)
        return Context(
            request=request, principal=principal, db=state.db.for_principal(principal), settings=state.settings
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)  # several times faster than json.dumps on a page of profiles

    def should_render_graphql_ide(self, request: Any) -> bool:
        return False  # GraphQLEndpoint serves the explorer page itself, and only to a logged-in session

    async def parse_http_body(  # type: ignore[override]
        self, request: KarngarRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The operation(s) of a GET's query string or a POST's JSON body, read within the size limit."""
        if request.method == "GET":
            data: Any = self.parse_query_params(request.query_params)
        else:
            body = await read_body(request.request, request.request.app.state.settings.max_body_bytes)
            try:
                data = self.parse_json(body)
            except UnicodeDecodeError as error:
                raise RequestRefused(400, "BAD_REQUEST", "The body must be JSON in UTF-8.") from error
        if isinstance(data, list):
            request.request.scope[BATCH] = True
            cap = request.request.app.state.settings.max_batch_operations
            if cap <= 0:
                raise RequestRefused(
                    400, "BATCHING_DISABLED", "Batched operations are turned off: send one operation per request."
                )
            if not data or len(data) > cap:
                message = f"A batch holds from 1 to {cap} operations; this one holds {len(data)}."
                raise RequestRefused(400, "TOO_MANY_OPERATIONS", message)
            return [self._operation(item) for item in data]
        return self._operation(data)

    def _operation(self, data: Any) -> GraphQLRequestData:
        if not isinstance(data, dict):
            raise RequestRefused(400, "BAD_REQUEST", 'The body must be a JSON object: {"query": "…", "variables": {}}.')
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if not isinstance(query, str) or not query.strip():
            raise RequestRefused(400, "BAD_REQUEST", "Send the GraphQL document as a non-empty string in `query`.")
        if not isinstance(variables, dict | None):
            raise RequestRefused(400, "BAD_REQUEST", "`variables` must be a JSON object when it is sent.")
        if not isinstance(operation_name, str | None):
            raise RequestRefused(400, "BAD_REQUEST", "`operationName` must be a string when it is sent.")
        if not isinstance(extensions, dict | None):
            raise RequestRefused(400, "BAD_REQUEST", "`extensions` must be a JSON object when it is sent.")
        return GraphQLRequestData(
            query=query, variables=variables, operation_name=operation_name, extensions=extensions
        )

    async def execute_single(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        try:
            return await super().execute_single(*args, **kwargs)
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError) and kwargs["request_adapter"].method == "GET":
                message = "Mutations are sent with POST, never over GET."
                raise RequestRefused(405, "METHOD_NOT_ALLOWED", message, {"Allow": "POST"}) from error
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """Notes whether the document never ran (for the status code), and turns failures of an unreachable
        database into a 503 instead of a 200 full of masked errors."""
        body = http_result(result)
        outcome = None if request.scope.get(BATCH) else _outcome(result)  # a batch answers 200 with its list
        if outcome is not None:
            request.scope[OUTCOME] = outcome
            if request.scope.get(MEDIA_TYPE) == GRAPHQL_RESPONSE:
                body.pop("data", None)  # the spec: a request error has no `data` entry
        else:
            unexpected = [e for e in result.errors or () if _unexpected(e)]
            # A lost connection says so itself; any other failure asks the database whether it is there.
            if any(database_unavailable(e.original_error) for e in unexpected) or (
                unexpected and not await database_answers(request)
            ):
                raise DatabaseUnavailable
        return body


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it grows past `limit` (chunked bodies have no Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect as error:
        raise RequestRefused(400, "BAD_REQUEST", "The client went away before sending the whole body.") from error
    return b"".join(chunks)


def _too_large(limit: int) -> RequestRefused:
    return RequestRefused(413, "PAYLOAD_TOO_LARGE", f"The request body may hold at most {limit} bytes.")


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise RequestRefused(400, "BAD_REQUEST", "Content-Length must be a number of bytes.")
    if int(declared) > limit:
        raise _too_large(limit)


def _check_content_type(request: Request) -> None:
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if mime != JSON:
        raise RequestRefused(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            'POST the operation as JSON: Content-Type: application/json, {"query": "…", "variables": {}}.',
        )


def _is_explorer_request(request: Request) -> bool:
    return (
        request.method == "GET"
        and "query" not in request.query_params
        and "text/html" in request.headers.get("accept", "")
    )


def explorer_page() -> str:
    """Strawberry's explorer page, its requests sending our CSRF header (the session cookie goes by itself)."""
    html = get_graphql_ide_html("graphiql")
    preset = "const defaultHeaders = {};"
    if preset not in html:
        raise RuntimeError("strawberry's explorer page changed: preset the CSRF header in api/graphql.py anew")
    return html.replace(preset, f'const defaultHeaders = {{ "{CSRF_HEADER}": "1" }};')


# No product name in it: security scanners take the explorer's name on a page as "the explorer is exposed".
LOG_IN_FIRST = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Karngar API: log in first</title></head>
<body>
<h1>Log in first</h1>
<p>The API explorer is for logged-in users of Karngar. <a href="/">Log in with the web client</a>, then open
this page again.</p>
<p>Programs (HR systems) do not need this page: they POST GraphQL to <code>/graphql</code> with an access token
from <code>/oauth/token</code> in the header <code>Authorization: Bearer …</code>.</p>
</body></html>
"""


class GraphQLEndpoint:
    """Checks the request at the edge, then hands it to strawberry and shapes the answer (see the docstring)."""

    def __init__(self) -> None:
        self.graphql = KarngarGraphQL(schema, graphql_ide=None, allow_queries_via_get=True)
        self.explorer_html = explorer_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        media_type = scope[MEDIA_TYPE] = response_media_type(request.headers.get("accept"))
        try:
            response = await self.answer(request, media_type)
        except RequestRefused as refusal:
            response = refusal.response(media_type)
        except HTTPException as error:  # strawberry's own refusals of a malformed request
            response = RequestRefused(error.status_code, "BAD_REQUEST", error.reason).response(media_type)
        except Exception as error:
            if not database_unavailable(error):
                raise
            logger.warning("GraphQL request answered 503: the database is unavailable (%r)", error)
            message = "The service cannot reach its database; try again in a few seconds."
            response = RequestRefused(
                503, "SERVICE_UNAVAILABLE", message, {"Retry-After": str(RETRY_AFTER_SECONDS)}
            ).response(media_type)
        response.headers["Vary"] = "Accept"
        await response(scope, receive, send)

    async def answer(self, request: Request, media_type: str) -> Response:
        if _is_explorer_request(request):
            return await self.explorer(request)
        if request.method not in ("GET", "POST"):
            raise RequestRefused(405, "METHOD_NOT_ALLOWED", "Use POST (or GET for queries).", {"Allow": "GET, POST"})
        if request.method == "POST":
            _check_declared_length(request, request.app.state.settings.max_body_bytes)
        try:
            principal = await authenticate(request)
        except AuthenticationFailed as failure:
            return _shaped(unauthorized_response(failure), media_type)
        if principal is None:
            return _shaped(unauthorized_response(None), media_type)
        await enforce_client_rate_limit(request, principal)  # raises RateLimited: 429 from api/ratelimit.py
        if request.method == "GET" and "authorization" not in request.headers:
            raise RequestRefused(
                405,
                "METHOD_NOT_ALLOWED",
                f"A logged-in session sends its operations with POST and the header {CSRF_HEADER}: 1; "
                "queries over GET need an access token (Authorization: Bearer …).",
                {"Allow": "POST"},
            )
        if request.method == "POST":
            _check_content_type(request)
        if csrf_header_missing(request):
            return _shaped(csrf_refused(), media_type)
        request.scope["principal"] = principal
        response = await self.graphql.run(request)
        status = STATUS_OF_OUTCOME.get(request.scope.get(OUTCOME, ""))
        if media_type == GRAPHQL_RESPONSE and status is not None and response.status_code == 200:
            response.status_code = status
        return _shaped(response, media_type)

    async def explorer(self, request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        principal = await principal_from_session(request.app.state.db, token) if token else None
        if principal is None:
            headers = {"WWW-Authenticate": REALM, "Cache-Control": "no-store"}
            return HTMLResponse(LOG_IN_FIRST, status_code=401, headers=headers)
        return HTMLResponse(self.explorer_html, headers={"Cache-Control": "no-store"})


def _shaped(response: Response, media_type: str) -> Response:
    """A JSON answer in the media type the client asked for."""
    if media_type == GRAPHQL_RESPONSE and response.headers.get("content-type", "").startswith(JSON):
        response.headers["content-type"] = GRAPHQL_RESPONSE
    return response


def graphql_routes() -> list[BaseRoute]:
    # No `methods=`: the endpoint answers other methods itself, with a GraphQL-shaped 405.
    return [Route("/graphql", GraphQLEndpoint())]
