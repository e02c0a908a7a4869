"""Registering returnees: the inputs, the payload, and the registerReturnee and setReturneeConsent mutations."""

from __future__ import annotations

import datetime

import strawberry

from db.anonymity import AnonymisedProfile
from resolvers import returnees as use_cases
from resolvers.errors import UserError as DomainUserError
from resolvers.validation import invalid
from schema.common import EducationLevel, Province, Sex, UserError, user_errors, uuid_of
from schema.context import Info
from schema.profiles import ReturneeProfile


@strawberry.input
class ExperienceInput:
    occupation_code: str = strawberry.field(description="An ISCO-08 unit group, e.g. 8153 (sewing machine operator).")
    years: int = strawberry.field(description="From 0 to 60.")
    abroad: bool = strawberry.field(description="True for work abroad (e.g. in Thailand), false for work at home.")


@strawberry.input(
    description="What a labour office records of a returnee. Only the anonymised profile is ever shown to employers."
)
class RegisterReturneeInput:
    name: str = strawberry.field(description="Not blank; at most 200 characters.")
    sex: Sex  # type: ignore[valid-type]
    date_of_birth: datetime.date = strawberry.field(
        description="The returnee is 15 to 70 years old on the day of registration (Cambodian date)."
    )
    phone: str = strawberry.field(
        description='A Cambodian number, written as people do ("012 345 678", "+855 12 345 678", "85512345678");'
        " stored as +855 and 8 or 9 digits. One returnee per phone number."
    )
    national_id: str | None = strawberry.field(default=None, description="One returnee per national id.")
    province: Province = strawberry.field(  # type: ignore[valid-type]
        description="Where the returnee lives; a provincial officer registers returnees of their own province."
    )
    district: str | None = None
    commune: str | None = None
    village: str | None = None
    skills: list[str] = strawberry.field(description="Skill codes (see the skills query); repeats are ignored.")
    experience: list[ExperienceInput] = strawberry.field(
        description="Each occupation at most once abroad and once at home."
    )
    certifications: list[str] | None = None
    languages: list[str] | None = strawberry.field(default=None, description='Language codes, e.g. ["km", "th"].')
    education_level: EducationLevel  # type: ignore[valid-type]
    available_from: datetime.date = strawberry.field(
        description="Not before returnedOn, and at most a year from today; a past date means available now."
    )
    preferred_provinces: list[Province] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Provinces the returnee is willing to work in, besides their own."
    )
    returned_on: datetime.date = strawberry.field(
        description="The day the returnee came back to Cambodia: not in the future, not before the date of birth."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Retry-safe registration: the same key with the same input returns the first profile.",
    )
    consent_to_search: bool | None = strawberry.field(
        default=False,
        description="The returnee's recorded consent to be searchable by employers. Without it (false or null)"
        " the profile is stored but never shown to employers; setReturneeConsent changes it later.",
    )


@strawberry.input
class SetReturneeConsentInput:
    profile_id: strawberry.ID
    consent_to_search: bool = strawberry.field(
        description="False hides the profile from employers as soon as the change is saved."
    )


@strawberry.type
class ReturneeRegistrationPayload:
    profile: ReturneeProfile | None
    user_errors: list[UserError]

    @classmethod
    def from_result(cls, result: AnonymisedProfile | list[DomainUserError]) -> ReturneeRegistrationPayload:
        if isinstance(result, list):
            return cls(profile=None, user_errors=user_errors(result))
        return cls(profile=ReturneeProfile.from_view(result), user_errors=[])


def _registration(input: RegisterReturneeInput) -> use_cases.Registration:
    return use_cases.Registration(
        name=input.name,
        sex=input.sex,
        date_of_birth=input.date_of_birth,
        phone=input.phone,
        national_id=input.national_id,
        province=input.province,
        district=input.district,
        commune=input.commune,
        village=input.village,
        skills=list(input.skills),
        experience=[use_cases.ExperienceEntry(e.occupation_code, e.years, e.abroad) for e in input.experience],
        certifications=list(input.certifications or []),
        languages=list(input.languages or []),
        education_level=input.education_level,
        available_from=input.available_from,
        preferred_provinces=list(input.preferred_provinces or []),
        returned_on=input.returned_on,
        consent_to_search=bool(input.consent_to_search),
    )


@strawberry.type
class ReturneeMutation:
    @strawberry.mutation(
        description="Provincial officer (own province) or a ministry system with returnees:write: records the"
        " returnee's identity and anonymised profile together, and returns the profile as employers would see it."
    )
    async def register_returnee(self, info: Info, input: RegisterReturneeInput) -> ReturneeRegistrationPayload:
        result = await use_cases.register_returnee(
            info.context.db, info.context.principal, _registration(input), input.idempotency_key
        )
        return ReturneeRegistrationPayload.from_result(result)

    @strawberry.mutation(
        description="Provincial officer (own province) or a ministry system with returnees:write: records whether"
        " the returnee consents to be found by employers."
    )
    async def set_returnee_consent(self, info: Info, input: SetReturneeConsentInput) -> ReturneeRegistrationPayload:
        profile_id = uuid_of(input.profile_id, "ReturneeProfile")
        if profile_id is None:
            return ReturneeRegistrationPayload.from_result(
                [invalid("This is not the id of a returnee profile.", "profileId")]
            )
        result = await use_cases.set_returnee_consent(
            info.context.db, info.context.principal, profile_id, input.consent_to_search
        )
        return ReturneeRegistrationPayload.from_result(result)
