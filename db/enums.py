"""The closed vocabularies of the data model, shared by the tables and the API."""

from __future__ import annotations

import enum


class Sector(enum.StrEnum):
    TEXTILE = "TEXTILE"
    CONSTRUCTION = "CONSTRUCTION"
    AGRICULTURE = "AGRICULTURE"


# ISIC Rev.4 divisions an employer of each sector may be registered under.
ISIC_DIVISIONS: dict[Sector, tuple[int, ...]] = {
    Sector.TEXTILE: (13, 14, 15),
    Sector.CONSTRUCTION: (41, 42, 43),
    Sector.AGRICULTURE: (1,),
}


class Province(enum.StrEnum):
    BANTEAY_MEANCHEY = "BANTEAY_MEANCHEY"
    BATTAMBANG = "BATTAMBANG"
    KAMPONG_CHAM = "KAMPONG_CHAM"
    KAMPONG_CHHNANG = "KAMPONG_CHHNANG"
    KAMPONG_SPEU = "KAMPONG_SPEU"
    KAMPONG_THOM = "KAMPONG_THOM"
    KAMPOT = "KAMPOT"
    KANDAL = "KANDAL"
    KEP = "KEP"
    KOH_KONG = "KOH_KONG"
    KRATIE = "KRATIE"
    MONDULKIRI = "MONDULKIRI"
    ODDAR_MEANCHEY = "ODDAR_MEANCHEY"
    PAILIN = "PAILIN"
    PHNOM_PENH = "PHNOM_PENH"
    PREAH_SIHANOUK = "PREAH_SIHANOUK"
    PREAH_VIHEAR = "PREAH_VIHEAR"
    PREY_VENG = "PREY_VENG"
    PURSAT = "PURSAT"
    RATANAKIRI = "RATANAKIRI"
    SIEM_REAP = "SIEM_REAP"
    STUNG_TRENG = "STUNG_TRENG"
    SVAY_RIENG = "SVAY_RIENG"
    TAKEO = "TAKEO"
    TBOUNG_KHMUM = "TBOUNG_KHMUM"


class AgeBand(enum.StrEnum):
    # Cambodian law lets 15- to 17-year-olds do light work; the contract's bands start at 18.
    AGE_15_17 = "AGE_15_17"
    AGE_18_24 = "AGE_18_24"
    AGE_25_34 = "AGE_25_34"
    AGE_35_44 = "AGE_35_44"
    AGE_45_54 = "AGE_45_54"
    AGE_55_PLUS = "AGE_55_PLUS"

    @classmethod
    def of_age(cls, years: int) -> AgeBand:
        for upper, band in ((17, cls.AGE_15_17), (24, cls.AGE_18_24), (34, cls.AGE_25_34), (44, cls.AGE_35_44)):
            if years <= upper:
                return band
        return cls.AGE_45_54 if years <= 54 else cls.AGE_55_PLUS


class Sex(enum.StrEnum):
    FEMALE = "FEMALE"
    MALE = "MALE"


class EducationLevel(enum.StrEnum):
    NONE = "NONE"
    PRIMARY = "PRIMARY"
    LOWER_SECONDARY = "LOWER_SECONDARY"
    UPPER_SECONDARY = "UPPER_SECONDARY"
    VOCATIONAL = "VOCATIONAL"
    TERTIARY = "TERTIARY"


class ContractType(enum.StrEnum):
    PERMANENT = "PERMANENT"
    FIXED_TERM = "FIXED_TERM"
    SEASONAL = "SEASONAL"


class Benefit(enum.StrEnum):
    NSSF_OCCUPATIONAL_RISK = "NSSF_OCCUPATIONAL_RISK"
    NSSF_HEALTH_CARE = "NSSF_HEALTH_CARE"
    NSSF_PENSION = "NSSF_PENSION"
    HOUSING = "HOUSING"
    TRANSPORT = "TRANSPORT"
    MEALS = "MEALS"


# NSSF coverage is compulsory for every formal job, so every vacancy carries these.
NSSF_BENEFITS: tuple[Benefit, ...] = (
    Benefit.NSSF_OCCUPATIONAL_RISK,
    Benefit.NSSF_HEALTH_CARE,
    Benefit.NSSF_PENSION,
)


class VacancyStatus(enum.StrEnum):
    DRAFT = "DRAFT"
    OPEN = "OPEN"
    FILLED = "FILLED"
    CLOSED = "CLOSED"


class HireStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"
    VOIDED = "VOIDED"


class ContactRequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"


class Role(enum.StrEnum):
    EMPLOYER_ADMIN = "EMPLOYER_ADMIN"
    HIRING_MANAGER = "HIRING_MANAGER"
    MINISTRY_AUDITOR = "MINISTRY_AUDITOR"
    PROVINCIAL_OFFICER = "PROVINCIAL_OFFICER"


EMPLOYER_ROLES = (Role.EMPLOYER_ADMIN, Role.HIRING_MANAGER)


class EmployerStatus(enum.StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
