"""Returnee use cases: register a returnee (identity and anonymised profile together) and record search consent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.principal import Principal
from db.anonymity import AnonymisedProfile, anonymised_profiles_by_id
from db.audit import Actor, Change, append_audit_event, append_audit_events
from db.base import Base, violated_constraint
from db.catalog import Occupation, Skill
from db.engine import Database
from db.enums import AgeBand, EducationLevel, Province, Sector, Sex
from db.returnees import ProfileExperience, ReturneeIdentity, ReturneeProfile
from resolvers.errors import Rejected, UserError, UserErrorCode
from resolvers.validation import check_text, invalid, request_digest, today_in_cambodia
from resolvers.validation import field as input_path

MIN_AGE, MAX_AGE = 15, 70
MAX_YEARS_OF_EXPERIENCE = 60
# Separators people write inside phone numbers: "012 345 678", "012-345-678", "(012) 345.678".
PHONE_PUNCTUATION = re.compile(r"[\s\-.()]")
# Officers typing in Khmer may write the number in Khmer digits: "០១២ ៣៤៥ ៦៧៨".
KHMER_DIGITS = str.maketrans("០១២៣៤៥៦៧៨៩", "0123456789")
# The unique constraints a concurrent registration of the same person trips, and the input field each names.
CONFLICTING_FIELDS = {"uq_returnee_identities_phone": "phone", "uq_returnee_identities_national_id": "nationalId"}


@dataclass(frozen=True)
class ExperienceEntry:
    occupation_code: str
    years: int
    abroad: bool


@dataclass(frozen=True)
class Registration:
    """What a labour office records of one returnee; the API and the CSV import both fill it in."""

    name: str
    sex: Sex
    date_of_birth: date
    phone: str
    province: Province
    education_level: EducationLevel
    available_from: date
    returned_on: date
    skills: list[str] = field(default_factory=list)
    experience: list[ExperienceEntry] = field(default_factory=list)
    national_id: str | None = None
    district: str | None = None
    commune: str | None = None
    village: str | None = None
    certifications: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    preferred_provinces: list[Province] = field(default_factory=list)
    consent_to_search: bool = False


@dataclass(frozen=True)
class Taxonomy:
    """The skill and occupation codes a registration may use; loaded once, so an import checks rows without SQL."""

    skill_codes: frozenset[str]
    occupation_sectors: dict[str, tuple[Sector, ...]]

    @classmethod
    async def load(cls, session: AsyncSession) -> Taxonomy:
        skills = await session.scalars(select(Skill.code))
        occupations = await session.execute(select(Occupation.code, Occupation.sectors))
        return cls(frozenset(skills), {code: tuple(Sector(s) for s in sectors) for code, sectors in occupations})

    def sector_of(self, occupation_code: str) -> Sector | None:
        """An occupation's sector when it has exactly one; a forklift driver, say, works in all three."""
        sectors = self.occupation_sectors[occupation_code]
        return sectors[0] if len(sectors) == 1 else None


