"""A read replica for search and statistics (KARNGAR_READ_REPLICA_URL): they read it, everything else the primary.

The "replica" here is a second database of the test server that replication does not feed, so each test can
see from the answers which database a read went to.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from api.settings import Settings
from db.engine import Database, create_engine
from db.migrate import upgrade
from schema.common import to_global_id
from tests.conftest import admin
from tests.factories import Factory
from tests.test_graphql_http import app_client
from tests.test_hires import hire
from tests.test_vacancies import open_vacancy

SEARCH = (
    '{ returneeProfiles(first: 10, filter: {skills: ["construction.welding"]}) { totalCount edges { node { id } } } }'
)
STATISTICS = "{ placementStatistics(groupBy: []) { total } }"
VACANCIES = "{ vacancies(first: 10) { totalCount } }"
CANDIDATES = (
    "query($id: ID!) { node(id: $id) { ... on Vacancy { matchingProfiles(first: 10) { edges { node { id } } } } } }"
)


@pytest.fixture
async def pair(server_url: str, settings: Settings) -> AsyncIterator[tuple[Factory, Database]]:
    """An application on a primary database of its own, with a second migrated database as its replica;
    a Factory on the primary, and the replica's Database."""
    urls = []
    for role in ("primary", "replica"):
        name = f"karngar_{role}_{uuid.uuid4().hex[:8]}"
        admin(server_url, f'CREATE DATABASE "{name}"')
        urls.append(make_url(server_url).set(database=name).render_as_string(hide_password=False))
        await asyncio.to_thread(upgrade, urls[-1])  # it runs its own event loop
    primary_url, replica_url = urls
    replica_engine = create_engine(replica_url, pool_size=2)
    try:
        async with app_client(dataclasses.replace(settings, read_replica_url=replica_url), primary_url) as (http, db):
            yield Factory(db, http), Database(replica_engine)
    finally:
        await replica_engine.dispose()
        for url in urls:
            admin(server_url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


async def test_search_and_statistics_read_the_replica_and_everything_else_the_primary(
    pair: tuple[Factory, Database],
) -> None:
    make, replica = pair
    employer = await make.employer_caller()
    on_the_primary = await make.profile(skills=["construction.welding"], phone="+85512000001")
    on_the_replica = await Factory(replica, make.http).profile(skills=["construction.welding"], phone="+85512000002")
    vacancy = await open_vacancy(make, employer, positions=2, requiredSkills=["construction.welding"])
    await hire(make, employer, vacancy, on_the_primary)

    search = (await make.graphql(employer, SEARCH))["data"]["returneeProfiles"]
    assert [edge["node"]["id"] for edge in search["edges"]] == [to_global_id("ReturneeProfile", on_the_replica)]
    assert (await make.graphql(employer, STATISTICS))["data"]["placementStatistics"]["total"] == 0  # no hire there
    assert (await make.graphql(employer, VACANCIES))["data"]["vacancies"]["totalCount"] == 1  # the primary's

    # A vacancy the replica has never seen still gets candidates: it is read on the primary, they on the replica.
    candidates = (await make.graphql(employer, CANDIDATES, {"id": vacancy["id"]}))["data"]["node"]
    assert [edge["node"]["id"] for edge in candidates["matchingProfiles"]["edges"]] == [
        to_global_id("ReturneeProfile", on_the_replica)
    ]

    ready = await make.http.get("/readyz")
    assert ready.json() == {"status": "ok", "database": "reachable", "readReplica": "reachable"}


async def test_an_unreachable_replica_makes_the_service_not_ready(settings: Settings, database_url: str) -> None:
    away = make_url(database_url).set(database=f"karngar_nowhere_{uuid.uuid4().hex[:8]}")
    replica_away = dataclasses.replace(
        settings, read_replica_url=away.render_as_string(hide_password=False), db_connect_timeout_seconds=2.0
    )
    async with app_client(replica_away, database_url) as (http, _):
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "database": "reachable", "readReplica": "unreachable"}
