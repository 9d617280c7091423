"""The web dashboard's pages: `/` (look up a miner), `/miner/{address}`, `/operator`, and their built assets
under `/static` (web/dist, built from web/ by `make web` and committed, so serving needs no Node.js).

The pages are static HTML; their scripts read the public REST API and `/api/ws`, and the operator page sends
the admin's API key (kept in the tab's sessionStorage). No page embeds data, so none needs a permission here:
the API behind them enforces every one.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.enums import MediaType
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from schemas.identity import valid_address

#: web/dist beside the packages (an editable install or a clone, which is how poolstream runs)
DIST = Path(__file__).resolve().parent.parent / "web" / "dist"

#: No inline script, nothing from another origin: the pages load only /static and talk only to this server.
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _page(name: str, status_code: int = 200) -> Response[bytes]:
    path = DIST / name
    if not path.is_file():
        return Response(f"The web dashboard is not built ({path} is missing): run `make web`.".encode(),
                        status_code=503, media_type=MediaType.TEXT)
    return Response(path.read_bytes(), status_code=status_code, media_type=MediaType.HTML, headers=_HEADERS)


@get("/", include_in_schema=False, sync_to_thread=False)
def home() -> Response[bytes]:
    return _page("index.html")


@get("/miner/{address:str}", include_in_schema=False, sync_to_thread=False)
def miner(address: str) -> Response[bytes]:
    # a malformed address gets the page with 404 (the page itself says what is wrong)
    return _page("miner.html", 200 if valid_address(address) else 404)


@get("/operator", include_in_schema=False, sync_to_thread=False)
def operator() -> Response[bytes]:
    return _page("operator.html")


def web_routes() -> list[ControllerRouterHandler]:
    """The pages and `/static` (the built scripts and styles)."""
    static = create_static_files_router("/static", directories=[DIST], include_in_schema=False,
                                        name="web-static")
    return [home, miner, operator, static]
