"""The API reference at /docs, readable offline: Swagger UI's files come from a package
(fastapi-offline ships them), never from a CDN, and the page runs no inline code, so it
keeps the same strict Content-Security-Policy as every other page."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from outagewatch.app.faces.http import page

ASSETS = "/docs/assets"
SWAGGER_UI = Path(str(files("fastapi_offline") / "static"))

DOCS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>outagewatch API</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>"""


def install(api: FastAPI) -> None:
    """/docs and its assets; /redoc (whose script only a CDN would give) leads to /docs.
    The app is built with docs_url=None and redoc_url=None."""
    api.mount(ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return page(DOCS_PAGE, max_age=300)

    @api.get("/redoc", include_in_schema=False)
    def redoc() -> RedirectResponse:
        return RedirectResponse("/docs", status_code=308)
