"""Event schemas of the four streams (docs/events.md): CloudEvents 1.0 in JSON, in either Kafka
content mode (structured: the whole event in the value; binary: attributes in `ce_*` headers).

Each event type is an envelope model whose `type` is a literal, so a stream is a union
discriminated by `type`; one TypeAdapter per stream validates raw bytes in one pass.
Unknown extra fields are ignored; values must have the right JSON type (strict mode).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeAlias, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic_core import from_json

from services.common.months import MONTH_PATTERN

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""Events older than this are taken for a broken clock, not late data."""
Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Code = Annotated[str, StringConstraints(max_length=200)]
SMS_TEXT_MAX = 2000
COMMENT_MAX = 5000
MAX_MONTH_COUNT = 1_000_000_000
Recipient = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""Lowercase hex HMAC-SHA256 of an E.164 number: a clear number can never pass."""


def _in_utc(time: datetime, info: ValidationInfo) -> datetime:
    if info.mode != "json":  # events built in Python (simulator, tests) keep their zone
        return time
    try:
        return time.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 off UTC: refused as out of range later
        return time


Time = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An event's time; read from JSON, held in UTC: comparing datetimes of one tzinfo object is
ten times faster than of two, and the services compare event times all along the way."""


class Data(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    specversion: Literal["1.0"]
    id: Id
    source: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    time: Time
    datacontenttype: str | None = None
    if TYPE_CHECKING:  # every event type declares both; not fields here, so their order stays
        type: str
        data: Data


# --- chat.events -----------------------------------------------------------------------------


class ChatStartedData(Data):
    contact_id: Id
    entry: Literal["bot", "queue"]
    authenticated: bool | None = None
    language: Code | None = None


class ContactData(Data):
    contact_id: Id


class ChatQueuedData(Data):
    contact_id: Id
    queue_id: Id
    unit_id: Id | None = None
    authenticated: bool | None = None
    language: Code | None = None
    via_bot: bool = False


class ChatTransferredData(Data):
    contact_id: Id
    from_queue_id: Id
    to_queue_id: Id


class ChatAnsweredData(Data):
    contact_id: Id
    queue_id: Id
    agent_id: Id | None = None


class ChatAbandonedData(Data):
    contact_id: Id
    queue_id: Id
    reason: Literal["client_left", "timeout", "closed_hours"] = "client_left"


class ChatClosedData(Data):
    contact_id: Id
    resolved: bool | None = None


class AgentStatusData(Data):
    agent_id: Id
    status: Literal["available", "busy", "away", "offline"]
    queue_ids: list[Id] = []
    capacity: int = Field(default=1, ge=1, le=100)


class ChatStarted(Envelope):
    type: Literal["chat.started"]
    data: ChatStartedData


class ChatBotResolved(Envelope):
    type: Literal["chat.bot_resolved"]
    data: ContactData


class ChatQueued(Envelope):
    type: Literal["chat.queued"]
    data: ChatQueuedData


class ChatTransferred(Envelope):
    type: Literal["chat.transferred"]
    data: ChatTransferredData


class ChatAnswered(Envelope):
    type: Literal["chat.answered"]
    data: ChatAnsweredData


class ChatAbandoned(Envelope):
    type: Literal["chat.abandoned"]
    data: ChatAbandonedData


class ChatClosed(Envelope):
    type: Literal["chat.closed"]
    data: ChatClosedData


class AgentStatus(Envelope):
    type: Literal["agent.status"]
    data: AgentStatusData


ChatContactEvent = (
    ChatStarted
    | ChatBotResolved
    | ChatQueued
    | ChatTransferred
    | ChatAnswered
    | ChatAbandoned
    | ChatClosed
)
"""The chat events of a contact (all but agent.status)."""
ChatEvent = Annotated[ChatContactEvent | AgentStatus, Field(discriminator="type")]

# --- pathway.events --------------------------------------------------------------------------


class PathwayStartedData(Data):
    enrolment_id: Id
    pathway_id: Id
    pathway_kind: Literal["professional", "self_care", "hybrid"] | None = None
    platform: Code | None = None
    service_area: Code | None = None
    unit_id: Code | None = None
    start_mode: Literal["self", "professional", "booking"] | None = None
    authenticated: bool | None = None


class EnrolmentData(Data):
    enrolment_id: Id


class PathwayTaskCompletedData(Data):
    enrolment_id: Id
    task: Code | None = None


class PathwayDiscontinuedData(Data):
    enrolment_id: Id
    reason: Code | None = None


class PathwayFeedbackData(Data):
    enrolment_id: Id
    thumb: Literal["up", "down"]


class PathwayStarted(Envelope):
    type: Literal["pathway.started"]
    data: PathwayStartedData


class PathwayTaskCompleted(Envelope):
    type: Literal["pathway.task_completed"]
    data: PathwayTaskCompletedData


class PathwayCompleted(Envelope):
    type: Literal["pathway.completed"]
    data: EnrolmentData


class PathwayDiscontinued(Envelope):
    type: Literal["pathway.discontinued"]
    data: PathwayDiscontinuedData


class PathwayFeedback(Envelope):
    type: Literal["pathway.feedback"]
    data: PathwayFeedbackData


PathwayEvent = Annotated[
    PathwayStarted
    | PathwayTaskCompleted
    | PathwayCompleted
    | PathwayDiscontinued
    | PathwayFeedback,
    Field(discriminator="type"),
]

# --- feedback.events -------------------------------------------------------------------------

VisitChannel = Literal["in_person", "phone", "video", "chat", "message", "pathway"]


class SurveySentData(Data):
    survey_id: Id
    unit_id: Id
    service_area: Code | None = None
    recipient: Recipient | None = None
    visit_channel: VisitChannel | None = None
    contact_id: Id | None = None
    language: Code | None = None


class SurveyDeliveryFailedData(Data):
    survey_id: Id
    reason: Code | None = None


class SmsReceivedData(Data):
    recipient: Recipient
    text: Annotated[str, StringConstraints(max_length=SMS_TEXT_MAX)]
    message_id: Id | None = None


class SurveyAnsweredData(Data):
    survey_id: Id
    score: Annotated[int, Field(ge=0, le=10)] | None = None
    comment: Annotated[str, StringConstraints(max_length=COMMENT_MAX)] | None = None
    statements: dict[Code, Annotated[int, Field(ge=1, le=5)]] = {}


class SurveySent(Envelope):
    type: Literal["survey.sent"]
    data: SurveySentData


class SurveyDeliveryFailed(Envelope):
    type: Literal["survey.delivery_failed"]
    data: SurveyDeliveryFailedData


class SmsReceived(Envelope):
    type: Literal["sms.received"]
    data: SmsReceivedData


class SurveyAnswered(Envelope):
    type: Literal["survey.answered"]
    data: SurveyAnsweredData


FeedbackEvent = Annotated[
    SurveySent | SurveyDeliveryFailed | SmsReceived | SurveyAnswered,
    Field(discriminator="type"),
]

# --- contact.events --------------------------------------------------------------------------

Channel = Literal[
    "in_person", "home_visit", "phone", "video", "chat", "message", "e_service", "pathway", "other"
]


class ContactRecordedData(Data):
    contact_id: Id
    unit_id: Id
    channel: Channel
    service_area: Code | None = None
    contact_mode_code: Code | None = None
    professional_group: Code | None = None
    age_band: Code | None = None
    municipality: Code | None = None


class ContactRecorded(Envelope):
    type: Literal["contact.recorded"]
    data: ContactRecordedData


class ContactMonthCountedData(Data):
    export: Id
    unit_id: Id
    channel: Channel
    month: Annotated[str, StringConstraints(pattern=MONTH_PATTERN)]
    contacts: Annotated[int, Field(ge=0, le=MAX_MONTH_COUNT)]
    service_area: Code | None = None


class ContactMonthCounted(Envelope):
    """A unit's contacts in one channel and month, counted elsewhere (history from before
    go-live): an aggregate, stored apart from the recorded contacts."""

    type: Literal["contact.month_counted"]
    data: ContactMonthCountedData


ContactEvent = Annotated[ContactRecorded | ContactMonthCounted, Field(discriminator="type")]

Event = ChatEvent | PathwayEvent | FeedbackEvent | ContactEvent


Headers: TypeAlias = Sequence[tuple[str, bytes | None]]
"""Kafka record headers as aiokafka gives them; a header's value may be null."""


class InvalidEvent(ValueError):
    """An event that can never be processed: it goes to the dead letter topic with `reason`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


E_co = TypeVar("E_co", bound=Envelope, covariant=True)
"""The events of a stream: the union of its envelope types."""


class Stream(Generic[E_co]):
    """One topic of events: its name, its schema and how its messages are keyed."""

    def __init__(
        self, name: str, topic: str, adapter: TypeAdapter[E_co], key_fields: tuple[str, ...]
    ) -> None:
        self.name = name
        self.topic = topic
        self.adapter = adapter
        self.key_fields = key_fields

    def on_topic(self, topic: str) -> Stream[E_co]:
        """The same stream under another topic name (tests, prefixed deployments)."""
        return Stream(self.name, topic, self.adapter, self.key_fields)

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic}.dlq"

    def parse_record(
        self, value: bytes | None, headers: Headers, now: datetime, max_future: timedelta
    ) -> E_co:
        """Validate one Kafka record in either CloudEvents content mode: binary when a
        `ce_specversion` header is present (and no `content-type` names a CloudEvents format),
        structured otherwise. Both give the same event and the same reasons."""
        if headers and _binary_mode(headers):
            return self.parse(_binary_as_structured(value, headers), now, max_future)
        if not value:
            raise InvalidEvent("invalid_json", "empty message")
        return self.parse(value, now, max_future)

    def parse(self, raw: bytes | str, now: datetime, max_future: timedelta) -> E_co:
        """Validate one message; raise InvalidEvent with a reason code and a readable detail."""
        if b"\\u0000" in (raw if isinstance(raw, bytes) else raw.encode()):
            raise InvalidEvent(
                "invalid_value", "a text holds \\u0000, which PostgreSQL cannot store"
            )
        try:
            event = self.adapter.validate_json(raw)
        except ValidationError as exc:
            raise InvalidEvent(_reason(exc), _detail(exc)) from None
        if event.time < EARLIEST:
            raise InvalidEvent(
                "time_out_of_range",
                f"event time {event.time.isoformat()} is before {EARLIEST.date().isoformat()}",
            )
        if event.time - now > max_future:
            raise InvalidEvent(
                "time_in_future", f"event time {event.time.isoformat()} is over {max_future} ahead"
            )
        return event

    def key(self, event: Envelope) -> bytes:
        """The Kafka key (docs/events.md): the first of the stream's key fields the event
        carries."""
        data = event.data
        for field in self.key_fields:
            value = getattr(data, field, None)
            if value:
                return str(value).encode()
        raise ValueError(f"{event.type} carries none of {self.key_fields}")

    def json_schema(self) -> dict[str, Any]:
        schema = self.adapter.json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"Kanava {self.topic}"
        return schema


_CLOUDEVENTS_MEDIA = b"application/cloudevents"
_STRUCTURED_JSON = b"application/cloudevents+json"
_JSON_MEDIA = re.compile(r"(application|text)/([a-z0-9.\-]+\+)?json")
_BINARY_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "datacontenttype")
"""The attributes the envelope reads; other `ce_*` headers (extensions) are checked, not kept."""


def _binary_mode(headers: Headers) -> bool:
    """The Kafka binding's rule: a `content-type` of a CloudEvents format means structured
    mode whatever else is there; else binary when `ce_specversion` is present."""
    binary = False
    for name, value in headers:
        key = name.lower()
        if key == "ce_specversion":
            binary = True
        elif key == "content-type" and value and _starts_with(value, _CLOUDEVENTS_MEDIA):
            media = value.split(b";", 1)[0].strip().lower()
            if media != _STRUCTURED_JSON:
                raise InvalidEvent(
                    "unsupported_content_type",
                    f"content-type {_shown(media)}: only {_STRUCTURED_JSON.decode()} is read",
                )
            return False
    return binary


def _binary_as_structured(value: bytes | None, headers: Headers) -> bytes:
    """The structured JSON of a binary-mode record, so both modes share one validation. The
    data is checked to be one JSON value first: trailing text could otherwise add keys."""
    attributes = _header_attributes(headers)
    fields = [f'"{name}":{json.dumps(text)}'.encode() for name, text in attributes.items()]
    if value:
        try:
            from_json(value)
        except ValueError as exc:
            raise InvalidEvent("invalid_json", f"data: {exc}") from None
        fields.append(b'"data":' + value)
    return b"{" + b",".join(fields) + b"}"


def _header_attributes(headers: Headers) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key == "content-type":
            attribute = "datacontenttype"
        elif key.startswith("ce_"):
            attribute = key[3:]
        else:
            continue
        if attribute in found:
            raise InvalidEvent("invalid_header", f"header {key} appears more than once")
        found[attribute] = _header_text(key, value)
    content_type = found.get("datacontenttype")
    if content_type is not None and not _is_json(content_type):
        raise InvalidEvent(
            "unsupported_content_type",
            f"content-type {_shown(content_type.encode())}: the data must be JSON",
        )
    return {name: found[name] for name in _BINARY_ATTRIBUTES if name in found}


def _header_text(name: str, value: bytes | None) -> str:
    if value is None:
        raise InvalidEvent("invalid_header", f"header {name} has no value")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise InvalidEvent("invalid_header", f"header {name} is not UTF-8") from None


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return _JSON_MEDIA.fullmatch(media) is not None


def _starts_with(value: bytes, prefix: bytes) -> bool:
    return value[: len(prefix)].lower() == prefix


def _shown(media: bytes) -> str:
    return media[:100].decode(errors="replace")


def _reason(exc: ValidationError) -> str:
    kinds = {error["type"] for error in exc.errors()}
    if "json_invalid" in kinds or "json_type" in kinds:
        return "invalid_json"
    if kinds & {"union_tag_invalid", "union_tag_not_found"}:
        return "unknown_type"
    if "missing" in kinds:
        return "missing_field"
    return "invalid_value"


def _detail(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or '(event)'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:5]
    ]
    return "; ".join(parts)[:1000]


CHAT = Stream("chat", "chat.events", TypeAdapter(ChatEvent), ("contact_id", "agent_id"))
PATHWAY = Stream("pathway", "pathway.events", TypeAdapter(PathwayEvent), ("enrolment_id",))
FEEDBACK = Stream(
    "feedback", "feedback.events", TypeAdapter(FeedbackEvent), ("recipient", "survey_id")
)
CONTACT = Stream("contact", "contact.events", TypeAdapter(ContactEvent), ("contact_id", "unit_id"))
STREAMS: dict[str, Stream[Event]] = {s.name: s for s in (CHAT, PATHWAY, FEEDBACK, CONTACT)}
