"""The digital-share endpoint's rows (docs/metrics.md, Digital share)."""

from __future__ import annotations

from collections.abc import Collection

from services.common import formulas
from services.gateway.contacts.schemas import ShareRow


def share_row(
    period: str, unit_id: str | None, by_channel: dict[str, int], digital: Collection[str]
) -> ShareRow:
    return ShareRow(
        period=period,
        unit_id=unit_id,
        contacts=sum(by_channel.values()),
        digital_contacts=formulas.digital_contacts(by_channel, digital),
        digital_share=formulas.digital_share(by_channel, digital),
        by_channel=by_channel,
    )
