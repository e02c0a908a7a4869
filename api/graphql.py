"""The /graphql endpoint: GraphiQL for browsers, and authenticated GraphQL for everyone else."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from auth.csrf import csrf_header_missing, csrf_refused
from auth.middleware import AuthenticationFailed, authenticate, unauthorized_response
from schema.context import Context
from schema.root import schema


class KarngarGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request, response: Response) -> Context:  # type: ignore[override]
        state = request.app.state
        return Context(request=request, principal=request.scope["principal"], db=state.db, settings=state.settings)


class GraphQLEndpoint:
    """Authenticates at the edge, then hands the request to strawberry; GraphiQL's page itself is public."""

    def __init__(self) -> None:
        self.graphql = KarngarGraphQL(schema, graphql_ide="graphiql", allow_queries_via_get=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            await HTMLResponse(self.graphql.graphql_ide_html)(scope, receive, send)
            return
        try:
            principal = await authenticate(request)
        except AuthenticationFailed as failure:
            await unauthorized_response(failure)(scope, receive, send)
            return
        if principal is None:
            await unauthorized_response(None)(scope, receive, send)
            return
        if csrf_header_missing(request):
            await csrf_refused()(scope, receive, send)
            return
        scope["principal"] = principal
        await self.graphql(scope, receive, send)


def graphql_routes() -> list[BaseRoute]:
    return [Route("/graphql", GraphQLEndpoint(), methods=["GET", "POST"])]
