"""The feedback model: WheelQ-style SMS surveys after visits, deterministic and realistic.

The simulation runs per (visit day, unit): one generator seeded by (seed, day, unit), so the same
day of a unit always gives the same events, whatever range is asked for. Each weekday a unit has
visits (`UNIT_PROFILES`); the day after a visit, between 9 and 18 local time, WheelQ sends a
`survey.sent` to the client's (hashed) mobile number. About 2 % are not delivered
(`survey.delivery_failed`). Of the delivered surveys ≈ 26 % get an SMS reply (`sms.received`)
within minutes to two days, most within the hour, and ≈ 3 % are answered by the web form instead
(`survey.answered`, with 7 national statements); together ≈ 27 % give a score, as in the
Western Uusimaa pilot (docs/calibration.md#feedback).

Scores: each unit-day has its own NPS, the unit's target plus a day effect drawn from
N(0, DAY_NPS_SD²) (who worked that day, which clinic, which kind of visits: real daily feedback
varies more than sampling alone explains). Each visit of the day gets its client's experience
category (promoter, passive, detractor) from a shuffled deck whose make-up matches that day's
NPS (systematic rounding), and the noise on top comes from who answers. A score is then drawn
within the category. `Drop` lowers a unit's target from a day on.

Recipients: each unit has a pool of synthetic Finnish mobile numbers (disjoint between units, by
the unit's place among the registry's sorted unit ids), split into 31 groups; a number can only be
surveyed on days whose ordinal falls in its group (mod 31), so nobody gets more than one survey in
30 days (docs/calibration.md#feedback), while the same people come back month after month. The
simulator does not model the sender honouring opt-outs: suppressing opted-out recipients is the
ingest's job.

Replies are what people really type: digits with punctuation or a comment, `Arvosana 8`,
number words (Finnish, Swedish for Swedish-speaking clients), keycap emoji, typos in comments,
comments without a score, opt-outs, ambiguous answers, and now and then a second message with
only text (which becomes a comment).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from services.common.events import (
    Envelope,
    SmsReceived,
    SmsReceivedData,
    SurveyAnswered,
    SurveyAnsweredData,
    SurveyDeliveryFailed,
    SurveyDeliveryFailedData,
    SurveySent,
    SurveySentData,
    VisitChannel,
)
from services.common.hashing import hash_recipient
from services.common.nps import Category, category
from services.common.registry import Registry, Unit
from services.simulator.chat import from_ms, to_ms, type_name

SOURCE = "simulator/wheelq"
T = TypeVar("T")

Channels = tuple[tuple[VisitChannel, float], ...]
IN_PERSON: Channels = (("in_person", 0.88), ("phone", 0.08), ("video", 0.04))
REMOTE: Channels = (("phone", 0.6), ("video", 0.3), ("in_person", 0.1))
PHONE: Channels = (("phone", 0.85), ("in_person", 0.1), ("video", 0.05))


@dataclass(frozen=True)
class UnitProfile:
    visits_per_weekday: float
    """Visits that trigger a survey on an average weekday."""
    target_nps: float
    channels: Channels = IN_PERSON
    weekends: bool = False
    """Visits on Saturdays and Sundays too (at `WEEKEND_FACTOR`)."""


# Volumes from Kymenlaakso's WheelQ phase 1 (docs/calibration.md#feedback): primary-care
# reception 10 sites, dental 15, hospital-at-home 2, psychiatric and substance outpatient 23,
# women's and maternity 4, ENT 4, rehabilitation 26, social-care advice; maternity and
# contraception clinics 11 from autumn 2025. Volumes are visits per weekday, scaled by the number
# of sites (tens to a few hundred per unit). Target NPS from the reported values: child clinic 77
# (Western Uusimaa), personal-doctor model 82 (Päijät-Häme), nurse remote visits 74
# (Kymenlaakso); psychiatric and social-care advice somewhat lower, hospital at home and dental
# higher.
UNIT_PROFILES: dict[str, UnitProfile] = {
    "asiakasohjaus": UnitProfile(100.0, 70.0, PHONE),
    "terveysasema-kouvola": UnitProfile(220.0, 78.0),
    "terveysasema-kotka": UnitProfile(160.0, 74.0),
    "laakaripalvelut": UnitProfile(40.0, 72.0, REMOTE),
    "pitkaaikaissairaudet": UnitProfile(30.0, 80.0, REMOTE),
    "hammashoitola": UnitProfile(200.0, 82.0),
    "kotisairaala": UnitProfile(25.0, 84.0, weekends=True),
    "kuntoutus-avo": UnitProfile(120.0, 80.0),
    "psykiatria-avo": UnitProfile(140.0, 64.0),
    "neuvola": UnitProfile(80.0, 77.0),
    "naistentaudit": UnitProfile(50.0, 80.0),
    "korva": UnitProfile(45.0, 76.0),
    "sosiaalineuvonta": UnitProfile(20.0, 68.0, PHONE),
}
DEFAULT_PROFILE = UnitProfile(30.0, 75.0)

WEEKDAY_FACTOR = (1.15, 1.05, 1.0, 0.95, 0.85)
WEEKEND_FACTOR = 0.7
DELIVERY_FAILED_SHARE = 0.02
FAILURE_REASONS: tuple[tuple[str, float], ...] = (
    ("unknown_number", 0.5),
    ("operator_error", 0.3),
    ("expired", 0.2),
)
WEB_SHARE = 0.03
SMS_REPLY_SHARE = 0.26
LANGUAGES: tuple[tuple[str, float], ...] = (("fi", 0.95), ("sv", 0.05))
DAY_NPS_SD = 6.0
"""Day-to-day spread of a unit's NPS around its target, in NPS points (docs/calibration.md)."""
RECIPIENT_GROUPS = 31
"""A number is surveyed at most once in this many days."""
POOL_FACTOR = 3
"""Numbers per day-group, per expected survey: each comes back about every third month."""
MOBILE_PREFIXES = ("40", "44", "45", "50")
SCORES: dict[Category, tuple[tuple[int, float], ...]] = {
    "promoter": ((10, 0.6), (9, 0.4)),
    "passive": ((8, 0.6), (7, 0.4)),
    "detractor": ((6, 0.3), (5, 0.25), (4, 0.12), (3, 0.1), (2, 0.08), (1, 0.05), (0, 0.1)),
}
# The national statements (THL feedback model): 7 of them at random per web answer.
STATEMENTS = tuple(f"THL{i:02d}" for i in range(1, 15))
_MINUTE = 60_000
_HOUR = 60 * _MINUTE


