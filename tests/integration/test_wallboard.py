"""The wallboard (GET /) in a real headless Chromium against a gateway on a real port over a
real PostgreSQL: the queues as chat_metrics stored them, live updates without a reload, the
token taken from the URL fragment, and the states without data (no token, a bad or revoked
token, the gateway gone). Chromium missing is a failure, never a skip."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy.ext.asyncio import AsyncEngine

from services.chat_metrics.exports import ChatExports
from services.chat_metrics.queues import QueueRules
from services.chat_metrics.service import ChatMetrics
from services.common import token_store
from services.common.registry import load_registry
from tests.integration.test_chat_metrics_store import WAIT
from tests.support.apply import apply_batch
from tests.support.browser import chromium
from tests.support.chat_events import chat
from tests.support.gateway import gateway, token
from tests.support.live_gateway import LiveGateway, live_gateway

REGISTRY = """
service_areas: [{id: vastaanotto, name: Vastaanottopalvelut}]
units:
  - {id: asiakasohjaus, name: Keskitetty asiakasohjaus, service_area: vastaanotto}
  - {id: kuntoutus-avo, name: Avokuntoutus, service_area: vastaanotto}
queues:
  - {id: terveysasema-chat, name: Terveysasemachat, unit: asiakasohjaus, service_level_seconds: 60}
  - {id: kuntoutus-chat, name: Kuntoutuksen chat, unit: kuntoutus-avo, service_level_seconds: 120}
  - {id: neuvola-chat, name: "Neuvola <b>&</b> perhe", unit: asiakasohjaus}
  - {id: laakari-chat, name: Lääkärichat, unit: asiakasohjaus, service_level_seconds: 120}
  - {id: yochat, name: Yöchat, unit: asiakasohjaus, opening_hours: {sun: closed}}
"""
DASH = "\u2013"  # shown where there is no figure
STALE = f"Tiedot vanhentuneet {DASH} päivitetty "
CLOCK = re.compile(r"\d\d:\d\d:\d\d")
OVER_RED = "rgba(211, 47, 47, 1)"
NEAR_AMBER = "rgba(255, 179, 0, 1)"
OK_GREEN = "rgba(61, 220, 132, 1)"
INSTRUCTION = "kanava token create --name wallboard --scope read"
TZ = ZoneInfo("Europe/Helsinki")

# Everything the page shows of one card, read in one go (innerText: what is rendered).
SNAPSHOT = """
return Array.from(document.querySelectorAll('#queues .card')).map(function (card) {
  function field(name) { return card.querySelector('[data-field="' + name + '"]'); }
  function figure(name) { return field(name).querySelector('.value').innerText; }
  return {
    queue_id: card.dataset.queueId,
    name: card.querySelector('h2').innerText,
    markup_in_name: card.querySelector('h2 *') !== null,
    open: field('open').innerText,
    closed: card.classList.contains('closed'),
    waiting: figure('waiting'),
    wait: figure('oldest-wait'),
    level: field('oldest-wait').className,
    active: figure('active'),
    free: figure('free'),
    capacity_slots: field('capacity-slots').innerText,
    agents_available: field('agents-available').innerText,
    staffing: figure('staffing'),
    staffing_note: field('staffing').querySelector('.note').innerText,
    service_level: figure('service-level'),
    service_level_note: field('service-level').querySelector('.note').innerText,
  };
});
"""


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY, encoding="utf-8")
    return path


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


@pytest.fixture
def server(database_url: str, registry: Path) -> Iterator[LiveGateway]:
    with live_gateway(database_url, registry) as running:
        yield running


async def stored(engine: AsyncEngine, registry: Path, events: list[Any]) -> None:
    """Events applied through the chat_metrics domain, as its consumer stores them."""
    rules = QueueRules(load_registry(registry), ZoneInfo("Europe/Helsinki"))
    await apply_batch(engine, ChatMetrics(rules, ChatExports(WAIT)), events)


def the_floor(now: datetime) -> list[Any]:
    """terveysasema-chat: 2 waiting (the oldest 95 s, over its 60 s), 2 answered now (waits
    20 s and 190 s: service level 1/2), 2 professionals available with 2 + 3 slots (one more
    away). kuntoutus-chat: 1 waiting 75 s (amber: 60..120 s), a1's 2 slots. neuvola-chat:
    1 waiting 3 s (green: under 30 s), nobody available. laakari-chat and yochat: empty."""

    def ago(seconds: int) -> datetime:
        return now - timedelta(seconds=seconds)

    return [
        chat("chat.queued", ago(95), contact_id="w1", queue_id="terveysasema-chat"),
        chat("chat.queued", ago(30), contact_id="w2", queue_id="terveysasema-chat"),
        chat("chat.queued", ago(20), contact_id="c1", queue_id="terveysasema-chat"),
        chat("chat.answered", now, contact_id="c1", queue_id="terveysasema-chat", agent_id="a1"),
        chat("chat.queued", ago(190), contact_id="c2", queue_id="terveysasema-chat"),
        chat("chat.answered", now, contact_id="c2", queue_id="terveysasema-chat", agent_id="a2"),
        chat("chat.queued", ago(75), contact_id="k1", queue_id="kuntoutus-chat"),
        chat("chat.queued", ago(3), contact_id="n1", queue_id="neuvola-chat"),
        chat(
            "agent.status",
            now,
            agent_id="a1",
            status="available",
            queue_ids=["terveysasema-chat", "kuntoutus-chat"],
            capacity=2,
        ),
        chat(
            "agent.status",
            now,
            agent_id="a2",
            status="available",
            queue_ids=["terveysasema-chat"],
            capacity=3,
        ),
        chat("agent.status", now, agent_id="a3", status="away", queue_ids=["terveysasema-chat"]),
    ]


async def read_token(engine: AsyncEngine) -> str:
    return (await token(engine))["Authorization"].removeprefix("Bearer ")


def seconds(shown: str) -> int:
    """`m:ss` or `h:mm:ss` as seconds."""
    total = 0
    for part in shown.split(":"):
        total = total * 60 + int(part)
    return total


def board(driver: WebDriver) -> dict[str, dict[str, Any]]:
    cards: list[dict[str, Any]] = driver.execute_script(SNAPSHOT)
    return {card.pop("queue_id"): card for card in cards}


def shown(driver: WebDriver, element_id: str) -> str:
    text: str = driver.find_element(By.ID, element_id).text
    return text


def open_board(driver: WebDriver, url: str, cards: int = 5) -> None:
    driver.get(url)
    WebDriverWait(driver, 10, poll_frequency=0.1).until(lambda d: len(board(d)) == cards)


def wait_until(driver: WebDriver, seconds: float, what: Any) -> None:
    WebDriverWait(driver, seconds, poll_frequency=0.1).until(what)


def severe_log_entries(driver: WebDriver) -> list[str]:
    """Console errors, CSP violations and failed loads the page caused."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [e["message"] for e in entries if e["level"] == "SEVERE"]


