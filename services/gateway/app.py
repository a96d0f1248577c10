"""The gateway's FastAPI application (docs/api.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text

from services.gateway import errors
from services.gateway.chat.endpoints import router as chat_router
from services.gateway.contacts.endpoints import router as contacts_router
from services.gateway.context import Context, GatewayContext
from services.gateway.feedback.endpoints import router as feedback_router
from services.gateway.ingest.endpoints import router as ingest_router
from services.gateway.language import asked_language
from services.gateway.pathways.endpoints import router as pathways_router
from services.gateway.reports.endpoints import router as reports_router
from services.gateway.wallboard.endpoints import router as wallboard_router


def create_app(ctx: GatewayContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.context = ctx
        yield

    app = FastAPI(
        title="Kanava gateway",
        version="1",
        description="Query API, ingest, wallboard and reports of Kanava.",
        lifespan=lifespan,
        responses=errors.ERROR_RESPONSES,
        dependencies=[Depends(asked_language)],  # `lang` on every operation
    )
    app.state.context = ctx
    errors.install(app)
    app.include_router(chat_router)
    app.include_router(feedback_router)
    app.include_router(pathways_router)
    app.include_router(contacts_router)
    app.include_router(ingest_router)
    app.include_router(reports_router)
    app.include_router(wallboard_router)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", tags=["operations"])
    async def readyz(ctx: Context) -> JSONResponse:
        try:
            async with ctx.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            detail = f"database unavailable ({type(exc).__name__})"
            return JSONResponse({"error": "unavailable", "detail": detail}, 503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return app