@dataclass(frozen=True)
class Drop:
    """From `from_day` (visit day) on, the unit's target NPS changes by `nps_delta`."""

    unit_id: str
    from_day: date
    nps_delta: float = -30.0


class Intent(NamedTuple):
    """The score an event carries as the simulator meant it (tests and calibration only)."""

    unit_id: str
    survey_id: str
    score: int


class Simulated(NamedTuple):
    moment: int
    event: Envelope
    intent: Intent | None


def simulate_feedback(
    registry: Registry,
    start: datetime,
    end: datetime,
    seed: int,
    tz: ZoneInfo,
    key: str,
    drop: Drop | None = None,
) -> Iterator[Envelope]:
    """Feedback events with start <= time < end, in non-decreasing time, local times in `tz`;
    recipients hashed with `key`."""
    for event, _ in simulate_feedback_scored(registry, start, end, seed, tz, key, drop):
        yield event


def simulate_feedback_scored(
    registry: Registry,
    start: datetime,
    end: datetime,
    seed: int,
    tz: ZoneInfo,
    key: str,
    drop: Drop | None = None,
) -> Iterator[tuple[Envelope, Intent | None]]:
    """As `simulate_feedback`, each event with the score it carries as intended: set on the
    first SMS reply that holds a score and on a scored web answer, None elsewhere."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    start_ms, end_ms = to_ms(start), to_ms(end)
    # A visit's events end within 3 days: sent the next day, replies up to 2 days later.
    first_day = start.astimezone(tz).date() - timedelta(days=4)
    for item in simulate_days(registry, first_day, seed, tz, key, drop):
        if item.moment >= end_ms:
            return
        if item.moment >= start_ms:
            yield item.event, item.intent


def simulate_days(
    registry: Registry, first_day: date, seed: int, tz: ZoneInfo, key: str, drop: Drop | None
) -> Iterator[Simulated]:
    """The events of the visits of every day from `first_day` on, endlessly, in time order."""
    pending: list[tuple[int, int, Simulated]] = []
    order = itertools.count()
    day = first_day
    while True:
        for item in simulate_day(registry, day, seed, tz, key, drop):
            heapq.heappush(pending, (item.moment, next(order), item))
        day += timedelta(days=1)
        # Visits of later days send their surveys from the day after them on.
        horizon = to_ms(datetime.combine(day + timedelta(days=1), time(), tz))
        while pending and pending[0][0] < horizon:
            yield heapq.heappop(pending)[2]


def simulate_day(
    registry: Registry, day: date, seed: int, tz: ZoneInfo, key: str, drop: Drop | None
) -> list[Simulated]:
    """The events that the visits of one local day cause, sorted by time."""
    unit_ids = sorted(unit.id for unit in registry.units)
    events: list[Simulated] = []
    for unit in registry.units:
        rng = random.Random(f"kanava-feedback/{seed}/{day.isoformat()}/{unit.id}")
        pool = unit_ids.index(unit.id)
        events += UnitDay(unit, pool, day, tz, key, drop, rng).run()
    events.sort(key=lambda item: item.moment)
    return events


def target_nps(unit_id: str, day: date, drop: Drop | None) -> float:
    target = UNIT_PROFILES.get(unit_id, DEFAULT_PROFILE).target_nps
    if drop is not None and drop.unit_id == unit_id and day >= drop.from_day:
        target += drop.nps_delta
    return target


def day_effect(unit_id: str, day: date) -> float:
    """The unit-day's departure from its target NPS, from a generator of its own so that the
    rest of the day's draws do not depend on it."""
    return random.Random(f"kanava-feedback-day/{day.isoformat()}/{unit_id}").gauss(0, DAY_NPS_SD)


