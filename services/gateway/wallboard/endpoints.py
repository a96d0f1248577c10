"""GET / : the wallboard page, and GET /wallboard.js, its script.

Neither holds data nor needs a token. The page comes in the reader's language (`?lang=`,
Accept-Language, KANAVA_LANGUAGE) with the script's texts in a JSON block; its script fetches
`GET /v1/chat/queues` with the read token the screen was opened with (`/#token=…`, kept in the
browser's localStorage). The Content-Security-Policy allows this origin only: the script is a
file of its own (`script-src 'self'`), the inline style is allowed by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from functools import cache
from pathlib import Path

from babel.messages.extract import extract
from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.common.i18n import Language, translator
from services.gateway.language import ReaderLanguage
from services.gateway.templating import environment

router = APIRouter(tags=["wallboard"])

_HERE = Path(__file__).resolve().parent
TEMPLATE = "wallboard.html.j2"
SCRIPT = (_HERE / "wallboard.js").read_text(encoding="utf-8")


def script_texts(script: str) -> list[str]:
    """The texts the script shows: the keys of its `tr("…")` calls."""
    found = extract("javascript", io.BytesIO(script.encode()), keywords={"tr": (1,)})
    return sorted({str(message) for _, message, _, _ in found})


SCRIPT_TEXTS = script_texts(SCRIPT)


@cache
def page(language: Language) -> str:
    t = translator(language)
    texts = {key: t(key) for key in SCRIPT_TEXTS}
    template = environment(_HERE, language).get_template(TEMPLATE)
    return template.render(language=language, texts=texts)


def _style_hash(page: str) -> str:
    """The CSP source of the page's one inline <style> element."""
    styles = re.findall(r"<style>(.*?)</style>", page, flags=re.DOTALL)
    if len(styles) != 1:
        raise RuntimeError("wallboard.html must hold exactly one <style> element")
    digest = hashlib.sha256(styles[0].encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        f"style-src {_style_hash((_HERE / TEMPLATE).read_text(encoding='utf-8'))}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@router.get("/", response_class=HTMLResponse, summary="The wallboard")
async def wallboard(language: ReaderLanguage) -> HTMLResponse:
    """A live page of the chat queues for a wall screen, updating itself every 3 s.

    The page needs no token and holds no data. Open it once as `/#token=<read token>`
    (`kanava token create --name wallboard --scope read`); the fragment never reaches the
    server, and the page keeps the token in the browser and removes it from the address bar.
    """
    return HTMLResponse(page(language), headers=HEADERS)


@router.get("/wallboard.js", include_in_schema=False)
async def wallboard_script() -> Response:
    return Response(SCRIPT, media_type="text/javascript; charset=utf-8", headers=HEADERS)
