"""The web client in a real headless Chromium against a real server and database, as each kind of user meets it.

One browser for the module, one fresh context (cookies, storage) per test. Screenshots of every main page at
360 px and 1280 px go to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from api.web import SECURITY_HEADERS
from auth.csrf import CSRF_HEADER
from db.enums import Province, Role, Sector
from resolvers.validation import today_in_cambodia
from schema.common import to_global_id
from tests.factories import Caller, Factory
from tests.web_server import serving

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (pip install -e .[test])"
)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium at /usr/bin/chromium: install Debian's (apt-get install chromium; ./karngar test does it as root)",
        allow_module_level=True,
    )
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE, DESKTOP = {"width": 360, "height": 740}, {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
FIRST_LOAD_BUDGET = 150 * 1024
TODAY = today_in_cambodia()

# Every text node of the page must be Khmer, or data (inside [data-value]), or a language named in itself
# (inside [lang]), or only digits and punctuation; so must the attributes a screen reader speaks.
UNTRANSLATED = """() => {
  const khmer = /[\\u1780-\\u17FF\\u19E0-\\u19FF]/;
  const neutral = /^[\\s\\d.,:;\\/$%+\\-–—()#×·…*|<>=?!'"]*$/;
  const exempt = (el) => el.closest("[data-value], [lang]:not(html), script, style, noscript");
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (text && !exempt(walker.currentNode.parentElement) && !khmer.test(text) && !neutral.test(text)) found.push(text);
  }
  for (const el of document.querySelectorAll("[placeholder], [aria-label], [title], [alt]")) {
    if (exempt(el)) continue;
    for (const name of ["placeholder", "aria-label", "title", "alt"]) {
      const value = el.getAttribute(name);
      if (value && !khmer.test(value) && !neutral.test(value)) found.push(`${name}="${value}"`);
    }
  }
  if (!khmer.test(document.title)) found.push(`<title>${document.title}`);
  return found;
}"""

# Every form control has a label a screen reader speaks; nothing is wider than the phone's screen.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => el.type !== "hidden" && !el.labels.length && !el.getAttribute("aria-label"))
  .map((el) => el.outerHTML)"""
TOO_WIDE = "() => document.documentElement.scrollWidth > window.innerWidth"

CREATE_VACANCY = """mutation($input: CreateVacancyInput!) {
  createVacancy(input: $input) { vacancy { id } userErrors { code field message } } }"""
PUBLISH = """mutation($input: VacancyIdInput!) {
  publishVacancy(input: $input) { vacancy { id status } userErrors { code message } } }"""
REQUEST_CONTACT = """mutation($input: RequestContactInput!) {
  requestContact(input: $input) { contactRequest { id } userErrors { code message } } }"""
RESPOND = """mutation($input: RespondToContactRequestInput!) {
  respondToContactRequest(input: $input) { contactRequest { status } userErrors { code message } } }"""
RECORD_HIRE = """mutation($input: RecordHireInput!) {
  recordHire(input: $input) { hire { id } userErrors { code field message } } }"""
PENDING_REQUESTS = "{ contactRequests(filter: { statuses: [PENDING] }) { edges { node { id } } } }"


# The server, the browser, pages


@pytest.fixture(scope="module")
def base_url(settings: Settings, database_url: str) -> Iterator[str]:
    with serving(create_app(settings, database_url)) as url:
        yield url


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