def category_shares(nps: float) -> tuple[float, float, float]:
    """(promoters, passives, detractors) whose NPS is `nps` (clamped to -40…100): detractors
    are 30 % of the room below 100."""
    t = min(max(nps, -40.0), 100.0) / 100
    detractors = 0.3 * (1 - t)
    promoters = t + detractors
    return promoters, 1 - promoters - detractors, detractors


def deck(n: int, shares: tuple[float, float, float], rng: random.Random) -> list[Category]:
    """n categories in the given shares by systematic rounding, shuffled."""
    offset = rng.random()
    cards: list[Category] = []
    cumulative, taken = 0.0, 0
    for name, share in zip(("promoter", "passive", "detractor"), shares, strict=True):
        cumulative += share
        upto = min(n, math.floor(n * cumulative + offset))
        cards += [name] * (upto - taken)  # type: ignore[list-item]
        taken = upto
    cards += ["detractor"] * (n - taken)
    rng.shuffle(cards)
    return cards


def mobile_number(pool: int, person: int) -> str:
    """A synthetic Finnish mobile number, distinct for every (pool, person < 100 000)."""
    prefix = MOBILE_PREFIXES[person % len(MOBILE_PREFIXES)]
    return f"+358{prefix}{pool % 100:02d}{person:05d}"


@cache
def recipient(pool: int, person: int, key: str) -> str:
    return hash_recipient(mobile_number(pool, person), key)


def group_of(profile: UnitProfile) -> int:
    """The people of a unit's pool who can be surveyed on one day (a group of 31)."""
    return math.ceil(POOL_FACTOR * profile.visits_per_weekday * 1.2)


