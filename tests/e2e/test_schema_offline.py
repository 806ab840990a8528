"""/schema, the API's description for people, works without internet: its page names no other
host, and the viewer's script is rekap's own answer."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from service.http.app import REDOC
from service.http.headers import SCHEMA_POLICY
from tests.conftest import scratch_database, serving

ASSET = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=[\"']([^\"']+)[\"']", re.I)


@pytest.fixture(scope="module")
async def schema_db(template_db: str) -> AsyncIterator[str]:
    async with scratch_database(template=template_db) as url:
        yield url


@pytest.fixture(scope="module")
def api(schema_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    env = {
        "REKAP_DATABASE_URL": schema_db,
        "REKAP_STORAGE_DIR": str(tmp_path_factory.mktemp("schema-photos")),
        "REKAP_REDIS_PREFIX": f"test-schema-{uuid.uuid4().hex[:8]}",
    }
    with serving(env) as client:
        yield client


def assets(api: httpx.Client, path: str) -> list[str]:
    """The scripts and stylesheets (and icons) a page loads, as absolute addresses."""
    page = api.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), path
    return [urljoin(str(page.url), src) for src in ASSET.findall(page.text)]


@pytest.mark.parametrize("path", ["/schema", "/schema/redoc"])
def test_the_schema_page_loads_nothing_from_another_host(api: httpx.Client, path: str) -> None:
    loaded = assets(api, path)
    assert loaded, "the viewer's script"
    ours = urlsplit(str(api.base_url)).netloc
    assert {urlsplit(url).netloc for url in loaded} == {ours}, loaded
    assert not re.search(r"https?://", SCHEMA_POLICY), "the page's policy allows no other host"


def test_the_viewers_script_is_served_by_rekap(api: httpx.Client) -> None:
    (script,) = assets(api, "/schema")
    answer = api.get(script)
    assert answer.status_code == 200, script
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.content == Path(REDOC).read_bytes() and b"Redoc" in answer.content[:2000]
    # Loaded with ``crossorigin`` from the sandboxed page (an opaque origin): CORS must allow it.
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "immutable" in answer.headers["cache-control"]


def test_only_viewers_rekap_serves_are_offered(api: httpx.Client) -> None:
    for path in ("/schema/swagger", "/schema/elements", "/schema/rapidoc"):
        assert api.get(path).status_code == 404, path
    assert api.get("/schema/openapi.json").json()["info"]["title"] == "rekap"
    assert api.get("/schema/openapi.yaml").status_code == 200