def normalise_phone(raw: str) -> str | None:
    """A Cambodian number as +855 and 8 or 9 digits, from how people write it; None if it is not one."""
    digits = PHONE_PUNCTUATION.sub("", raw.translate(KHMER_DIGITS))
    if digits.startswith("+855"):
        national = digits[4:]
    elif digits.startswith("00855"):
        national = digits[5:]
    elif digits.startswith("855") and len(digits) in (11, 12):
        national = digits[3:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    # "+855 012 345 678" repeats the national trunk 0 after the country code; it is not part of the number.
    national = national.removeprefix("0")
    if not national.isascii() or not national.isdigit() or len(national) not in (8, 9):
        return None
    return "+855" + national


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def normalise(r: Registration) -> Registration:
    """Trimmed text, the phone in +855 form when it is one, lists without repeats (skills keep their positions)."""
    return replace(
        r,
        name=r.name.strip(),
        phone=normalise_phone(r.phone) or r.phone.strip(),
        national_id=_clean(r.national_id),
        district=_clean(r.district),
        commune=_clean(r.commune),
        village=_clean(r.village),
        skills=[s.strip() for s in r.skills],
        certifications=_distinct(r.certifications),
        languages=_distinct(r.languages),
        preferred_provinces=list(dict.fromkeys(r.preferred_provinces)),
    )


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def a_year_after(day: date) -> date:
    return day.replace(year=day.year + 1) if (day.month, day.day) != (2, 29) else date(day.year + 1, 3, 1)


def validate_registration(r: Registration, taxonomy: Taxonomy, today: date) -> list[UserError]:
    """Every rule a registration must satisfy; the one check that registerReturnee and the CSV import share."""
    return [*_person_errors(r, today), *_work_errors(r, taxonomy), *_date_errors(r, today)]


def _person_errors(r: Registration, today: date) -> list[UserError]:
    errors = [
        e
        for e in (
            check_text(r.name, "name", max_length=200, required=True),
            check_text(r.national_id, "nationalId", max_length=30, required=False),
            *(check_text(getattr(r, p), p, max_length=100, required=False) for p in ("district", "commune", "village")),
        )
        if e is not None
    ]
    if normalise_phone(r.phone) is None:
        errors.append(
            invalid(f"{r.phone!r} is not a Cambodian phone number (e.g. 012 345 678 or +855 12 345 678).", "phone")
        )
    age = age_on(r.date_of_birth, today)
    if not MIN_AGE <= age <= MAX_AGE:
        errors.append(
            invalid(
                f"A returnee is registered from {MIN_AGE} to {MAX_AGE} years of age; this one is {age}.", "dateOfBirth"
            )
        )
    for name, values in (("certifications", r.certifications), ("languages", r.languages)):
        if len(values) > 20 or any(len(v) > 100 for v in values):
            errors.append(invalid(f"At most 20 {name} of at most 100 characters each.", name))
    return errors


def _work_errors(r: Registration, taxonomy: Taxonomy) -> list[UserError]:
    errors = [
        invalid(f"There is no skill with code {code!r}.", "skills", str(i))
        for i, code in enumerate(r.skills)
        if code not in taxonomy.skill_codes
    ]
    seen: set[tuple[str, bool]] = set()
    for i, entry in enumerate(r.experience):
        if entry.occupation_code not in taxonomy.occupation_sectors:
            message = f"There is no ISCO-08 occupation with code {entry.occupation_code!r}."
            errors.append(invalid(message, "experience", str(i), "occupationCode"))
        if not 0 <= entry.years <= MAX_YEARS_OF_EXPERIENCE:
            message = f"Years of experience must be from 0 to {MAX_YEARS_OF_EXPERIENCE}."
            errors.append(invalid(message, "experience", str(i), "years"))
        if (entry.occupation_code, entry.abroad) in seen:
            where = "abroad" if entry.abroad else "at home"
            errors.append(invalid(f"Occupation {entry.occupation_code} {where} is listed twice.", "experience", str(i)))
        seen.add((entry.occupation_code, entry.abroad))
    return errors


def _date_errors(r: Registration, today: date) -> list[UserError]:
    errors = []
    if r.returned_on > today:
        errors.append(invalid("The date of return must not be in the future.", "returnedOn"))
    elif r.returned_on < r.date_of_birth:
        errors.append(invalid("The date of return must not be before the date of birth.", "returnedOn"))
    if r.available_from < r.returned_on:
        errors.append(invalid("The returnee cannot be available before returning.", "availableFrom"))
    elif r.available_from > a_year_after(today):
        errors.append(invalid("The available-from date must be at most a year from today.", "availableFrom"))
    return errors


@dataclass(frozen=True)
class Registered:
    """The phones and national ids of some registrations that returnees already hold."""

    phones: set[str]
    national_ids: set[str]

    def conflicts(self, r: Registration) -> list[UserError]:
        """CONFLICT errors for `r`'s phone or national id, if held."""
        errors = []
        if r.national_id is not None and r.national_id in self.national_ids:
            errors.append(_conflict("nationalId"))
        if r.phone in self.phones:
            errors.append(_conflict("phone"))
        return errors

    def hold(self, r: Registration) -> None:
        """`r`'s phone and national id are held from now on (by `r`, about to be written)."""
        self.phones.add(r.phone)
        if r.national_id is not None:
            self.national_ids.add(r.national_id)


async def registered(session: AsyncSession, registrations: Sequence[Registration]) -> Registered:
    """Which of the registrations' phones and national ids returnees already hold: one query for all of them."""
    phones = [r.phone for r in registrations]
    national_ids = [r.national_id for r in registrations if r.national_id is not None]
    if not phones:
        return Registered(set(), set())  # a batch of an import without a good row
    rows = (
        await session.execute(
            select(ReturneeIdentity.phone, ReturneeIdentity.national_id).where(
                or_(ReturneeIdentity.phone.in_(phones), ReturneeIdentity.national_id.in_(national_ids))
            )
        )
    ).all()
    return Registered(
        phones={row.phone for row in rows} & set(phones),
        national_ids={row.national_id for row in rows if row.national_id is not None} & set(national_ids),
    )


async def find_conflicts(session: AsyncSession, r: Registration) -> list[UserError]:
    """CONFLICT errors for a phone or national id another returnee already holds."""
    return (await registered(session, [r])).conflicts(r)


def _conflict(name: str) -> UserError:
    what = {"phone": "phone number", "nationalId": "national id"}[name]
    return UserError(UserErrorCode.CONFLICT, f"A returnee with this {what} is already registered.", input_path(name))


def conflict_of(error: IntegrityError) -> UserError | None:
    """The CONFLICT a unique violation means when a concurrent registration of the same person won the race."""
    name = CONFLICTING_FIELDS.get(violated_constraint(error) or "")
    return _conflict(name) if name else None


def registration_change(profile_id: uuid.UUID, r: Registration) -> dict[str, Any]:
    """What the audit trail keeps of a registration: nothing that could name the returnee."""
    return {
        "profileId": str(profile_id),
        "province": r.province.value,
        "skills": len(set(r.skills)),
        "experience": len(r.experience),
        "certifications": len(r.certifications),
        "languages": len(r.languages),
        "preferredProvinces": len(r.preferred_provinces),
    }


async def write_registration(
    session: AsyncSession,
    actor: Actor,
    r: Registration,
    taxonomy: Taxonomy,
    today: date,
    *,
    idempotency_key: str | None = None,
    digest: str | None = None,
) -> uuid.UUID:
    """Identity, profile, experience and the audit event, in the caller's transaction; returns the profile's id."""
    (profile_id,) = await write_registrations(
        session, actor, [r], taxonomy, today, idempotency_key=idempotency_key, digest=digest
    )
    return profile_id


async def write_registrations(
    session: AsyncSession,
    actor: Actor,
    registrations: Sequence[Registration],
    taxonomy: Taxonomy,
    today: date,
    *,
    idempotency_key: str | None = None,
    digest: str | None = None,
) -> list[uuid.UUID]:
    """Each registration's identity, profile, experience and audit event, in the caller's transaction, one
    statement per table however many (the profiles' statement triggers, which keep the postings, the group counts
    and the search bitmaps, then run once); returns the profiles' ids.

    The registrations are normalised and valid; the idempotency key, if any, is a lone registration's. The ids are
    made here so the audit events can name the profiles first."""
    assert idempotency_key is None or len(registrations) == 1
    identity_ids = [uuid.uuid4() for _ in registrations]
    profile_ids = [uuid.uuid4() for _ in registrations]
    # The audit events go first: the chain's lock then orders every registering transaction before the
    # profile insert takes the province lock and the phone's unique-index entry, so none deadlocks.
    await append_audit_events(
        session,
        actor,
        [
            Change("returnee.registered", "ReturneeProfile", profile_id, registration_change(profile_id, r))
            for profile_id, r in zip(profile_ids, registrations, strict=True)
        ],
    )
    identities = zip(identity_ids, registrations, strict=True)
    await _insert(
        session,
        ReturneeIdentity,
        [
            {
                "id": identity_id,
                **{k: getattr(r, k) for k in ("name", "sex", "date_of_birth", "phone", "national_id", "province")},
                **{k: getattr(r, k) for k in ("district", "commune", "village", "returned_on", "consent_to_search")},
                "registered_by": actor.name,
                "idempotency_key": idempotency_key,
                "request_digest": digest,
            }
            for identity_id, r in identities
        ],
    )
    profiles = zip(profile_ids, identity_ids, registrations, strict=True)
    await _insert(
        session,
        ReturneeProfile,
        [
            {
                "id": profile_id,
                "identity_id": identity_id,
                "age_band": AgeBand.of_age(age_on(r.date_of_birth, today)),
                "sex": r.sex,
                "province": r.province,
                "return_month": r.returned_on.replace(day=1),
                "education_level": r.education_level,
                "available_from": r.available_from,
                "preferred_provinces": [p.value for p in r.preferred_provinces],
                "certifications": r.certifications,
                "languages": r.languages,
                "skill_codes": list(dict.fromkeys(r.skills)),
                "occupation_codes": sorted({e.occupation_code for e in r.experience}),
                "experience_sectors": sorted(
                    {s.value for e in r.experience if (s := taxonomy.sector_of(e.occupation_code))}
                ),
                "searchable": r.consent_to_search,
            }
            for profile_id, identity_id, r in profiles
        ],
    )
    experience = [
        {
            "profile_id": profile_id,
            "occupation_code": e.occupation_code,
            "abroad": e.abroad,
            "sector": taxonomy.sector_of(e.occupation_code),
            "years": e.years,
        }
        for profile_id, r in zip(profile_ids, registrations, strict=True)
        for e in r.experience
    ]
    await _insert(session, ProfileExperience, experience)
    return profile_ids


async def _insert(session: AsyncSession, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """`rows` in multi-row INSERTs (one, for an import's batch): an INSERT … RETURNING sent with many rows is batched
    by SQLAlchemy ("insertmanyvalues") into statements of up to 1,000 rows, compiled once; without RETURNING,
    asyncpg would send one statement a row. On the table rather than the mapped class: the ORM's bulk insert
    took ~40% longer over an import, building each row's parameters through the mapper."""
    if rows:
        table = cast(Table, model.__table__)
        await session.execute(insert(table).returning(*table.primary_key.columns), rows)


def may_register(principal: Principal) -> UserError | None:
    if principal.is_ministry and principal.has_scope("returnees:write"):
        return None
    return UserError(
        UserErrorCode.FORBIDDEN,
        "Only a provincial labour officer, or a ministry system with the scope returnees:write, registers returnees.",
    )


def own_province(principal: Principal, province: Province, *path: str) -> UserError | None:
    """Officers and province-bound clients act for their own province only."""
    if principal.province is None or principal.province == province:
        return None
    message = f"You act for returnees of {principal.province.value} only."
    return UserError(UserErrorCode.FORBIDDEN, message, input_path(*path))


async def register_returnee(
    db: Database, principal: Principal, registration: Registration, idempotency_key: str | None
) -> AnonymisedProfile | list[UserError]:
    if (denied := may_register(principal) or own_province(principal, registration.province, "province")) is not None:
        return [denied]
    registration = normalise(registration)
    digest = request_digest(asdict(registration))
    try:
        async with db.write() as session:
            if idempotency_key is not None:
                if earlier := await _earlier_registration(session, principal.actor.name, idempotency_key, digest):
                    return await _anonymised(session, earlier)
            today = today_in_cambodia()
            taxonomy = await Taxonomy.load(session)
            errors = validate_registration(registration, taxonomy, today)
            if errors or (errors := await find_conflicts(session, registration)):
                return errors
            profile_id = await write_registration(
                session, principal.actor, registration, taxonomy, today, idempotency_key=idempotency_key, digest=digest
            )
            return await _anonymised(session, profile_id)
    except Rejected as rejected:
        return rejected.errors
    except IntegrityError as error:
        if (conflict := conflict_of(error)) is None:
            raise
        return [conflict]


async def _anonymised(session: AsyncSession, profile_id: uuid.UUID) -> AnonymisedProfile:
    (view,) = await anonymised_profiles_by_id(session, [profile_id])
    assert view is not None
    return view


async def _earlier_registration(session: AsyncSession, registered_by: str, key: str, digest: str) -> uuid.UUID | None:
    """The profile an earlier request with this key registered; the key is bound to that request's input."""
    # Serialises concurrent retries with one key, so exactly one of them registers the returnee.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": f"returnee:{registered_by}:{key}"}
    )
    earlier = await session.scalar(
        select(ReturneeIdentity).where(
            ReturneeIdentity.registered_by == registered_by, ReturneeIdentity.idempotency_key == key
        )
    )
    if earlier is None:
        return None
    if earlier.request_digest != digest:
        raise Rejected(
            UserError(
                UserErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This idempotency key was already used to register a different returnee.",
                input_path("idempotencyKey"),
            )
        )
    return await session.scalar(select(ReturneeProfile.id).where(ReturneeProfile.identity_id == earlier.id))


async def set_returnee_consent(
    db: Database, principal: Principal, profile_id: uuid.UUID, consent: bool
) -> AnonymisedProfile | list[UserError]:
    """Record the returnee's answer; withdrawn consent hides the profile from employers when this commits."""
    if (denied := may_register(principal)) is not None:
        return [denied]
    async with db.write() as session:
        profile = await session.scalar(
            select(ReturneeProfile).where(ReturneeProfile.id == profile_id).with_for_update()
        )
        if profile is None:
            return [UserError(UserErrorCode.NOT_FOUND, "No returnee profile has this id.", input_path("profileId"))]
        if (denied := own_province(principal, profile.province, "profileId")) is not None:
            return [denied]
        await append_audit_event(
            session,
            principal.actor,
            "returnee.consent_changed",
            "ReturneeProfile",
            profile.id,
            {"profileId": str(profile.id), "consentToSearch": consent},
        )
        identity = await session.get(ReturneeIdentity, profile.identity_id, with_for_update=True)
        assert identity is not None
        identity.consent_to_search = consent
        identity.consent_recorded_at = func.now()
        profile.searchable = consent
        await session.flush()
        return await _anonymised(session, profile.id)
