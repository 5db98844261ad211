"""The API's reference pages, served from the installed package: Swagger UI at ``/docs`` and ReDoc at
``/redoc``. Nothing is fetched from a CDN (the service runs on closed networks, and a third-party script
would see the secrets typed into "Authorize"); the bundles come from the ``fastapi-offline`` package's data.
``NETRAL_DOCS=false`` answers 404 for both; ``/openapi.json`` stays, it is the contract."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

from app.core.deps import RuntimeDep
from app.core.errors import NotFound

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs/assets"
SERVED = {  # the only files served, by name: nothing else in the package can be asked for
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
router = APIRouter(include_in_schema=False)


def _enabled(runtime: RuntimeDep) -> None:
    if not runtime.settings.docs:
        raise NotFound("The API reference pages are switched off here; the contract is at /openapi.json.")


@router.get("/docs")
async def swagger_ui(runtime: RuntimeDep) -> HTMLResponse:
    _enabled(runtime)
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Netral — API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect(runtime: RuntimeDep) -> HTMLResponse:
    _enabled(runtime)
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(runtime: RuntimeDep) -> HTMLResponse:
    _enabled(runtime)
    return get_redoc_html(
        openapi_url="/openapi.json",
        title="Netral — API reference",
        redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
        with_google_fonts=False,
    )


@router.get(ASSETS_URL + "/{name}")
async def asset(name: str, runtime: RuntimeDep) -> FileResponse:
    _enabled(runtime)
    if name not in SERVED:
        raise NotFound("No such file.")
    return FileResponse(ASSETS / name, media_type=SERVED[name], headers={"Cache-Control": "public, max-age=86400"})