class Session:
    """One person's browser context: a page, the JavaScript errors it raised, and shortcuts for the flows."""

    def __init__(self, context: Any, page: Any, base_url: str) -> None:
        self.context = context
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # The browser reports what the Content-Security-Policy blocked as console errors.
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    async def open(self, route: str = "") -> None:
        await self.page.goto(f"{self.base_url}/#/{route}")

    async def log_in(self, username: str, password: str, route: str = "") -> None:
        await self.open(route)
        await self.fill_login(username, password)

    async def fill_login(self, username: str, password: str) -> None:
        page = self.page
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Log in").click()
        await page.get_by_role("navigation").wait_for()

    async def go(self, route: str, title: str) -> None:
        """Navigates by the client's router and waits for the page's heading, which takes the focus."""
        await self.page.evaluate("route => { location.hash = route }", f"#/{route}")
        await self.heading(title)

    async def heading(self, title: str) -> None:
        heading = self.page.get_by_role("heading", level=1, name=title)
        await heading.wait_for()
        await self.page.wait_for_function("() => document.activeElement?.id === 'page-title'")
        await self.settled()

    async def settled(self) -> None:
        """Waits until nothing is loading; then no message key, null or undefined may show anywhere."""
        await self.page.wait_for_function("() => !document.querySelector('[aria-busy]')")
        text = await self.page.locator("body").inner_text()
        assert not re.search(r"⟦|\bnull\b|\bundefined\b|\bNaN\b", text), text

    async def screenshot(self, name: str) -> None:
        """The page at phone and desktop width, in the language it shows."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        language = await self.page.evaluate("document.documentElement.lang")
        for label, size in (("360", PHONE), ("1280", DESKTOP)):
            await self.page.set_viewport_size(size)
            await self.page.screenshot(path=SCREENSHOTS / f"{name}-{language}-{label}.png", full_page=True)
        await self.page.set_viewport_size(PHONE)

    async def status(self) -> str:
        return str(await self.page.locator(".messages").inner_text())


@pytest.fixture
async def people(browser: Any, base_url: str) -> AsyncIterator[Any]:
    """Opens a fresh browser session per person; checks on leaving that no script error or CSP violation happened."""
    sessions: list[Session] = []

    async def open_session() -> Session:
        context = await browser.new_context(viewport=PHONE, accept_downloads=True)
        context.set_default_timeout(10_000)
        session = Session(context, await context.new_page(), base_url)
        sessions.append(session)
        return session

    yield open_session
    for session in sessions:
        await session.context.close()
    assert [e for s in sessions for e in s.errors] == []


# Data the pages show, made through the API as an HR system and a labour office would


async def open_vacancy(make: Factory, caller: Caller, **overrides: Any) -> str:
    vacancy = {
        "title": "Sewing machine operator",
        "occupationCode": "8153",
        "province": "PHNOM_PENH",
        "description": "Single-needle sewing, 48 hours a week.",
        "positions": 3,
        "requiredSkills": ["textile.single-needle-sewing"],
        "contractType": "FIXED_TERM",
        "wageMinUsd": "230.00",
        "startDate": (TODAY + timedelta(days=14)).isoformat(),
        "benefits": ["TRANSPORT"],
    } | overrides
    created = (await make.graphql(caller, CREATE_VACANCY, {"input": vacancy}))["data"]["createVacancy"]
    assert created["userErrors"] == [], created
    vacancy_id = created["vacancy"]["id"]
    published = await make.graphql(caller, PUBLISH, {"input": {"id": vacancy_id}})
    assert published["data"]["publishVacancy"]["userErrors"] == []
    return str(vacancy_id)


async def candidates(make: Factory, count: int, province: Province = Province.PHNOM_PENH) -> list[str]:
    """Registered, consenting returnees who sew; enough of them that their profiles are shown in full."""
    ids = [
        await make.profile(
            province=province,
            available_from=TODAY,
            name=f"Sok Dara {n}",
            experience=[("8153", 3, True)],
            skills=["textile.single-needle-sewing"],
        )
        for n in range(count)
    ]
    return [to_global_id("ReturneeProfile", i) for i in ids]


async def accept_every_pending_request(make: Factory, base_url: str, province: Province) -> None:
    """What the labour office does after calling the returnees: records that each one accepts."""
    username, password = await make.user(Role.PROVINCIAL_OFFICER, province=province)
    async with httpx.AsyncClient(base_url=base_url, headers={CSRF_HEADER: "1"}) as officer:
        login = await officer.post("/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200
        pending = await cookie_graphql(officer, PENDING_REQUESTS)
        for edge in pending["contactRequests"]["edges"]:
            answer = {"input": {"id": edge["node"]["id"], "accepted": True}}
            assert (await cookie_graphql(officer, RESPOND, answer))["respondToContactRequest"]["userErrors"] == []


async def cookie_graphql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def hire(make: Factory, caller: Caller, vacancy_id: str, profile_id: str, wage: str = "240.00") -> str:
    hire_input = {
        "vacancyId": vacancy_id,
        "profileId": profile_id,
        "startDate": TODAY.isoformat(),
        "contractType": "FIXED_TERM",
        "monthlyWageUsd": wage,
    }
    recorded = (await make.graphql(caller, RECORD_HIRE, {"input": hire_input}))["data"]["recordHire"]
    assert recorded["userErrors"] == [], recorded
    return str(recorded["hire"]["id"])


# The factory manager


async def test_a_factory_manager_goes_from_login_to_a_recorded_hire_and_ends_it(make: Factory, people: Any) -> None:
    employer = await make.employer(Sector.TEXTILE, Province.PHNOM_PENH, name="Angkor Garment Co., Ltd.")
    username, password = await make.user(Role.HIRING_MANAGER, employer=employer)
    await candidates(make, 6)
    manager = await people()
    page = manager.page

    await manager.log_in(username, password)
    await manager.heading("Your vacancies")
    await manager.screenshot("manager-vacancies-empty")
    await page.get_by_role("link", name="New vacancy").click()
    await manager.heading("New vacancy")
    await page.get_by_label("Job title").fill("Sewing machine operator")
    await page.get_by_label("Occupation").select_option("8153")
    await page.get_by_label("Number of positions").fill("2")
    await page.get_by_label("Description of the work").fill("Single-needle sewing on T-shirts, 48 hours a week.")
    await page.get_by_label("Monthly wage from (USD)").fill("190")
    await page.get_by_text("Required skills").click()
    await page.get_by_label("Single-needle machine sewing").check()
    await page.get_by_role("button", name="Save and publish").click()

    wage_error = page.locator('[data-field="wageMinUsd"] .field-error')
    await wage_error.wait_for()
    assert "minimum wage" in await wage_error.inner_text()
    assert await page.get_by_label("Monthly wage from (USD)").get_attribute("aria-invalid") == "true"
    assert await page.evaluate("document.activeElement.name") == "wageMinUsd"
    await manager.screenshot("manager-vacancy-form-errors")
    await page.get_by_label("Monthly wage from (USD)").fill("240.00")
    await page.get_by_role("button", name="Save and publish").click()
    await manager.heading("Your vacancies")
    assert "Vacancy published" in await manager.status()
    card = page.locator("article", has_text="Sewing machine operator")
    assert "0 of 2 filled" in await card.inner_text()
    assert "Open" in await card.inner_text()

    await card.get_by_role("link", name="Candidates").click()
    await manager.heading("Matching candidates")
    cards = page.locator("article.candidate")
    assert await cards.count() == 6
    first = cards.first
    assert "Skills 40/40" in re.sub(r"\s+", " ", await first.locator(".reasons").inner_text())
    assert "Sok Dara" not in await page.locator("main").inner_text()
    await page.get_by_text("Filter candidates").click()
    await page.get_by_label("Sex").select_option("MALE")
    assert await page.locator("article.candidate:visible").count() == 0
    assert "0 shown of 6 loaded" in await page.locator("p.count[role=status]").inner_text()
    await page.get_by_label("Sex").select_option("")
    await manager.screenshot("manager-candidates")

    await first.get_by_role("button", name="Ask for contact").click()
    await first.get_by_label("Message for the returnee").fill("Can you start next month?")
    await first.get_by_role("button", name="Send request").click()
    await first.get_by_text("Contact requested").wait_for()
    await accept_every_pending_request(make, manager.base_url, Province.PHNOM_PENH)

    second = cards.nth(1)
    await second.get_by_role("button", name="Record hire").click()
    await second.get_by_label("Monthly wage (USD)").fill("240.00")
    await second.get_by_role("button", name="Confirm hire").click()
    await second.get_by_text("Hired.").wait_for()

    await manager.go("contacts", "Contact requests")
    accepted = page.locator("article", has_text="Accepted")
    await accepted.get_by_role("button", name="Show name and phone").click()
    await accepted.get_by_text("Sok Dara").wait_for()
    await manager.screenshot("manager-contacts")
    await accepted.get_by_role("button", name="Record hire").click()
    await accepted.get_by_label("NSSF number").fill("12345")
    await accepted.get_by_role("button", name="Confirm hire").click()
    nssf_error = accepted.locator('[data-field="nssfNumber"] .field-error')
    await nssf_error.wait_for()
    await accepted.get_by_label("NSSF number").fill("")
    await accepted.get_by_role("button", name="Confirm hire").click()
    await accepted.get_by_text("Hired.").wait_for()

    await manager.go("vacancies", "Your vacancies")
    assert "2 of 2 filled" in await page.locator("article", has_text="Sewing machine operator").inner_text()
    await manager.go("placements", "Your placements")
    assert await page.locator("article").count() == 2
    assert await page.locator("svg.chart").count() == 1
    await manager.screenshot("manager-placements")
    active = page.locator("article").first
    await active.get_by_role("button", name="End this hire").click()
    await active.get_by_label("Reason for ending").fill("Moved back to Battambang")
    await active.get_by_role("button", name="End hire").click()
    await page.locator("article", has_text="Moved back to Battambang").get_by_text("Ended").wait_for()
    assert "Hire ended" in await manager.status()


async def test_a_factory_manager_drafts_edits_publishes_and_closes_a_vacancy(make: Factory, people: Any) -> None:
    employer = await make.employer(Sector.CONSTRUCTION, Province.KANDAL)
    username, password = await make.user(Role.EMPLOYER_ADMIN, employer=employer)
    manager = await people()
    page = manager.page
    await manager.log_in(username, password)

    await page.get_by_role("link", name="New vacancy").click()
    await page.get_by_label("Job title").fill("Bricklayer")
    await page.get_by_label("Occupation").select_option("7112")
    await page.get_by_label("Number of positions").fill("3")
    await page.get_by_label("Description of the work").fill("Walls for a school in Kandal.")
    await page.get_by_label("Monthly wage from (USD)").fill("300")
    await page.get_by_role("button", name="Save as draft").click()
    await manager.heading("Your vacancies")
    card = page.locator("article", has_text="Bricklayer")
    assert "Draft" in await card.inner_text()

    await card.get_by_role("link", name="Edit").click()
    await manager.heading("Edit vacancy")
    await page.get_by_label("Number of positions").fill("5")
    await page.get_by_role("button", name="Save changes").click()
    await manager.heading("Your vacancies")
    assert "0 of 5 filled" in await card.inner_text()

    await card.get_by_role("button", name="Publish").click()
    await card.get_by_role("button", name="Close").wait_for()
    assert "Open" in await card.inner_text()
    page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await card.get_by_role("button", name="Close").click()
    await page.locator("article", has_text="Bricklayer").get_by_text("Closed").wait_for()
    assert "Vacancy closed" in await manager.status()


async def test_a_typed_form_survives_an_expired_session_and_a_new_login(make: Factory, people: Any) -> None:
    employer = await make.employer()
    username, password = await make.user(Role.EMPLOYER_ADMIN, employer=employer)
    manager = await people()
    page = manager.page
    await manager.log_in(username, password, "vacancies/new")
    await manager.heading("New vacancy")
    await page.get_by_label("Job title").fill("Pressing and ironing")
    await page.get_by_label("Occupation").select_option("8153")
    await page.get_by_label("Number of positions").fill("4")
    await page.get_by_label("Description of the work").fill("Steam pressing of finished shirts.")
    await page.get_by_label("Monthly wage from (USD)").fill("235.00")
    await page.get_by_label("Transport").check()

    await manager.context.clear_cookies()
    await page.get_by_role("button", name="Save as draft").click()

    await manager.heading("Log in")
    assert "Your session has ended" in await page.locator("main").inner_text()
    assert await page.evaluate("sessionStorage.getItem('karngar.draft')") is not None
    assert await page.evaluate("Object.keys(localStorage)") == ["karngar.language"]
    await manager.fill_login(username, password)
    await manager.heading("New vacancy")
    assert await page.get_by_label("Job title").input_value() == "Pressing and ironing"
    assert await page.get_by_label("Occupation").input_value() == "8153"
    assert await page.get_by_label("Number of positions").input_value() == "4"
    assert await page.get_by_label("Description of the work").input_value() == "Steam pressing of finished shirts."
    assert await page.get_by_label("Transport").is_checked()
    assert await page.evaluate("sessionStorage.getItem('karngar.draft')") is None


# The provincial officer


async def test_a_provincial_officer_registers_a_returnee_and_answers_a_contact_request(
    make: Factory, people: Any
) -> None:
    username, password = await make.user(Role.PROVINCIAL_OFFICER, province=Province.BATTAMBANG)
    caller = await make.employer_caller(Sector.TEXTILE)
    vacancy_id = await open_vacancy(make, caller, province="BATTAMBANG")
    (profile,) = await candidates(make, 1, Province.BATTAMBANG)
    request = {"input": {"vacancyId": vacancy_id, "profileId": profile, "message": "Start on Monday?"}}
    assert (await make.graphql(caller, REQUEST_CONTACT, request))["data"]["requestContact"]["userErrors"] == []
    officer = await people()
    page = officer.page

    await officer.log_in(username, password)
    await officer.go("register", "Register a returnee")
    await page.get_by_label("Full name").fill("Chan Sreymom")
    await page.get_by_label("Phone number").fill("12")
    await page.get_by_role("button", name="Register", exact=True).click()
    await page.locator('[data-field="sex"] .field-error').wait_for()
    assert "Please fill this in." in await page.locator('[data-field="dateOfBirth"]').inner_text()
    await officer.screenshot("officer-register-errors")
    await page.get_by_label("Sex").select_option("FEMALE")
    await page.get_by_label("Date of birth").fill("1994-05-02")
    await page.get_by_label("Date of return to Cambodia").fill((TODAY - timedelta(days=40)).isoformat())
    await page.get_by_role("button", name="Register", exact=True).click()
    await page.locator('[data-field="phone"] .field-error').wait_for()
    await page.get_by_label("Phone number").fill("012 345 678")
    await page.locator("select[name='experience.0.occupationCode']").select_option("8153")
    await page.locator("input[name='experience.0.years']").fill("3")
    await page.get_by_label("The returnee agrees").check()
    await page.get_by_role("button", name="Register", exact=True).click()
    await page.get_by_role("button", name="Register another returnee").wait_for()
    assert "Returnee registered" in await officer.status()

    await officer.go("requests", "Contact requests to answer")
    pending = page.locator("article", has_text="Sewing machine operator")
    assert "Start on Monday?" in await pending.inner_text()
    await officer.screenshot("officer-requests")
    await pending.get_by_role("button", name="Returnee accepts").click()
    await page.locator("article", has_text="Accepted").wait_for()
    assert "the returnee accepts" in await officer.status()

    await page.get_by_role("button", name="Log out").click()
    await officer.heading("Log in")
    assert [c["name"] for c in await officer.context.cookies()] == []


async def test_a_provincial_officer_imports_a_csv_file_and_reads_the_report(make: Factory, people: Any) -> None:
    username, password = await make.user(Role.PROVINCIAL_OFFICER, province=Province.BATTAMBANG)
    returned = (TODAY - timedelta(days=30)).isoformat()
    rows = [
        "name,sex,date_of_birth,phone,education_level,available_from,returned_on,experience,consent_to_search",
        f"Sok Lina,F,1995-03-04,012 111 222,PRIMARY,{TODAY},{returned},8153:2:abroad,yes",
        f"Keo Dara,M,1990-01-09,012 111 333,LOWER_SECONDARY,{TODAY},{returned},7112:4:abroad,yes",
        f"Nobody,X,1990-01-09,012 111 444,PRIMARY,{TODAY},{returned},,no",
    ]
    officer = await people()
    page = officer.page

    await officer.log_in(username, password, "import")
    await officer.heading("Import returnees from a CSV file")
    await page.get_by_label("CSV file").set_input_files(
        {"name": "returnees.csv", "mimeType": "text/csv", "buffer": "\n".join(rows).encode()}
    )
    await page.get_by_role("button", name="Import").click()

    report = page.locator("section", has_text="Import report")
    await report.wait_for()
    totals = re.sub(r"\s+", " ", await report.locator(".totals").inner_text())
    assert "Registered 2" in totals
    assert "Rejected 1" in totals
    assert "sex" in await report.locator("table").inner_text()
    await officer.screenshot("officer-import-report")


# The ministry auditor


async def test_a_ministry_auditor_reads_statistics_downloads_hires_and_voids_one(make: Factory, people: Any) -> None:
    username, password = await make.user(Role.MINISTRY_AUDITOR)
    caller = await make.employer_caller(Sector.TEXTILE)
    vacancy_id = await open_vacancy(make, caller)
    first, second = await candidates(make, 2)
    await hire(make, caller, vacancy_id, first, "240.00")
    await hire(make, caller, vacancy_id, second, "250.00")
    auditor = await people()
    page = auditor.page

    await auditor.log_in(username, password, "statistics")
    await auditor.heading("Placement statistics")
    totals = re.sub(r"\s+", " ", await page.locator(".totals").inner_text())
    assert "Placements recorded in Karngar 2" in totals
    assert "Placements reported before Karngar 300,000" in totals
    assert "Running total 300,002" in totals
    assert await page.locator("svg.chart rect").count() == 1
    assert "Phnom Penh" in await page.locator("svg.chart").inner_html()
    assert "Phnom Penh 2 100 %" in re.sub(r"\s+", " ", await page.locator("table tbody").inner_text())
    await auditor.screenshot("auditor-statistics")
    await page.get_by_label("Sectors included").select_option("TEXTILE")
    await page.get_by_label("Month").check()
    await page.locator("svg.chart").wait_for()
    assert await page.locator("svg.chart rect").count() == 1

    await auditor.go("hires", "Hires across employers")
    assert await page.locator("article").count() == 2
    await page.get_by_label("Status").select_option("ACTIVE")
    await page.get_by_role("button", name="Show results").click()
    await auditor.settled()
    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download CSV").click()
    download = await download_info.value
    text = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert sorted(row["monthly_wage_usd"] for row in exported) == ["240.00", "250.00"]
    assert "statuses=ACTIVE" in download.url
    await auditor.screenshot("auditor-hires")

    voided = page.locator("article", has_text="$250.00")
    await voided.get_by_role("button", name="Void").click()
    await voided.get_by_role("button", name="Void this hire").click()
    await voided.locator(".field-error", has_text="Please fill this in.").wait_for()
    await voided.get_by_label("Reason for voiding").fill("Recorded twice by mistake")
    await voided.get_by_role("button", name="Void this hire").click()
    await page.locator("article", has_text="Recorded twice by mistake").get_by_text("Voided").first.wait_for()
    assert "no longer counts" in await auditor.status()

    await auditor.go("statistics", "Placement statistics")
    assert "Running total 300,001" in re.sub(r"\s+", " ", await page.locator(".totals").inner_text())
    await auditor.go("audit", "Audit trail")
    assert await page.locator("article", has_text="Hire voided").count() == 1
    await page.get_by_role("button", name="Verify the audit trail").click()
    await page.get_by_text("The audit trail is intact").first.wait_for()
    await auditor.screenshot("auditor-audit")


# Khmer on every page


async def test_every_page_switches_to_khmer_and_leaves_no_string_untranslated(make: Factory, people: Any) -> None:
    employer = await make.employer(Sector.TEXTILE, Province.PHNOM_PENH)
    manager_login = await make.user(Role.HIRING_MANAGER, employer=employer)
    client_id, secret = await make.api_client(employer)
    caller = Caller(client_id, secret, await make.token(client_id, secret), employer)
    vacancy_id = await open_vacancy(make, caller)
    profiles = await candidates(make, 3)
    request = {"input": {"vacancyId": vacancy_id, "profileId": profiles[0], "message": "សួស្តី"}}
    assert (await make.graphql(caller, REQUEST_CONTACT, request))["data"]["requestContact"]["userErrors"] == []
    await hire(make, caller, vacancy_id, profiles[1])
    pages = {
        ("manager", *manager_login): [
            "vacancies",
            "vacancies/new",
            f"vacancies/{vacancy_id}/edit",
            f"vacancies/{vacancy_id}/candidates",
            "contacts",
            "placements",
        ],
        ("officer", *await make.user(Role.PROVINCIAL_OFFICER, province=Province.PHNOM_PENH)): [
            "register",
            "import",
            "requests",
        ],
        ("auditor", *await make.user(Role.MINISTRY_AUDITOR)): ["hires", "statistics", "audit"],
    }

    for (who, username, password), routes in pages.items():
        person = await people()
        page = person.page
        await person.open()
        await page.get_by_role("button", name="ខ្មែរ").click()
        await page.get_by_role("heading", name="ចូលប្រព័ន្ធ").wait_for()
        assert await page.evaluate(UNTRANSLATED) == []
        if who == "manager":
            await person.screenshot("login")
        await page.get_by_label("ឈ្មោះអ្នកប្រើ").fill(username)
        await page.get_by_label("ពាក្យសម្ងាត់").fill(password)
        await page.get_by_role("button", name="ចូល", exact=True).click()
        await page.get_by_role("navigation").wait_for()
        for route in routes:
            await page.evaluate("route => { location.hash = route }", f"#/{route}")
            await page.wait_for_function("() => document.activeElement?.id === 'page-title'")
            await person.settled()
            for details in await page.locator("details").all():
                await details.evaluate("d => { d.open = true }")
            assert await page.evaluate(UNTRANSLATED) == [], route
            assert await page.evaluate(UNLABELLED) == [], route
            assert not await page.evaluate(TOO_WIDE), route
            await person.screenshot(f"{who}-{route.replace(vacancy_id, 'vacancy').replace('/', '-')}")
        await page.reload()
        await page.get_by_role("navigation").wait_for()
        assert await page.evaluate("document.documentElement.lang") == "km"
        assert await page.evaluate("localStorage.getItem('karngar.language')") == "km"


async def test_a_lost_connection_shows_an_error_in_the_users_language(make: Factory, people: Any) -> None:
    employer = await make.employer()
    username, password = await make.user(Role.HIRING_MANAGER, employer=employer)
    manager = await people()
    page = manager.page
    await manager.log_in(username, password)
    await manager.heading("Your vacancies")
    await page.get_by_role("button", name="ខ្មែរ").click()
    await page.get_by_role("heading", name="ការងារទំនេររបស់អ្នក").wait_for()

    await page.route("**/graphql", lambda route: route.abort())
    await page.get_by_role("link", name="ការទទួលបានការងារ").click()

    error = page.locator("main .note-error").first
    await error.wait_for()
    assert "មិនអាចភ្ជាប់" in await error.inner_text()
    assert await error.get_attribute("role") == "alert"


async def test_dates_are_shown_in_phnom_penh_time_and_money_in_us_dollars(people: Any) -> None:
    person = await people()
    await person.open()
    await person.heading("Log in")

    shown = await person.page.evaluate(
        """async () => {
          const i18n = await import(document.querySelector("script[type=module]").src.replace("app.js", "i18n.js"));
          const sample = () => [i18n.formatMoment("2026-11-30T18:30:00Z"), i18n.formatDate("2026-12-01"),
            i18n.formatPeriod("2026-11"), i18n.formatMoney("215.5")];
          const english = sample();
          await i18n.useLanguage("km");
          return [english, sample()];
        }"""
    )

    assert shown == [
        ["1 December 2026, 01:30", "1 December 2026", "November 2026", "$215.50"],
        ["1 ធ្នូ 2026 ម៉ោង 01:30", "1 ធ្នូ 2026", "ខែវិច្ឆិកា ឆ្នាំ 2026", "$215.50"],
    ]


# Security and weight


async def test_a_cookie_post_without_the_csrf_header_is_refused(make: Factory, base_url: str) -> None:
    username, password = await make.user(Role.MINISTRY_AUDITOR)
    caller = await make.employer_caller()
    query = {"query": "{ viewer { name } }"}

    async with httpx.AsyncClient(base_url=base_url) as browser_like:
        login = await browser_like.post("/auth/login", json={"username": username, "password": password})
        assert login.status_code == 200
        without = await browser_like.post("/graphql", json=query)
        with_header = await browser_like.post("/graphql", json=query, headers={CSRF_HEADER: "1"})
        form_post = await browser_like.post("/graphql", data={"query": "mutation { __typename }"})
        upload = await browser_like.post("/web/imports", content=b"name\n", headers={"Content-Type": "text/csv"})
        bearer = await browser_like.post("/graphql", json=query, headers={"Authorization": f"Bearer {caller.token}"})

    assert (without.status_code, without.json()["errors"][0]["extensions"]["code"]) == (403, "CSRF")
    assert with_header.status_code == 200
    assert form_post.status_code == 415  # /graphql reads only JSON: a cross-site form is refused before the CSRF check
    assert upload.status_code == 403
    assert bearer.status_code == 200


async def test_web_responses_carry_a_strict_content_security_policy(client: httpx.AsyncClient) -> None:
    index = await client.get("/")
    asset_path = re.search(r'src="(/web/[0-9a-f]+/app\.js)"', index.text)
    assert asset_path is not None
    asset = await client.get(asset_path.group(1))
    stale = await client.get("/web/000000000000/app.js")
    missing = await client.get(asset_path.group(1).replace("app.js", "nothing.js"))

    for response in (index, asset, stale, missing):
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value
    assert index.headers["content-security-policy"] == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    assert index.headers["content-type"] == "text/html; charset=utf-8"
    assert index.headers["cache-control"] == "no-cache"
    assert asset.headers["content-type"] == "text/javascript; charset=utf-8"
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert stale.headers["cache-control"] == "no-cache"
    assert missing.status_code == 404
    assert "<script>" not in index.text and "style=" not in index.text


async def test_the_first_load_weighs_under_150_kb_gzipped(make: Factory, people: Any, base_url: str) -> None:
    employer = await make.employer()
    username, password = await make.user(Role.HIRING_MANAGER, employer=employer)
    person = await people()
    files: list[tuple[str, Any]] = []
    phase = "login page"
    person.page.on("requestfinished", lambda request: files.append((phase, request)))

    await person.open()
    await person.heading("Log in")
    phase = "first page after login"
    await person.fill_login(username, password)
    await person.heading("Your vacancies")

    weights: dict[str, int] = {}
    for when, request in files:
        if request.url.startswith(f"{base_url}/web/") or request.url == f"{base_url}/":
            sizes = await request.sizes()
            weights[when] = weights.get(when, 0) + sizes["responseBodySize"] + sizes["responseHeadersSize"]
            response = await request.response()
            assert await response.header_value("content-encoding") == "gzip", request.url
    print(f"first load, gzipped: {weights}")
    assert weights["login page"] + weights["first page after login"] < FIRST_LOAD_BUDGET
