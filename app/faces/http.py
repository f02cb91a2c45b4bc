"""Page headers shared by the public faces (ETag caching: app/responses.py)."""

from __future__ import annotations

from fastapi.responses import Response

# Pages run no inline code and load nothing from elsewhere; the report form posts home.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
EMBED_CSP = CSP.replace("frame-ancestors 'none'", "frame-ancestors *")


def page(html: str, status: int = 200, *, embed: bool = False, max_age: int = 10) -> Response:
    headers = {
        "content-security-policy": EMBED_CSP if embed else CSP,
        "cache-control": f"public, max-age={max_age}",
        "referrer-policy": "strict-origin-when-cross-origin",
    }
    return Response(
        html, status_code=status, media_type="text/html; charset=utf-8", headers=headers
    )


def vary(resp: Response) -> Response:
    """The language may come from Accept-Language: shared caches must key on it."""
    resp.headers["vary"] = "accept-encoding, accept-language"
    return resp
