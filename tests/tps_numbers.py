"""Consistent numbers of a synthetic TPS, and their decoding recorded as if the OCR had read them."""

from __future__ import annotations

import uuid

import asyncpg
import numpy as np

from ocr import DecodedField, TpsDecoding
from ocr.synth.pages import tps_values
from service.results import workflow
from service.results.store import TpsResult


def consistent(seed: int = 1) -> dict[str, int]:
    return tps_values(np.random.default_rng(seed))


def decoding(numbers: dict[str, int], *, accepted: bool = True) -> TpsDecoding:
    fields = {n: DecodedField(n, v, v, accepted, 1.0 if accepted else 0.5) for n, v in numbers.items()}
    return TpsDecoding(fields, [], True)


async def decoded(conn: asyncpg.Connection, tps: str, accepted: bool = True) -> int:
    """The id of a decoding row of photos of its own (what the worker stores)."""
    row_id: int = await conn.fetchval(
        "INSERT INTO tps_decoding (tps_code, ballot, photo_ids, decoding, consistent, all_accepted) "
        "VALUES ($1, 'ppwp', $2, '{}', true, $3) RETURNING id",
        tps,
        [uuid.uuid4().int % 2**62],
        accepted,
    )
    return row_id


async def record(conn: asyncpg.Connection, tps: str, numbers: dict[str, int]) -> TpsResult:
    """The numbers as a clear reading of the TPS, through the real workflow."""
    return await workflow.record_decoding(conn, tps, decoding(numbers), await decoded(conn, tps))
