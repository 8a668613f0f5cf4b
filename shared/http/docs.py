"""Each API's interactive documentation at `/docs`: Swagger UI served by the app itself (no CDN at run time).

The assets are the npm package `swagger-ui-dist` that `make setup` installs (`package.json`); the image
copies them in and points `HOTLINE_DOCS_ASSETS_DIR` at them.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.responses import FileResponse, HTMLResponse, Response

from shared.auth.deps import SecureRouter, public
from shared.http.errors import error_response

ASSETS_ENV = "HOTLINE_DOCS_ASSETS_DIR"
# the only files served: what the page below loads (never a path the caller makes up)
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
# the page loads its own scripts and styles only; Swagger UI sets inline styles and data: images
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
"""

# a file of its own, not an inline script: the page's CSP allows 'self' scripts only
_INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
"""


def assets_dir() -> Path:
    """HOTLINE_DOCS_ASSETS_DIR, else the checkout's node_modules/swagger-ui-dist (make setup)."""
    configured = os.environ.get(ASSETS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "node_modules" / "swagger-ui-dist"


def docs_router(title: str) -> SecureRouter:
    router = SecureRouter(tags=["docs"], dependencies=[public()], include_in_schema=False)
    headers = {"Content-Security-Policy": DOCS_CSP}

    def missing() -> Response:
        return error_response(
            503, f"the API docs' assets are not installed in {assets_dir()} (run make setup, or set {ASSETS_ENV})"
        )

    @router.get("/docs")
    async def docs_page() -> Response:
        if not (assets_dir() / "swagger-ui-bundle.js").is_file():
            return missing()
        return HTMLResponse(_PAGE.format(title=title), headers=headers)

    @router.get("/docs/assets/init.js")
    async def docs_init() -> Response:
        return Response(_INIT, media_type="text/javascript", headers=headers)

    @router.get("/docs/assets/{name}")
    async def docs_asset(name: str) -> Response:
        if name not in ASSETS:
            return error_response(404, "Not Found")
        path = assets_dir() / name
        if not path.is_file():
            return missing()
        return FileResponse(path, media_type=ASSETS[name], headers={**headers, "Cache-Control": "max-age=86400"})

    return router