def numbers_of(registry: Registry, key: str) -> dict[str, str]:
    """Every unit's pool: each recipient (hashed with `key`) and its number in clear, for the
    sample exports of a survey tool, which know the numbers."""
    numbers = {}
    for pool, unit_id in enumerate(sorted(unit.id for unit in registry.units)):
        people = RECIPIENT_GROUPS * group_of(UNIT_PROFILES.get(unit_id, DEFAULT_PROFILE))
        for person in range(people):
            numbers[recipient(pool, person, key)] = mobile_number(pool, person)
    return numbers


class UnitDay:
    """The surveys after one unit's visits of one day, and what comes back."""

    def __init__(
        self,
        unit: Unit,
        pool: int,
        day: date,
        tz: ZoneInfo,
        key: str,
        drop: Drop | None,
        rng: random.Random,
    ) -> None:
        self.unit, self.pool, self.day, self.tz, self.key, self.rng = unit, pool, day, tz, key, rng
        self.profile = UNIT_PROFILES.get(unit.id, DEFAULT_PROFILE)
        self.target = target_nps(unit.id, day, drop) + day_effect(unit.id, day)
        self.events: list[Simulated] = []

    def run(self) -> list[Simulated]:
        weekday = self.day.weekday()
        if weekday >= 5 and not self.profile.weekends:
            return []
        factor = WEEKDAY_FACTOR[weekday] if weekday < 5 else WEEKEND_FACTOR
        mean = self.profile.visits_per_weekday * factor
        group_size = group_of(self.profile)
        visits = min(group_size, max(0, round(self.rng.gauss(mean, math.sqrt(mean)))))
        send_day = self.day + timedelta(days=1)
        group = send_day.toordinal() % RECIPIENT_GROUPS
        people = self.rng.sample(range(group_size), visits)
        categories = deck(visits, category_shares(self.target), self.rng)
        opens = to_ms(datetime.combine(send_day, time(9), self.tz))
        closes = to_ms(datetime.combine(send_day, time(18), self.tz))
        for person, experience in zip(people, categories, strict=True):
            sent = self.rng.randrange(opens, closes)
            self.survey(
                sent, recipient(self.pool, group * group_size + person, self.key), experience
            )
        return self.events

    def survey(self, sent: int, to: str, experience: Category) -> None:
        survey_id = str(self.uuid())
        language = self.pick(LANGUAGES)
        data = SurveySentData(
            survey_id=survey_id,
            unit_id=self.unit.id,
            service_area=self.unit.service_area,
            recipient=to,
            visit_channel=self.pick(self.profile.channels),
            language=language,
        )
        self.emit(sent, SurveySent, data)
        if self.rng.random() < DELIVERY_FAILED_SHARE:
            failed = sent + self.rng.randrange(2_000, 10 * _MINUTE)
            reason = self.pick(FAILURE_REASONS)
            self.emit(
                failed,
                SurveyDeliveryFailed,
                SurveyDeliveryFailedData(survey_id=survey_id, reason=reason),
            )
            return
        score = self.pick(SCORES[experience])
        u = self.rng.random()
        if u < WEB_SHARE:
            self.web_answer(sent, survey_id, score)
        elif u < WEB_SHARE + SMS_REPLY_SHARE:
            self.sms_replies(sent, survey_id, to, score, language)

    def web_answer(self, sent: int, survey_id: str, score: int) -> None:
        answered = sent + self.reply_delay()
        scored = self.rng.random() >= 0.03
        comment = self.comment(score, typos=False) if self.rng.random() < 0.4 else None
        codes = self.rng.sample(STATEMENTS, 7)
        base = 1 + score * 0.4
        statements = {
            code: min(5, max(1, round(base + self.rng.gauss(0, 0.7)))) for code in sorted(codes)
        }
        data = SurveyAnsweredData(
            survey_id=survey_id,
            score=score if scored else None,
            comment=comment,
            statements=statements,
        )
        intent = Intent(self.unit.id, survey_id, score) if scored else None
        self.emit(answered, SurveyAnswered, data, intent)

    def sms_replies(self, sent: int, survey_id: str, to: str, score: int, language: str) -> None:
        replied = sent + self.reply_delay()
        text, scored = self.reply_text(score, language)
        intent = Intent(self.unit.id, survey_id, score) if scored else None
        self.sms(replied, to, text, intent)
        if scored and self.rng.random() < 0.07:
            later = replied + self.rng.randrange(2 * _MINUTE, 3 * _HOUR)
            self.sms(later, to, self.comment(score, typos=True, language=language))

    def sms(self, moment: int, to: str, text: str, intent: Intent | None = None) -> None:
        message_id = f"wq-{self.rng.getrandbits(64):016x}"
        data = SmsReceivedData(recipient=to, text=text, message_id=message_id)
        self.emit(moment, SmsReceived, data, intent)

    def reply_delay(self) -> int:
        """Most reply within the hour, some in the evening, a few the next days (≤ 2 days)."""
        u = self.rng.random()
        if u < 0.72:
            minutes = math.exp(self.rng.gauss(math.log(6), 1.0))
            return round(min(max(minutes, 0.3), 60) * _MINUTE)
        if u < 0.92:
            return self.rng.randrange(_HOUR, 10 * _HOUR)
        return self.rng.randrange(10 * _HOUR, 48 * _HOUR)

    def reply_text(self, score: int, language: str) -> tuple[str, bool]:
        """What the client types, and whether it holds the score."""
        u = self.rng.random()
        if u < 0.03:
            return self.comment(score, typos=True, language=language), False
        if u < 0.045:
            return self.rng.choice(OPT_OUTS_SV if language == "sv" else OPT_OUTS), False
        if u < 0.06:
            low = min(score, 9)
            joiners = ("-", " tai ", "\u2013") if language == "fi" else ("-", " eller ")
            joiner = self.rng.choice(joiners)
            return f"{low}{joiner}{low + 1}", False
        if u < 0.063:
            return self.rng.choice(("100", "11", "1000")), False
        return (self.scored_sv(score) if language == "sv" else self.scored_fi(score)), True

    def scored_fi(self, score: int) -> str:
        """A reply with a score as Finnish clients write it: the draw picks the first form
        whose threshold it is under (a form that does not fit the score passes)."""
        form = self.rng.random()
        forms: tuple[tuple[float, Callable[[], str | None]], ...] = (
            (0.45, lambda: str(score)),
            (
                0.55,
                lambda: self.rng.choice(
                    (f"{score}.", f" {score}", f"{score} ", f"{score}!", f"{score}/10")
                ),
            ),
            (0.6, lambda: f"{score}{'!' * self.rng.randint(1, 3)}"),
            (0.77, lambda: self.with_comment(score)),
            (
                0.81,
                lambda: self.rng.choice(
                    (f"Arvosana {score}", f"arvosana {score}", f"Annan {score}")
                ),
            ),
            (0.93, lambda: self.in_words(score)),
            (0.97, lambda: keycap(score)),
        )
        for threshold, write in forms:
            if form < threshold and (text := write()) is not None:
                return text
        return f"{score} {self.rng.choice(EMOJI)}"

    def with_comment(self, score: int) -> str:
        sep = self.rng.choice((" ", ", ", ". ", " - "))
        return f"{score}{sep}{self.comment(score, typos=True)}"

    def in_words(self, score: int) -> str | None:
        if score not in WORDS_FI:
            return None
        word = self.rng.choice(WORDS_FI[score])
        return self.rng.choice((word, word.capitalize(), f"{word}!", f"{word} kiitos"))

    def scored_sv(self, score: int) -> str:
        form = self.rng.random()
        if form < 0.4:
            return str(score)
        if form < 0.55:
            return f"{score} {self.rng.choice(COMMENTS_SV['promoter' if score >= 9 else 'other'])}"
        if form < 0.62:
            return f"Betyg {score}"
        if score in WORDS_SV:
            return self.rng.choice((WORDS_SV[score], WORDS_SV[score].capitalize()))
        return str(score)

    def comment(self, score: int, *, typos: bool, language: str = "fi") -> str:
        if language == "sv":
            return self.rng.choice(COMMENTS_SV["promoter" if score >= 9 else "other"])
        text = self.rng.choice(COMMENTS[category(score)])
        if typos and self.rng.random() < 0.15:
            text = typo(text, self.rng)
        return text

    def pick(self, choices: tuple[tuple[T, float], ...]) -> T:
        return self.rng.choices([v for v, _ in choices], [w for _, w in choices])[0]

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def emit(
        self, moment: int, kind: type[Envelope], data: object, intent: Intent | None = None
    ) -> None:
        event = kind.model_validate(
            {
                "specversion": "1.0",
                "id": str(self.uuid()),
                "source": SOURCE,
                "type": type_name(kind),
                "time": from_ms(moment, self.tz),
                "datacontenttype": "application/json",
                "data": data,
            }
        )
        self.events.append(Simulated(moment, event, intent))


