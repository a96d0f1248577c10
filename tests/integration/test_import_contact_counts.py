"""`kanava import` of monthly contact counts through a real broker into contact_metrics'
`contact_month_counts` and the digital share of the month: worked out by hand, a re-import
changing nothing, a corrected count replacing the one before, bad rows in the error file while
the good ones go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.events import CONTACT
from services.common.settings import DEFAULT_DIGITAL_CHANNELS
from services.contact_metrics.service import ContactMetrics
from services.gateway.contacts.repository import channel_counts
from services.gateway.periods import Selection
from tests.integration.test_contact_metrics_store import REGISTRY
from tests.integration.test_contact_month_counts import month_counts
from tests.integration.test_import import run
from tests.integration.test_import_sources import HELSINKI, files, registry, sent_events
from tests.integration.test_simulator_produce import TopicReader, open_reader
from tests.support.apply import apply_batch

COUNTS = """Yksikkö;Yhteystapa;Kuukausi;Käyntejä
Terveysasema 1;Vastaanotto;10/2024;1 200
Terveysasema 1;Chat;10/2024;250
Terveysasema 1;Chatbot;10/2024;50
Terveysasema 1;Puhelin;10/2024;400
u2;Video;10/2024;30
u2;Kirje;10/2024;5
u2;Vastaanotto;lokakuu 2024;7
"""
MAPPING = """\
source: contact_counts
name: avohilmo-2024
month_format: "%m/%Y"
delimiter: ";"
columns: {unit: Yksikkö, channel: Yhteystapa, month: Kuukausi, contacts: Käyntejä}
units: {"Terveysasema 1": u1}
channels: {Vastaanotto: in_person, Chat: chat, Chatbot: chat, Puhelin: phone, Video: video}
"""
OCTOBER = date(2024, 10, 1)


@pytest.fixture
async def contact_reader(broker: str) -> AsyncIterator[TopicReader]:
    async for opened in open_reader(broker, CONTACT):
        yield opened


async def october_by_unit(engine: AsyncEngine) -> dict[str | None, dict[str, int]]:
    sel = Selection(OCTOBER, date(2024, 10, 31), "month", None, None, None, None)
    async with engine.connect() as conn:
        rows = await channel_counts(conn, sel, None, by_unit=True)
    return {unit: channels for (_, unit), channels in rows.items()}


async def test_monthly_counts_become_the_months_figures(
    tmp_path: Path,
    contact_reader: TopicReader,
    engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    export, mapping = files(tmp_path, COUNTS, MAPPING)
    assert await run(export, "--mapping", mapping) == 3
    # 5 good rows; Chat and Chatbot of u1 are one count (chat 300)
    assert capsys.readouterr().out.startswith(
        "kanava import: 7 of 7 rows, 5 good, 2 bad; sent 4 events\n"
    )
    errors = (tmp_path / "export.csv.errors.csv").read_text(encoding="utf-8").splitlines()
    assert errors == [
        "line,reason,Yksikkö,Yhteystapa,Kuukausi,Käyntejä",
        "7,\"channel 'Kirje' is none of Kanava's (in_person, home_visit, phone, video, chat, "
        'message, e_service, pathway, other): map it under channels",u2,Kirje,10/2024,5',
        "8,month: 'lokakuu 2024' is not a month (%m/%Y),u2,Vastaanotto,lokakuu 2024,7",
    ]
    _, events = await sent_events(contact_reader, CONTACT, 4)
    domain = ContactMetrics(registry(tmp_path, REGISTRY), HELSINKI, DEFAULT_DIGITAL_CHANNELS)
    assert len(await apply_batch(engine, domain, events)) == 4
    stored = await month_counts(engine)
    assert [row[1:6] for row in stored] == [
        ("u1", "chat", "avohilmo-2024", "sa1", 300),
        ("u1", "in_person", "avohilmo-2024", "sa1", 1200),
        ("u1", "phone", "avohilmo-2024", "sa1", 400),
        ("u2", "video", "avohilmo-2024", "sa1", 30),
    ]
    assert await october_by_unit(engine) == {
        "u1": {"chat": 300, "in_person": 1200, "phone": 400},
        "u2": {"video": 30},
    }

    assert await run(export, "--mapping", mapping) == 3  # again: the same counts
    _, again = await sent_events(contact_reader, CONTACT, 4)
    assert sorted(e.id for e in again) == sorted(e.id for e in events)
    await apply_batch(engine, domain, again)
    assert await month_counts(engine) == stored

    corrected, _ = files(
        tmp_path, COUNTS.replace(";Chat;10/2024;250", ";Chat;10/2024;260"), MAPPING
    )
    assert await run(corrected, "--mapping", mapping) == 3
    _, later = await sent_events(contact_reader, CONTACT, 4)
    await apply_batch(engine, domain, later)
    assert (await october_by_unit(engine))["u1"] == {"chat": 310, "in_person": 1200, "phone": 400}
