"""POST /v1/events/{stream} and POST /v1/sms/inbound (docs/api.md).

Events are validated with the same schemas and rules as the consumers use; a batch is
published only when every item is valid, and answered after the broker acknowledged it.
Free texts of feedback (SMS replies, form comments) are redacted before they enter Kafka;
the sender's number is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from services.common.events import (
    COMMENT_MAX,
    SMS_TEXT_MAX,
    STREAMS,
    Envelope,
    InvalidEvent,
    Stream,
)
from services.common.hashing import InvalidPhoneNumber, hash_recipient
from services.common.i18n import N_
from services.common.producer import publish
from services.common.redaction import redact
from services.gateway.auth.dependencies import Ingester
from services.gateway.body import SMALL_BODY_BYTES, decode, read_body
from services.gateway.context import Context, GatewayContext
from services.gateway.errors import ApiError
from services.gateway.ingest.limits import MAX_BODY_BYTES, MAX_EVENTS, RateLimit

router = APIRouter(tags=["ingest"])
SMS_NAMESPACE = uuid.UUID("2b4f7c1e-8d5a-4f0b-9c3e-6a1d2e7f9b40")
RATE = RateLimit(rate=50, burst=100)


class Accepted(BaseModel):
    accepted: int


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI request body for an endpoint that reads its body itself (size limits)."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_EVENTS_BODY = _json_body(
    {
        "description": "A CloudEvent of the stream (infra/schemas/<topic>.schema.json) or a list",
        "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
    }
)


@router.post(
    "/v1/events/{stream}", status_code=202, response_model=Accepted, openapi_extra=_EVENTS_BODY
)
async def ingest_events(
    ctx: Context,
    who: Ingester,
    request: Request,
    stream: Literal["chat", "pathway", "feedback", "contact"],
) -> Accepted:
    """One CloudEvent or a list of them. Any invalid item: 422 naming each by index, and
    nothing of the batch is published."""
    RATE.take(who.token_id)
    items = _items(decode(await read_body(request, MAX_BODY_BYTES)))
    chosen = STREAMS[stream]
    events, problems = [], []
    for index, item in enumerate(items):
        try:
            events.append(_redacted(_parsed(ctx, chosen, item)))
        except InvalidEvent as exc:
            problems.append({"index": index, "reason": exc.reason, "detail": exc.detail})
    if problems:
        raise ApiError(422, "invalid_events", problems)
    await _publish(ctx, chosen, events)
    return Accepted(accepted=len(events))


class InboundSms(BaseModel):
    model_config = ConfigDict(extra="ignore")

    from_: str = Field(alias="from", min_length=3, max_length=40)
    text: str = Field(max_length=2000)
    received_at: AwareDatetime
    message_id: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


@router.post(
    "/v1/sms/inbound",
    status_code=202,
    response_model=Accepted,
    openapi_extra=_json_body(InboundSms.model_json_schema(by_alias=True)),
)
async def inbound_sms(
    ctx: Context,
    request: Request,
    signature: Annotated[str | None, Header(alias="X-Kanava-Signature")] = None,
) -> Accepted:
    """The SMS operator's webhook, signed with HMAC-SHA256 of the body under
    KANAVA_SMS_WEBHOOK_SECRET: `X-Kanava-Signature: sha256=<hex>`."""
    secret = ctx.settings.sms_webhook_secret
    if secret is None or not secret.get_secret_value():  # empty: anyone could sign
        raise ApiError(503, "not_configured", N_("KANAVA_SMS_WEBHOOK_SECRET is not set"))
    body = await read_body(request, SMALL_BODY_BYTES)
    expected = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature or "", f"sha256={expected}"):
        raise ApiError(401, "bad_signature", N_("X-Kanava-Signature does not match the body"))
    try:
        sms = InboundSms.model_validate(decode(body))
        recipient = hash_recipient(sms.from_, ctx.settings.phone_hash_key.get_secret_value())
    except ValidationError as exc:
        problems = [
            {"where": ".".join(map(str, e["loc"])), "problem": e["msg"]} for e in exc.errors()
        ]
        raise ApiError(422, "invalid_request", problems) from None
    except InvalidPhoneNumber as exc:
        raise ApiError(422, "invalid_phone", str(exc)) from None
    await _publish(ctx, STREAMS["feedback"], [_sms_event(sms, recipient, ctx)])
    return Accepted(accepted=1)


def _sms_event(sms: InboundSms, recipient: str, ctx: GatewayContext) -> Any:
    """The `sms.received` of a webhook call, checked by the rules the consumer applies (its
    time, a NUL in the text), so what the gateway accepts is never dead-lettered later."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid5(SMS_NAMESPACE, sms.message_id)),  # a retried webhook: a duplicate
        "source": "kanava/gateway/sms",
        "type": "sms.received",
        "time": sms.received_at.isoformat(),
        "data": {
            "recipient": recipient,
            "text": _fitted(redact(sms.text).text, SMS_TEXT_MAX),
            "message_id": sms.message_id,
        },
    }
    try:
        return _parsed(ctx, STREAMS["feedback"], event)
    except InvalidEvent as exc:
        where = "received_at" if exc.reason.startswith("time") else "text"
        raise ApiError(422, "invalid_request", [{"where": where, "problem": exc.detail}]) from None


def _parsed(ctx: GatewayContext, stream: Stream[Envelope], item: Any) -> Any:
    """An event checked by the rules the consumers apply (schema, time, NUL)."""
    max_future = timedelta(seconds=ctx.settings.max_future_seconds)
    return stream.parse(json.dumps(item), datetime.now(UTC), max_future)


def _items(parsed: Any) -> list[Any]:
    items = parsed if isinstance(parsed, list) else [parsed]
    if not items:
        raise ApiError(422, "invalid_events", N_("no events"))
    if len(items) > MAX_EVENTS:
        raise ApiError(413, "too_large", N_("at most {n} events a request"), n=MAX_EVENTS)
    return items


def _redacted(event: Any) -> Any:
    """Feedback texts are redacted before they enter Kafka."""
    data = event.data
    if event.type == "sms.received":
        update = {"text": _fitted(redact(data.text).text, SMS_TEXT_MAX)}
    elif event.type == "survey.answered" and data.comment:
        update = {"comment": _fitted(redact(data.comment).text, COMMENT_MAX)}
    else:
        return event
    return event.model_copy(update={"data": data.model_copy(update=update)})


def _fitted(text: str, most: int) -> str:
    """A redacted text within the schema's length: placeholders are longer than what they
    replace, and a reply must not be refused (its score lost) for the tail of its text."""
    return text if len(text) <= most else text[: most - 1] + "…"


async def _publish(ctx: GatewayContext, stream: Stream[Envelope], events: list[Any]) -> None:
    if ctx.producer is None:
        raise ApiError(503, "unavailable", N_("no Kafka producer is configured"))
    try:
        await publish(ctx.producer, stream, events)
    except KafkaError as exc:
        raise ApiError(
            503, "unavailable", N_("Kafka did not acknowledge: {error}"), error=type(exc).__name__
        ) from None