def keycap(score: int) -> str:
    return "\U0001f51f" if score == 10 else f"{score}\ufe0f\u20e3"


def typo(text: str, rng: random.Random) -> str:
    """Swap two neighbouring letters, or drop the umlauts, as on a hurried phone."""
    if rng.random() < 0.4:
        return text.translate(str.maketrans("äöÄÖ", "aoAO"))
    letters = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not letters:
        return text
    i = rng.choice(letters)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


WORDS_FI: dict[int, tuple[str, ...]] = {
    10: ("kymmenen", "kymppi", "kymppi", "kympin"),
    9: ("yhdeksän", "ysi", "yheksän"),
    8: ("kahdeksan", "kasi"),
    7: ("seitsemän", "seiska"),
    6: ("kuusi", "kutonen"),
    5: ("viisi", "vitonen"),
    4: ("neljä", "nelonen"),
    3: ("kolme",),
    2: ("kaksi",),
    0: ("nolla",),
}
WORDS_SV: dict[int, str] = {
    10: "tio", 9: "nio", 8: "åtta", 7: "sju", 6: "sex", 5: "fem", 4: "fyra", 3: "tre", 2: "två",
}  # fmt: skip
EMOJI = ("👍", "🙂", "😊", ":)", "❤️", "🙏")
OPT_OUTS = ("STOP", "Stop", "Lopeta", "LOPETA", "lopeta.", "Seis", "STOP!")
OPT_OUTS_SV = ("STOPP", "Sluta", "sluta", "STOP")
COMMENTS: dict[Category, tuple[str, ...]] = {
    "promoter": (
        "kiitos hyvä palvelu",
        "Kiitos!",
        "Kiitos hyvästä hoidosta",
        "Ystävällinen ja asiantunteva hoitaja",
        "Pääsin nopeasti vastaanotolle, kiitos",
        "Lääkäri kuunteli ja selitti kaiken hyvin",
        "Erinomainen palvelu",
        "Todella mukava henkilökunta",
        "Kaikki sujui hyvin",
        "Hyvä kokemus kaikin puolin",
        "Asiallista ja ystävällistä palvelua",
    ),
    "passive": (
        "Ihan ok",
        "Hyvä, mutta jouduin odottamaan aulassa pitkään",
        "Palvelu oli hyvää, ajan saaminen vaikeaa",
        "Muuten hyvä mutta pysäköinti on hankalaa",
        "Ok, vähän kiireisen oloista",
        "Asia hoitui, puhelinjonossa kesti",
    ),
    "detractor": (
        "Jouduin odottamaan liian kauan",
        "Lääkärillä ei ollut aikaa kuunnella",
        "Hoito jäi kesken, kukaan ei soittanut takaisin",
        "Huono kokemus",
        "Aikaa ei saanut ja asia jäi hoitamatta",
        "Epäystävällinen vastaanotto",
        "En saanut apua vaivaani",
        "Ajanvaraus ei toiminut ollenkaan",
    ),
}
COMMENTS_SV: dict[str, tuple[str, ...]] = {
    "promoter": ("tack bra service", "Tack!", "Mycket bra bemötande", "Allt fungerade bra"),
    "other": ("Fick vänta länge", "Okej men svårt att få tid", "Tack"),
}
