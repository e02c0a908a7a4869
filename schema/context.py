"""The per-request context: who is calling, the database, and this request's loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import partial

from starlette.requests import Request
from strawberry.dataloader import DataLoader
from strawberry.types import Info as StrawberryInfo

from api.settings import Settings
from auth.principal import Principal
from db import loaders
from db.accounts import Employer
from db.anonymity import AnonymisedProfile
from db.catalog import Occupation, Skill
from db.engine import Database
from db.hires import Hire
from db.pagination import Page
from db.returnees import ProfileExperience
from db.vacancies import Vacancy
from resolvers.hires import VacancyHirePage, hire_pages_by_vacancy


@dataclass
class Loaders:
    employer_by_id: DataLoader[uuid.UUID, Employer | None]
    occupation_by_code: DataLoader[str, Occupation | None]
    skills_by_vacancy_id: DataLoader[uuid.UUID, list[Skill]]
    skill_by_code: DataLoader[str, Skill | None]
    profile_by_id: DataLoader[uuid.UUID, AnonymisedProfile | None]
    experience_by_profile_id: DataLoader[uuid.UUID, list[ProfileExperience]]
    vacancy_by_id: DataLoader[uuid.UUID, Vacancy | None]
    hire_page_by_vacancy: DataLoader[VacancyHirePage, Page[Hire]]

    @classmethod
    def for_request(cls, db: Database, principal: Principal) -> Loaders:
        return cls(
            employer_by_id=DataLoader(partial(loaders.employers_by_id, db)),
            occupation_by_code=DataLoader(partial(loaders.occupations_by_code, db)),
            skills_by_vacancy_id=DataLoader(partial(loaders.skills_by_vacancy_id, db)),
            skill_by_code=DataLoader(partial(loaders.skills_by_code, db)),
            profile_by_id=DataLoader(partial(loaders.anonymised_profiles_by_id, db)),
            experience_by_profile_id=DataLoader(partial(loaders.experience_by_profile_id, db)),
            vacancy_by_id=DataLoader(partial(loaders.vacancies_by_id, db)),
            # From resolvers/, not db/: which hires a caller reads is a use case's rule (hire_scope).
            hire_page_by_vacancy=DataLoader(partial(hire_pages_by_vacancy, db, principal)),
        )


@dataclass
class Context:
    request: Request
    principal: Principal
    db: Database
    settings: Settings
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders.for_request(self.db, self.principal)


Info = StrawberryInfo[Context, None]