def near_now(clock: str) -> bool:
    """Whether `hh:mm:ss` (the browser's local time) is within 10 s before this local time."""
    now = datetime.now()
    now_s = now.hour * 3600 + now.minute * 60 + now.second
    return (now_s - seconds(clock)) % 86400 <= 10


async def test_the_board_shows_the_queues_of_the_database(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    await stored(engine, registry, the_floor(datetime.now(UTC)))
    secret = await read_token(engine)

    open_board(browser, f"{server.url}/#token={secret}")
    # the forecast came: a closed queue needs nobody
    wait_until(browser, 10, lambda d: board(d)["yochat"]["staffing"] == "0 / 0")
    cards = board(browser)

    assert list(cards) == [
        "terveysasema-chat",
        "kuntoutus-chat",
        "neuvola-chat",
        "laakari-chat",
        "yochat",
    ]
    counting = ("terveysasema-chat", "kuntoutus-chat", "neuvola-chat")
    waits = {queue: seconds(cards[queue].pop("wait")) for queue in counting}
    assert 95 <= waits["terveysasema-chat"] < 95 + 30
    assert 75 <= waits["kuntoutus-chat"] < 120
    assert 3 <= waits["neuvola-chat"] < 30
    common = {"markup_in_name": False, "open": "Auki", "closed": False}
    assert cards == {
        "terveysasema-chat": {
            **common,
            "name": "Terveysasemachat",
            "waiting": "2",
            "level": "figure wait over",
            "free": "3 / 5",  # free of the slots: 5 - 2 conversations
            "service_level": "50\u00a0%",
            "service_level_note": "vastattu ≤ 60 s",
            "agents_available": "2",
            "capacity_slots": "5",
            "active": "2",
            "staffing": f"{DASH} / 2",
            "staffing_note": "ei ennustetta",
        },
        "kuntoutus-chat": {
            **common,
            "name": "Kuntoutuksen chat",
            "waiting": "1",
            "level": "figure wait near",
            "free": "2 / 2",
            "service_level": DASH,
            "service_level_note": "vastattu ≤ 120 s",
            "agents_available": "1",
            "capacity_slots": "2",
            "active": "0",
            "staffing": f"{DASH} / 1",
            "staffing_note": "ei ennustetta",
        },
        "neuvola-chat": {
            **common,
            "name": "Neuvola <b>&</b> perhe",
            "waiting": "1",
            "level": "figure wait ok",
            "free": "0 / 0",
            "service_level": DASH,
            "service_level_note": "vastattu ≤ 60 s",
            "agents_available": "0",
            "capacity_slots": "0",
            "active": "0",
            "staffing": f"{DASH} / 0",
            "staffing_note": "ei ennustetta",
        },
        "laakari-chat": {
            **common,
            "name": "Lääkärichat",
            "wait": DASH,  # no one waiting
            "waiting": "0",
            "level": "figure wait ok",
            "free": "0 / 0",
            "service_level": DASH,
            "service_level_note": "vastattu ≤ 120 s",
            "agents_available": "0",
            "capacity_slots": "0",
            "active": "0",
            "staffing": f"{DASH} / 0",
            "staffing_note": "ei ennustetta",
        },
        "yochat": {
            "markup_in_name": False,
            "open": "Suljettu",
            "closed": True,
            "name": "Yöchat",
            "wait": DASH,
            "waiting": "0",
            "level": "figure wait ok",
            "free": "0 / 0",
            "service_level": DASH,
            "service_level_note": "vastattu ≤ 60 s",
            "agents_available": "0",
            "capacity_slots": "0",
            "active": "0",
            "staffing": "0 / 0",
            "staffing_note": "ennuste 0 chattia tunnissa",
        },
    }
    # The colours are applied (the inline style passed the page's own CSP).
    figure = '[data-queue-id="{}"] [data-field="oldest-wait"]'
    over = browser.find_element(By.CSS_SELECTOR, figure.format("terveysasema-chat"))
    near = browser.find_element(By.CSS_SELECTOR, figure.format("kuntoutus-chat") + " .value")
    ok = browser.find_element(By.CSS_SELECTOR, figure.format("neuvola-chat") + " .value")
    assert over.value_of_css_property("background-color") == OVER_RED
    assert near.value_of_css_property("color") == NEAR_AMBER
    assert ok.value_of_css_property("color") == OK_GREEN
    # Big type for a wall: five queues on a 1920 x 1080 screen get figures over 60 px high.
    waiting = browser.find_element(By.CSS_SELECTOR, '[data-field="waiting"] .value')
    assert float(waiting.value_of_css_property("font-size").removesuffix("px")) >= 60
    assert shown(browser, "columns").splitlines() == [
        "Jono",
        "Jonossa",
        "Pisin odotus",
        "Keskusteluja",
        "Vapaita paikkoja",
        "Tarve / vuorossa",
        "Palvelutaso tänään",
    ]

    status = shown(browser, "status")
    assert status.startswith("Päivitetty ")
    assert CLOCK.fullmatch(status.removeprefix("Päivitetty "))
    assert near_now(status.removeprefix("Päivitetty "))
    assert CLOCK.fullmatch(shown(browser, "clock"))
    assert not browser.find_element(By.ID, "alert").is_displayed()
    assert not browser.find_element(By.ID, "setup").is_displayed()
    # The token left the address bar and stays in the browser.
    assert browser.current_url == f"{server.url}/"
    stored_token = browser.execute_script("return localStorage.getItem('kanava.wallboard.token')")
    assert stored_token == secret
    assert severe_log_entries(browser) == []

    # Opened again without the fragment (a restarted screen): the stored token is used.
    open_board(browser, f"{server.url}/")
    assert board(browser)["terveysasema-chat"]["waiting"] == "2"
    assert severe_log_entries(browser) == []


def weeks_of_history(now: datetime) -> list[Any]:
    """laakari-chat, on each of the 6 same weekdays before today, in this local hour and the
    next: 6 clients queued, answered 10 s later, closed 600 s after the answer. Whichever of
    those days are holidays, the forecast of this hour is 6 entries (the same on every day);
    with 600 s each that is 1 erlang (see the advice worked out below)."""
    local = now.astimezone(TZ)
    events = []
    for week in range(1, 7):
        day = local.date() - timedelta(weeks=week)
        for hour in (local.hour, (local.hour + 1) % 24):
            for n in range(6):
                queued = datetime.combine(day, clock_time(hour, 5 * n), TZ)
                contact = f"h{week}-{hour}-{n}"
                events += [
                    chat("chat.queued", queued, contact_id=contact, queue_id="laakari-chat"),
                    chat(
                        "chat.answered",
                        queued + timedelta(seconds=10),
                        contact_id=contact,
                        queue_id="laakari-chat",
                    ),
                    chat("chat.closed", queued + timedelta(seconds=610), contact_id=contact),
                ]
    return events


async def test_the_board_shows_professionals_needed_against_those_on_duty(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    # Advice for laakari-chat (120 s, 80 %) at A = 1 erlang, 1 chat per professional, Erlang C
    # (nobody left the queue): n = 2: C = 1/3, SL = 1 - e^(-(2 - 1) 120/600) / 3 = 0.727;
    # n = 3: C = (1/6 * 3/2) / (1 + 1 + 1/2 + 1/4) = 1/11, SL = 1 - e^(-2 * 0.2) / 11 = 0.939.
    # So 3 are needed; a1 (available) and a2 (busy) are on duty: 2. a3 is away.
    now = datetime.now(UTC)
    on_duty = [
        chat("agent.status", now, agent_id=f"a{n}", status=status, queue_ids=["laakari-chat"])
        for n, status in ((1, "available"), (2, "busy"), (3, "away"))
    ]
    await stored(engine, registry, [*weeks_of_history(now), *on_duty])

    open_board(browser, f"{server.url}/#token={await read_token(engine)}")
    wait_until(browser, 10, lambda d: board(d)["laakari-chat"]["staffing"] == "3 / 2")

    card = board(browser)["laakari-chat"]
    assert card["staffing_note"] == "ennuste 6 chattia tunnissa"
    staffing = '[data-queue-id="laakari-chat"] [data-field="staffing"]'
    classes = browser.find_element(By.CSS_SELECTOR, staffing).get_attribute("class") or ""
    assert classes.split() == ["figure", "staffing", "short"]
    value = browser.find_element(By.CSS_SELECTOR, staffing + " .value")
    assert value.value_of_css_property("color") == NEAR_AMBER
    assert board(browser)["terveysasema-chat"]["staffing"] == f"{DASH} / 0"
    assert severe_log_entries(browser) == []


async def test_the_board_in_swedish_as_the_screen_asks(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    """The page's texts and its script's, and the percent as Swedish writes it."""
    now = datetime.now(UTC)
    await stored(engine, registry, [*weeks_of_history(now)])
    open_board(browser, f"{server.url}/?lang=sv#token={await read_token(engine)}")
    assert browser.current_url == f"{server.url}/?lang=sv"  # the token gone, the language kept
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "sv"
    assert shown(browser, "columns").split("\n")[-2:] == ["Behov / i tjänst", "Servicenivå i dag"]
    wait_until(browser, 10, lambda d: shown(d, "status").startswith("Uppdaterad "))
    card = board(browser)["laakari-chat"]
    assert card["open"] in ("Öppen", "Stängd")
    assert card["staffing_note"] in ("ingen prognos", "prognos 6 chattar i timmen")
    assert severe_log_entries(browser) == []


async def test_the_oldest_wait_counts_every_second_between_fetches(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    await stored(engine, registry, the_floor(datetime.now(UTC)))
    open_board(browser, f"{server.url}/#token={await read_token(engine)}")

    samples = []
    first = time.monotonic()
    while time.monotonic() - first < 4.5:
        samples.append(seconds(board(browser)["terveysasema-chat"]["wait"]))
        await asyncio.sleep(0.1)
    span = time.monotonic() - first
    # Fetches every 3 s alone would show at most 3 values in 4.5 s; counting shows 5 or 6.
    assert len(set(samples)) >= 5
    assert abs(samples[-1] - samples[0] - span) <= 1.5


async def test_a_newly_queued_client_appears_within_5_seconds_without_a_reload(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    await stored(engine, registry, the_floor(datetime.now(UTC)))
    open_board(browser, f"{server.url}/#token={await read_token(engine)}")
    browser.execute_script("window.sameDocument = 'yes'")
    assert board(browser)["laakari-chat"]["waiting"] == "0"

    queued = chat("chat.queued", datetime.now(UTC), contact_id="new", queue_id="laakari-chat")
    await stored(engine, registry, [queued])
    started = time.monotonic()
    wait_until(browser, 5, lambda d: board(d)["laakari-chat"]["waiting"] == "1")

    assert time.monotonic() - started < 5
    assert browser.execute_script("return window.sameDocument") == "yes"  # not reloaded
    laakari = board(browser)["laakari-chat"]
    assert laakari["level"] == "figure wait ok"
    assert 0 <= seconds(laakari["wait"]) < 10
    assert board(browser)["terveysasema-chat"]["waiting"] == "2"


async def test_without_a_token_the_page_says_how_to_open_it(
    server: LiveGateway, browser: WebDriver
) -> None:
    browser.get(f"{server.url}/")
    wait_until(browser, 10, lambda d: d.find_element(By.ID, "setup").is_displayed())

    setup = shown(browser, "setup")
    assert INSTRUCTION in setup
    assert f"{server.url}/#token=…" in setup
    assert shown(browser, "status") == "Ei tunnistetta"
    assert board(browser) == {}
    assert severe_log_entries(browser) == []


async def test_a_bad_token_shows_an_error_and_how_to_get_a_new_one(
    server: LiveGateway, browser: WebDriver
) -> None:
    browser.get(f"{server.url}/#token=kanava_000000000000_{'A' * 43}")
    wait_until(browser, 10, lambda d: d.find_element(By.ID, "alert").is_displayed())

    assert shown(browser, "alert") == (
        "Tunniste ei kelpaa (401). Tietoja ei ole vielä saatu.\n"
        "Tunniste on peruttu tai väärä. Luo uusi ja avaa näyttö sillä."
    )
    assert shown(browser, "status") == "Ei tietoja"
    assert INSTRUCTION in shown(browser, "setup")
    assert board(browser) == {}
    assert browser.current_url == f"{server.url}/"


async def test_a_revoked_token_leaves_the_last_figures_marked_stale(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    await stored(engine, registry, the_floor(datetime.now(UTC)))
    secret = await read_token(engine)
    open_board(browser, f"{server.url}/#token={secret}")

    async with engine.begin() as conn:
        assert await token_store.revoke(conn, secret.split("_")[1])
    wait_until(browser, 5, lambda d: d.find_element(By.ID, "alert").is_displayed())

    status = shown(browser, "status")
    assert status.startswith(STALE)
    last = status.removeprefix(STALE)
    assert CLOCK.fullmatch(last)
    assert shown(browser, "alert") == (
        f"Tunniste ei kelpaa (401). Näytetään viimeisin onnistunut päivitys klo {last}.\n"
        "Tunniste on peruttu tai väärä. Luo uusi ja avaa näyttö sillä."
    )
    assert INSTRUCTION in shown(browser, "setup")
    assert browser.execute_script("return document.body.classList.contains('stale')")
    assert board(browser)["terveysasema-chat"]["waiting"] == "2"  # the last figures stay


async def test_a_gateway_gone_leaves_the_last_figures_marked_stale(
    engine: AsyncEngine, registry: Path, server: LiveGateway, browser: WebDriver
) -> None:
    await stored(engine, registry, the_floor(datetime.now(UTC)))
    open_board(browser, f"{server.url}/#token={await read_token(engine)}")

    server.stop()
    wait_until(browser, 10, lambda d: d.find_element(By.ID, "alert").is_displayed())

    last = shown(browser, "status").removeprefix(STALE)
    assert CLOCK.fullmatch(last)
    assert shown(browser, "alert").startswith(
        f"Palvelimeen ei saada yhteyttä. Näytetään viimeisin onnistunut päivitys klo {last}."
    )
    assert not browser.find_element(By.ID, "setup").is_displayed()
    cards = board(browser)
    assert (cards["terveysasema-chat"]["waiting"], len(cards)) == ("2", 5)
    frozen = cards["terveysasema-chat"]["wait"]
    await asyncio.sleep(1.5)
    assert board(browser)["terveysasema-chat"]["wait"] == frozen  # no longer counting


async def test_the_page_is_static_needs_no_token_and_allows_only_its_origin(
    engine: AsyncEngine, registry: Path
) -> None:
    await stored(engine, registry, the_floor(datetime.now(UTC)))
    async with gateway(engine, registry) as client:
        page = await client.get("/")
        script = await client.get("/wallboard.js")
        schema = (await client.get("/openapi.json")).json()

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "Terveysasemachat" not in page.text  # no data in the page itself
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    for response in (page, script):
        assert response.headers["cache-control"] == "no-store"
        policy = dict(
            part.strip().split(" ", 1)
            for part in response.headers["content-security-policy"].split(";")
        )
        assert policy["default-src"] == "'none'"
        assert policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", policy["style-src"])
    assert "/" in schema["paths"]
    assert "/wallboard.js" not in schema["paths"]
