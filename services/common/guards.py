"""What a process refuses to start with under KANAVA_ENVIRONMENT=production, and what it only
warns about in development.

Every problem is one line on stderr naming the setting and what to do; all of them are printed,
then the process exits with code 2, before it binds a port or touches Kafka."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlalchemy import text

from services.common import token_store
from services.common.db import create_engine
from services.common.settings import DEV_PHONE_HASH_KEY, Settings

log = logging.getLogger(__name__)

REFUSED = 2
MIN_KEY_LENGTH = 32
DEV_TOKEN_NAME = "dev (kanava up)"  # the name `kanava up` gives the token it prints
_NEW_KEY = (
    f"set a secret random key of at least {MIN_KEY_LENGTH} characters (`openssl rand -hex 32`)"
)


def check_service_start(settings: Settings, service: str) -> None:
    """A consumer service's start-up."""
    _refuse(service, service_problems(settings))
    _warn_about_dev_key(settings, service)


def check_gateway_start(settings: Settings) -> None:
    """The gateway's start-up: it also serves the SMS webhook and holds the API tokens."""
    problems = gateway_problems(settings)
    if _in_production(settings) and settings.database_url:
        problems += asyncio.run(dev_token_problems(settings.database_url))
    _refuse("gateway", problems)
    _warn_about_dev_key(settings, "gateway")


def refuse_dev_stack_in_production(settings: Settings) -> None:
    if _in_production(settings):
        _refuse(
            "kanava up",
            [
                "KANAVA_ENVIRONMENT is production, and the dev stack is for development only: "
                "unset KANAVA_ENVIRONMENT, or deploy with docker compose"
            ],
        )


def service_problems(settings: Settings) -> list[str]:
    """Consumer services hash nothing themselves, but they store hashes other processes made
    with the same key: a deployment still on the public key is refused everywhere at once."""
    return _key_problems(settings) if _in_production(settings) else []


def gateway_problems(settings: Settings) -> list[str]:
    """What the settings alone tell; the dev tokens need the database."""
    if not _in_production(settings):
        return []
    secret = settings.sms_webhook_secret
    problems = _key_problems(settings)
    if secret is None or not secret.get_secret_value():
        problems.append(
            "KANAVA_SMS_WEBHOOK_SECRET is not set: "
            "set the secret the SMS operator signs POST /v1/sms/inbound with"
        )
    return problems


async def dev_token_problems(database_url: str) -> list[str]:
    return [
        f'the dev stack\'s token "{DEV_TOKEN_NAME}" is live in the database: '
        f"revoke it with `kanava token revoke {token_id}`"
        for token_id in await live_dev_tokens(database_url)
    ]


async def live_dev_tokens(database_url: str) -> list[str]:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            if await conn.scalar(text("SELECT to_regclass('api_tokens')")) is None:
                return []  # not migrated yet: no token at all
            return await token_store.live_named(conn, DEV_TOKEN_NAME)
    finally:
        await engine.dispose()


def _key_problems(settings: Settings) -> list[str]:
    key = settings.phone_hash_key.get_secret_value()
    if key == DEV_PHONE_HASH_KEY:
        return [f"KANAVA_PHONE_HASH_KEY is the public development key: {_NEW_KEY}"]
    if len(key) < MIN_KEY_LENGTH:
        return [f"KANAVA_PHONE_HASH_KEY is shorter than {MIN_KEY_LENGTH} characters: {_NEW_KEY}"]
    return []


def _refuse(process: str, problems: Sequence[str]) -> None:
    for problem in problems:
        print(f"{process}: {problem}", file=sys.stderr)
    if problems:
        raise SystemExit(REFUSED)


def _warn_about_dev_key(settings: Settings, process: str) -> None:
    if settings.phone_hash_key.get_secret_value() == DEV_PHONE_HASH_KEY and _on_real_kafka(
        settings
    ):
        log.warning(
            "%s: KANAVA_PHONE_HASH_KEY is the public development key on the Kafka at %s: "
            "anyone can reverse its recipient hashes; set a secret key before real data flows",
            process,
            settings.kafka_bootstrap,
        )


def _on_real_kafka(settings: Settings) -> bool:
    # `kanava up` hands its own broker's address to the services it starts: not a real Kafka.
    dev_broker = f"127.0.0.1:{settings.dev_broker_port}"
    return settings.kafka_bootstrap not in (None, dev_broker)


def _in_production(settings: Settings) -> bool:
    return settings.environment == "production"
