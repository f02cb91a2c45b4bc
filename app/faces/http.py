"""Response helpers shared by the public faces: ETag caching and page headers."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.responses import Response

# Pages run no inline code and load nothing from elsewhere; the report form posts home.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
EMBED_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *")


def etagged(
    request: Any, body: bytes, media_type: str, max_age: int = 30, swr: int = 60
) -> Response:
    """A strong ETag and Cache-Control, answering 304 to a matching If-None-Match."""
    tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {
        "etag": tag,
        "cache-control": f"public, max-age={max_age}, stale-while-revalidate={swr}",
        "vary": "accept-encoding",
    }
    match = request.headers.get("if-none-match")
    if match and tag in {t.strip() for t in match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def page(html: str, status: int = 200, *, embed: bool = False, max_age: int = 10) -> Response:
    headers = {
        "content-security-policy": EMBED_CSP if embed else CSP,
        "cache-control": f"public, max-age={max_age}",
        "referrer-policy": "strict-origin-when-cross-origin",
    }
    return Response(
        html, status_code=status, media_type="text/html; charset=utf-8", headers=headers
    )
