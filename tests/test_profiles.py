"""Anonymised profiles: k-anonymity, search filters and order, candidate ranking, and no identity leaks."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type
from sqlalchemy import text

from db.engine import Database
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
from schema.common import to_global_id
from schema.root import schema
from tests.factories import Caller, Factory

PROFILE_FIELDS = "id ageBand sex province returnedIn isAvailable availableFrom educationLevel languages"
SEARCH = f"""
query Search($filter: ProfileFilter, $first: Int, $after: String) {{
  returneeProfiles(filter: $filter, first: $first, after: $after) {{
    totalCount
    pageInfo {{ hasNextPage endCursor }}
    edges {{ cursor score matchReasons {{ factor points }} node {{ {PROFILE_FIELDS} skills {{ code }} }} }}
  }}
}}
"""
NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on ReturneeProfile {{ {PROFILE_FIELDS} }} }} }}"
MARCH = date(2026, 3, 1)


async def _search(make: Factory, caller: Caller, **variables: Any) -> dict[str, Any]:
    body = await make.graphql(caller, SEARCH, variables)
    assert "errors" not in body, body
    return body["data"]["returneeProfiles"]  # type: ignore[no-any-return]


async def _profile(make: Factory, caller: Caller, profile_id: Any) -> dict[str, Any]:
    body = await make.graphql(caller, NODE, {"id": to_global_id("ReturneeProfile", profile_id)})
    assert "errors" not in body, body
    return body["data"]["node"]  # type: ignore[no-any-return]


# --- k-anonymity -------------------------------------------------------------------------------


async def test_a_profile_five_others_share_shows_its_return_month(make: Factory) -> None:
    ids = [await make.profile(return_month=MARCH) for _ in range(5)]
    employer = await make.employer_caller()
    shown = await _profile(make, employer, ids[0])
    assert (shown["returnedIn"], shown["sex"], shown["ageBand"]) == ("2026-03", "FEMALE", "AGE_25_34")


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        # four share the quarter with it (other months), so the month is coarsened to the quarter
        (
            [dict(return_month=date(2026, 1, 1))] * 2 + [dict(return_month=date(2026, 2, 1))] * 2,
            ("2026-Q1", "FEMALE", "AGE_25_34"),
        ),
        # four share only the year
        ([dict(return_month=date(2026, 7, 1))] * 4, ("2026", "FEMALE", "AGE_25_34")),
        # four share the year and age band but not the sex: sex is withheld
        ([dict(return_month=date(2026, 9, 1), sex=Sex.MALE)] * 4, ("2026", None, "AGE_25_34")),
        # four share only province and year: sex and age band are withheld
        ([dict(return_month=date(2026, 9, 1), sex=Sex.MALE, age_band=AgeBand.AGE_45_54)] * 4, ("2026", None, None)),
        # alone in its province and year: shown as coarsely as the contract allows
        ([], ("2026", None, None)),
    ],
    ids=["quarter", "year", "without-sex", "without-age-band", "alone"],
)
async def test_a_rare_profile_is_coarsened_until_five_share_what_is_shown(
    make: Factory, others: list[dict[str, Any]], expected: tuple[Any, ...]
) -> None:
    target = await make.profile(return_month=MARCH)
    for other in others:
        await make.profile(**other)
    await make.profile(province=Province.KANDAL, return_month=MARCH)  # another province never counts
    employer = await make.employer_caller()
    shown = await _profile(make, employer, target)
    assert (shown["returnedIn"], shown["sex"], shown["ageBand"]) == expected
    assert shown["province"] == "BATTAMBANG"


async def test_returnees_who_do_not_consent_still_count_towards_the_five(make: Factory) -> None:
    target = await make.profile(return_month=MARCH)
    for _ in range(4):
        await make.profile(return_month=MARCH, searchable=False)
    employer = await make.employer_caller()
    assert (await _profile(make, employer, target))["returnedIn"] == "2026-03"


async def test_a_sex_filter_never_matches_a_profile_whose_sex_is_withheld(make: Factory) -> None:
    hidden = await make.profile(return_month=MARCH)
    for _ in range(4):
        await make.profile(return_month=date(2026, 9, 1), sex=Sex.MALE)
    employer = await make.employer_caller()
    assert (await _profile(make, employer, hidden))["sex"] is None
    female = await _search(make, employer, filter={"sex": "FEMALE"})
    assert female["totalCount"] == 0
    assert (await _search(make, employer, filter={"ageBands": ["AGE_25_34"]}))["totalCount"] == 5


@pytest.mark.parametrize("skills", [[], ["textile.overlock"]], ids=["every-profile-postings", "a-skills-postings"])
async def test_sex_and_age_band_filters_list_only_profiles_that_show_them(make: Factory, skills: list[str]) -> None:
    # Given five in Battambang sharing year and age band but not sex (sex withheld, age band shown), and one
    # alone in Kandal (both withheld); the search reads the postings of its skill, or every profile's own
    shown_age = [await make.profile(return_month=MARCH, skills=["textile.overlock"])]
    for _ in range(4):
        shown_age.append(await make.profile(return_month=date(2026, 9, 1), sex=Sex.MALE, skills=["textile.overlock"]))
    alone = await make.profile(province=Province.KANDAL, skills=["textile.overlock"])
    employer = await make.employer_caller()

    async def listed(**filters: Any) -> set[str]:
        found = await _search(make, employer, filter={"skills": skills, **filters})
        assert found["totalCount"] == len(found["edges"])
        return {edge["node"]["id"] for edge in found["edges"]}

    everyone = await listed()
    assert len(everyone) == 6
    assert await listed(sex="FEMALE") == set() and await listed(sex="MALE") == set()
    with_age = {(await _profile(make, employer, profile))["id"] for profile in shown_age}
    assert await listed(ageBands=["AGE_25_34"]) == with_age
    assert await listed(ageBands=["AGE_25_34"], provinces=["KANDAL"]) == set()
    assert await listed(provinces=["KANDAL"]) == {(await _profile(make, employer, alone))["id"]}


# --- search ------------------------------------------------------------------------------------


async def test_employers_never_see_a_profile_without_consent(make: Factory) -> None:
    hidden = await make.profile(searchable=False)
    shown = await make.profile()
    employer = await make.employer_caller()
    found = await _search(make, employer)
    assert [e["node"]["id"] for e in found["edges"]] == [(await _profile(make, employer, shown))["id"]]
    assert await _profile(make, employer, hidden) is None


async def test_each_filter_narrows_the_search(make: Factory) -> None:
    sewer = await make.profile(
        skills=["textile.single-needle-sewing", "textile.overlock"], education=EducationLevel.LOWER_SECONDARY
    )
    mason = await make.profile(
        province=Province.SIEM_REAP,
        skills=["construction.bricklaying"],
        experience=[("7112", 5, True)],
        preferred_provinces=[Province.PHNOM_PENH],
        languages=["km", "th"],
        available_from=date(2027, 2, 1),
    )
    employer = await make.employer_caller()

    async def ids(**filter: Any) -> set[str]:
        found = await _search(make, employer, filter=filter)
        return {e["node"]["id"] for e in found["edges"]}

    sewer_gid = (await _profile(make, employer, sewer))["id"]
    mason_gid = (await _profile(make, employer, mason))["id"]
    assert await ids(skills=["textile.overlock"]) == {sewer_gid}
    assert await ids(skills=["textile.overlock", "construction.bricklaying"]) == {sewer_gid, mason_gid}
    assert await ids(skills=["textile.overlock", "construction.bricklaying"], skillsMatch="ALL") == set()
    assert await ids(sectors=["CONSTRUCTION"]) == {mason_gid}
    assert await ids(occupations=["8153"]) == {sewer_gid}
    assert await ids(provinces=["PHNOM_PENH"]) == {mason_gid}
    assert await ids(provinces=["PHNOM_PENH"], includeWillingToRelocate=False) == set()
    assert await ids(provinces=["SIEM_REAP", "BATTAMBANG"]) == {sewer_gid, mason_gid}
    assert await ids(languages=["th"]) == {mason_gid}
    assert await ids(educationAtLeast="LOWER_SECONDARY") == {sewer_gid}
    assert await ids(availableBy="2027-01-01") == {sewer_gid}


async def test_best_matches_come_first_then_the_most_recently_available(make: Factory) -> None:
    both = await make.profile(
        skills=["textile.overlock", "textile.single-needle-sewing"], available_from=date(2026, 12, 1)
    )
    one_late = await make.profile(skills=["textile.overlock"], available_from=date(2027, 1, 1))
    one_early = await make.profile(skills=["textile.overlock"], available_from=date(2026, 12, 15))
    employer = await make.employer_caller()
    found = await _search(make, employer, filter={"skills": ["textile.overlock", "textile.single-needle-sewing"]})
    expected = [(await _profile(make, employer, p))["id"] for p in (both, one_late, one_early)]
    assert [e["node"]["id"] for e in found["edges"]] == expected
    assert [e["score"] for e in found["edges"]] == [2, 1, 1]
    assert found["edges"][0]["matchReasons"] == [{"factor": "SKILLS", "points": 2}]


async def test_search_pages_follow_each_other_without_gaps_or_repeats(make: Factory) -> None:
    for day in range(1, 24):
        await make.profile(available_from=date(2026, 12, day), skills=["textile.overlock"] if day % 3 else [])
    employer = await make.employer_caller()
    seen: list[str] = []
    after = None
    for _ in range(5):
        page = await _search(make, employer, filter={"skills": ["textile.overlock"]}, first=5, after=after)
        seen += [e["node"]["id"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert page["totalCount"] == 16
    assert len(seen) == len(set(seen)) == 16


async def test_a_client_without_profiles_read_is_forbidden(make: Factory) -> None:
    employer = await make.employer()
    narrow = await make.caller(employer, scopes=["vacancies:read"])
    body = await make.graphql(narrow, SEARCH, {})
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_bad_search_cursor_is_a_clean_error(make: Factory) -> None:
    employer = await make.employer_caller()
    body = await make.graphql(employer, SEARCH, {"after": "bm90LWEtY3Vyc29y"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- candidates for a vacancy --------------------------------------------------------------------

CREATE_AND_PUBLISH = """
mutation($input: CreateVacancyInput!) { createVacancy(input: $input) { vacancy { id } userErrors { message } } }
"""
PUBLISH = "mutation($id: ID!) { publishVacancy(input: {id: $id}) { vacancy { status } userErrors { message } } }"
MATCHING = """
query($id: ID!, $after: String) {
  node(id: $id) { ... on Vacancy {
    matchingProfiles(first: 10, after: $after) {
      totalCount
      edges { score matchReasons { factor points maxPoints } node { id province isAvailable } }
    }
  } }
}
"""


async def _open_vacancy(make: Factory, employer: Caller, **overrides: Any) -> str:
    vacancy = {
        "title": "Sewing machine operator",
        "occupationCode": "8153",
        "province": "BATTAMBANG",
        "description": "Sewing line",
        "positions": 5,
        "requiredSkills": ["textile.single-needle-sewing", "textile.overlock"],
        "contractType": "PERMANENT",
        "wageMinUsd": "220.00",
        "benefits": [],
        "startDate": "2027-01-04",
        **overrides,
    }
    created = await make.graphql(employer, CREATE_AND_PUBLISH, {"input": vacancy})
    vacancy_id = created["data"]["createVacancy"]["vacancy"]["id"]
    await make.graphql(employer, PUBLISH, {"id": vacancy_id})
    return str(vacancy_id)


async def test_candidates_are_ranked_by_fit_with_the_reasons_shown(make: Factory, db: Database) -> None:
    perfect = await make.profile(skills=["textile.single-needle-sewing", "textile.overlock"])
    willing = await make.profile(
        province=Province.KANDAL,
        preferred_provinces=[Province.BATTAMBANG],
        skills=["textile.overlock"],
        experience=[("9211", 2, False)],
    )
    elsewhere = await make.profile(
        province=Province.TAKEO, skills=["textile.overlock"], experience=[("9211", 2, False)]
    )
    await make.profile(skills=["agriculture.rubber-tapping"], experience=[("9211", 4, False)])  # nothing in common
    hired = await make.profile(skills=["textile.single-needle-sewing", "textile.overlock"])
    async with db.write() as session:
        await session.execute(text("UPDATE returnee_profiles SET is_available = false WHERE id = :id"), {"id": hired})
    employer = await make.employer_caller(Sector.TEXTILE)
    vacancy = await _open_vacancy(make, employer)

    body = await make.graphql(employer, MATCHING, {"id": vacancy})
    matches = body["data"]["node"]["matchingProfiles"]
    expected = [(await _profile(make, employer, p))["id"] for p in (perfect, willing, elsewhere)]
    assert [e["node"]["id"] for e in matches["edges"]] == expected
    assert matches["totalCount"] == 3
    assert [e["score"] for e in matches["edges"]] == [100, 40, 30]
    reasons = {r["factor"]: (r["points"], r["maxPoints"]) for r in matches["edges"][1]["matchReasons"]}
    assert reasons == {
        "SKILLS": (20, 40),
        "PROVINCE": (10, 15),
        "AVAILABILITY": (10, 10),
        "OCCUPATION": (0, 25),
        "SECTOR": (0, 10),
    }


# --- no identity ever reaches an employer ----------------------------------------------------------

IDENTITY = {
    "name": "Chanthou Zeta-Unique",
    "phone": "+85512987654",
    "national_id": "NID-0123456789",
    "district": "District-Unique",
    "commune": "Commune-Unique",
    "village": "Village-Unique",
    "date_of_birth": "1987-06-05",
}
FORBIDDEN_FIELD_NAMES = {"name", "phone", "nationalId", "dateOfBirth", "district", "commune", "village", "identity"}


def _selection(type_: GraphQLObjectType, depth: int = 0) -> str:
    """Every field of a type, recursively (object fields without required arguments)."""
    parts = []
    for name, field in type_.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) and a.default_value is None for a in field.args.values()):
            continue
        named = get_named_type(field.type)
        if isinstance(named, GraphQLObjectType):
            if depth < 4:
                parts.append(f"{name} {{ {_selection(named, depth + 1)} }}")
        else:
            parts.append(name)
    return " ".join(parts)


def _employer_reachable_profile_types() -> set[str]:
    graph = schema._schema
    seen: set[str] = set()
    todo = ["ReturneeProfile", "ReturneeProfileConnection"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for field in graph.type_map[name].fields.values():  # type: ignore[union-attr]
            named = get_named_type(field.type)
            if isinstance(named, GraphQLObjectType):
                todo.append(named.name)
    return seen


def test_no_type_reachable_from_a_profile_has_an_identity_field() -> None:
    graph = schema._schema
    for type_name in _employer_reachable_profile_types():
        fields = set(graph.type_map[type_name].fields)  # type: ignore[union-attr]
        own_name_is_fine = {"name"} if type_name in {"Skill", "Occupation"} else set()
        assert fields & (FORBIDDEN_FIELD_NAMES - own_name_is_fine) == set(), type_name


async def test_every_field_an_employer_can_reach_from_a_profile_is_free_of_identity(
    make: Factory, db: Database
) -> None:
    profile = await make.profile(name=IDENTITY["name"], phone=IDENTITY["phone"])
    async with db.write() as session:
        await session.execute(
            text(
                "UPDATE returnee_identities SET national_id = :nid, district = :d, commune = :c, village = :v,"
                " date_of_birth = :dob WHERE id = (SELECT identity_id FROM returnee_profiles WHERE id = :p)"
            ),
            {
                "nid": IDENTITY["national_id"],
                "d": IDENTITY["district"],
                "c": IDENTITY["commune"],
                "v": IDENTITY["village"],
                "dob": date.fromisoformat(IDENTITY["date_of_birth"]),
                "p": profile,
            },
        )
    employer = await make.employer_caller()
    vacancy = await _open_vacancy(make, employer)
    graph = schema._schema
    profile_fields = _selection(graph.type_map["ReturneeProfile"])  # type: ignore[arg-type]
    connection = _selection(graph.type_map["ReturneeProfileConnection"])  # type: ignore[arg-type]
    documents = [
        (f"{{ returneeProfiles(first: 100) {{ {connection} }} }}", {}),
        (
            f"query($id: ID!) {{ node(id: $id) {{ ... on ReturneeProfile {{ {profile_fields} }} }} }}",
            {"id": to_global_id("ReturneeProfile", profile)},
        ),
        (
            f"query($id: ID!) {{ node(id: $id) {{ ... on Vacancy {{ matchingProfiles(first: 100) {{ {connection} }} }} }} }}",  # noqa: E501
            {"id": vacancy},
        ),
    ]
    for document, variables in documents:
        body = await make.graphql(employer, document, variables)
        assert "errors" not in body, body
        text_seen = json.dumps(body, ensure_ascii=False)
        cursors = [e["cursor"] for e in _edges(body)]
        is_connection = "first: 100" in document
        assert bool(cursors) == is_connection, "each connection walk must reach at least one profile"
        assert "BATTAMBANG" in text_seen
        text_seen += " ".join(base64.urlsafe_b64decode(c + "=" * (-len(c) % 4)).decode() for c in cursors)
        for value in IDENTITY.values():
            assert value not in text_seen
            assert value.replace("+855", "0") not in text_seen
        assert "1987" not in text_seen


def _edges(body: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(body, dict):
        if "cursor" in body:
            found.append(body)
        for value in body.values():
            found += _edges(value)
    elif isinstance(body, list):
        for value in body:
            found += _edges(value)
    return found


# --- what a process keeps between searches -----------------------------------------------------


async def test_a_profiles_skills_read_the_same_before_and_after_the_taxonomy_is_cached(make: Factory) -> None:
    """The first search reads the taxonomy through the loader (awaited); later ones answer from memory."""
    from db import catalog

    caller = await make.employer_caller()
    await make.profile(skills=["textile.overlock", "textile.single-needle-sewing"], province=Province.KANDAL)
    document = SEARCH.replace("skills { code }", "skills { code name sector }")

    async def skills() -> list[Any]:
        body = await make.graphql(caller, document, {"filter": {"provinces": ["KANDAL"]}})
        assert "errors" not in body, body
        return [edge["node"]["skills"] for edge in body["data"]["returneeProfiles"]["edges"]]

    catalog._taxonomy.clear()
    loaded = await skills()
    assert catalog.known_skills(["textile.overlock"]) is not None  # the loader filled the taxonomy
    assert await skills() == loaded
    assert sorted(s["code"] for s in loaded[0]) == ["textile.overlock", "textile.single-needle-sewing"]
    assert all(s["name"] and s["sector"] == "TEXTILE" for s in loaded[0])


def test_a_search_built_once_is_reused_and_never_stands_for_another() -> None:
    from db import search as built
    from db.search import ProfileSearch, search_statements

    bits = {"textile.overlock": 3, "textile.ironing": 4}
    one = ProfileSearch(skills=["textile.overlock"], provinces=[Province.KANDAL])
    same = ProfileSearch(skills=["textile.overlock"], provinces=[Province.KANDAL])
    statements = search_statements(one, bits, first=20, after=None)
    assert search_statements(same, bits, first=20, after=None) is statements
    others = [
        search_statements(
            ProfileSearch(skills=["textile.ironing"], provinces=[Province.KANDAL]), bits, first=20, after=None
        ),
        search_statements(
            ProfileSearch(skills=["textile.overlock"], provinces=[Province.KEP]), bits, first=20, after=None
        ),
        search_statements(one, bits, first=10, after=None),
        search_statements(one, bits, first=20, after=None, with_total=False),
        search_statements(one, {"textile.overlock": 5}, first=20, after=None),  # another database's bits
    ]
    assert all(other is not statements for other in others)
    for n in range(built.BUILT_SEARCHES_KEPT + 1):  # the oldest give way: the cache stays bounded
        search_statements(ProfileSearch(available_by=date(2026, 1, 1) + timedelta(days=n)), bits, first=1, after=None)
    assert len(built._built) == built.BUILT_SEARCHES_KEPT
    assert search_statements(same, bits, first=20, after=None) is not statements
