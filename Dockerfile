# One image for every Kanava process; docker-compose.yml picks the command.
FROM python:3.11-slim-bookworm AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-default-groups --no-install-project
COPY services ./services
COPY infra ./infra
RUN uv sync --frozen --no-default-groups

FROM python:3.11-slim-bookworm
# pango for the PDF report (WeasyPrint)
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /app kanava
WORKDIR /app
COPY --from=build --chown=kanava:kanava /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
USER kanava
CMD ["python", "-m", "services.gateway"]
