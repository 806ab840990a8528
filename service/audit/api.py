"""HTTP, no login: the signed audit checkpoints, for anyone to copy and check later with
``rekap audit verify --against`` (service/audit/anchor.py). A copy held outside rekap is what
makes a rewrite of the history visible, so they are published as they are signed."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from service.audit import store
from service.audit.anchor import Checkpoint, RegionDigest
from service.audit.store import NO_CHECKPOINT, CheckpointEntry
from service.http.errors import ErrorBody

CACHE_CONTROL = "public, max-age=30"
"""A checkpoint is made every few minutes: half a minute of caching hides none for long."""
ID_MAX = 2**63 - 1
PAGE_MAX = 1000

EXAMPLE = Checkpoint(
    made_at="2024-02-14T15:05:00.000000Z",
    seq=48213,
    events=48213,
    chains=9120,
    root="5d1c0e8b3a7f2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d",
    regions={
        "31": RegionDigest(
            chains=5084, digest="0b7e4c2a9d1f3e5a7c9b1d3f5e7a9c1b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e3a"
        ),
        "34": RegionDigest(
            chains=4036, digest="c3a1e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3"
        ),
    },
    public_key="3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    signature="92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b4e22cacce1ed49d7d8fb8a31a00b",
)


def _ok(container: Any, description: str, example: Any) -> ResponseSpec:
    return ResponseSpec(
        container,
        generate_examples=False,
        description=description,
        examples=[Example(summary=description, value=msgspec.to_builtins(example))],
    )


LATEST_RESPONSES = {
    200: _ok(Checkpoint, "The newest checkpoint, exactly as signed", EXAMPLE),
    404: _ok(ErrorBody, NO_CHECKPOINT, {"error": "NoCheckpoint", "message": NO_CHECKPOINT}),
}
LOG_RESPONSES = {
    200: _ok(
        list[CheckpointEntry], "Checkpoints after the one asked", [CheckpointEntry(id=7, checkpoint=EXAMPLE)]
    )
}


class AuditController(Controller):
    path = "/api/v1/public/audit"
    tags = ["audit"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/checkpoints/latest",
        summary="The newest signed checkpoint of the audit trail",
        description=(
            "Ed25519-signed digest of every TPS's history as of its boundary. Keep a copy: "
            "`rekap audit verify --against <copy> --public-key <published key>` later shows whether "
            "the history up to it was rewritten."
        ),
        responses=LATEST_RESPONSES,
    )
    async def latest(self, db: NamedDependency[asyncpg.Connection]) -> Response[bytes]:
        document = await store.latest_document(db)
        return Response(document, media_type="application/json", headers={"Cache-Control": CACHE_CONTROL})

    @get(
        "/checkpoints",
        summary="Every signed checkpoint, oldest first, in pages",
        description="The log of checkpoints: ask again with `after` set to the last `id` received.",
        responses=LOG_RESPONSES,
    )
    async def checkpoints(
        self,
        db: NamedDependency[asyncpg.Connection],
        after: Annotated[int, Parameter(ge=0, le=ID_MAX, description="the last id already copied")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=PAGE_MAX)] = 100,
    ) -> Response[list[CheckpointEntry]]:
        entries = await store.listing(db, after, limit)
        return Response(entries, headers={"Cache-Control": CACHE_CONTROL})
