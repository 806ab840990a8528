"""HTTP: a KPPS sends the photos of its TPS's form, follows their reading, and gets them back."""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from service.errors import InvalidInput, PhotoRejected
from service.http.auth import provide_current_user
from service.http.connections import pooled_connection
from service.photos import intake
from service.photos.model import Photo, TpsPhotos
from service.photos.storage import photo_address
from service.photos.throttle import UploadThrottle
from service.regions.codes import tps_code
from service.review import flags
from service.settings import Settings
from service.users.model import User

TPS_CODE = Parameter(description="the TPS's 13-digit KPU code, e.g. 3404072001004")


def _page_hint(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    if str(raw) not in ("1", "2", "3"):
        raise InvalidInput(
            f"Nomor halaman harus 1, 2 atau 3 (lihat tulisan 'Halaman N dari 3' di formulir), bukan {raw!r}.",
            detail=f"page must be 1, 2 or 3 (the form's 'Halaman N dari 3'), not {raw!r}",
        )
    return int(raw)


async def _upload(request: Request[Any, Any, Any], limit: int) -> tuple[bytes, Any]:
    """The photo's bytes and the page hint, from a multipart form or a raw image body."""
    if request.content_type[0] == "multipart/form-data":
        form = await request.form()
        files = [v for v in form.values() if isinstance(v, UploadFile)]
        if len(files) != 1:
            raise InvalidInput(
                f"Kirim tepat satu foto sekali unggah (terkirim {len(files)}).",
                detail=f"send exactly one photo in the form (a field named 'photo'), not {len(files)}",
            )
        data = await files[0].read()
        hint = form.get("page") or request.query_params.get("page")
    else:
        data = await request.body()
        hint = request.query_params.get("page")
    if not data:
        raise InvalidInput(
            "Tidak ada foto yang terkirim. Pilih atau ambil foto halaman formulir, lalu kirim lagi.",
            detail="the request has no photo in it",
        )
    if len(data) > limit:
        size = f"{len(data) / 1e6:.1f}".replace(".", ",")
        raise PhotoRejected(
            "too_large",
            f"Foto terlalu besar ({size} MB; paling besar {limit / 1e6:.0f} MB). "
            "Gunakan pengaturan kamera biasa lalu foto ulang.",
            detail=f"the photo has {len(data)} bytes, more than {limit}",
        )
    return data, hint


class FlagRequest(msgspec.Struct, frozen=True):
    field: Annotated[str, msgspec.Meta(max_length=64)]
    """The form's name of the number read wrong (``suara_paslon_1``, ...)."""
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class PhotoController(Controller):
    path = "/api/v1"
    tags = ["photos"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @post(
        "/tps/{code:str}/ppwp/photos",
        summary="Send a photo of one page of the TPS's C.Hasil-PPWP (multipart 'photo' or raw image body)",
        description=(
            "JPEG, PNG or WebP. 201 with the new photo once its bytes and record are durable; "
            "200 with the existing record when the same bytes were sent before (a retry). "
            "Optional page hint 1-3 as the form field or query parameter 'page'. "
            "415: not a JPEG/PNG/WebP (HEIC named); 413: too large; 422: damaged or cut short; "
            "408: the body stopped arriving (REKAP_BODY_TIMEOUT_SECONDS); "
            "429 with Retry-After: more uploads of this login in a minute than REKAP_UPLOADS_PER_MINUTE."
        ),
        status_code=201,
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        state: State,
        settings: NamedDependency[Settings],
        code: str = TPS_CODE,
    ) -> Response[Photo]:
        """No ``db`` for the whole request: the body comes over a phone's connection, which may
        take minutes (or never end), so a connection is taken only around the database work,
        before the body is read and after it is whole and checked (connections.py)."""
        tps = tps_code(code)
        async with pooled_connection(request) as db:
            user = await provide_current_user(request, db)
        intake.may_upload(user, tps)
        await UploadThrottle(state.redis, settings).attempt(user)
        data, hint = await _upload(request, settings.max_photo_bytes)
        page = _page_hint(hint)
        async with pooled_connection(request) as db:
            photo, created = await intake.accept(
                db, state.photos, state.queue, user=user, tps=tps, data=data, page_hint=page
            )
        return Response(photo, status_code=201 if created else 200)

    @post(
        "/tps/{code:str}/ppwp/flags",
        summary="The KPPS reports a number read wrong ('angka ini salah'): it reaches the officers",
        status_code=201,
    )
    async def flag(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        data: JSONBody[FlagRequest],
        code: str = TPS_CODE,
    ) -> flags.Flag:
        return await flags.raise_flag(db, current_user, tps_code(code), data.field, data.note)

    @get("/tps/{code:str}/ppwp", summary="The TPS's pages: their photos, reading state and values read")
    async def tps_status(
        self,
        db: NamedDependency[asyncpg.Connection],
        current_user: NamedDependency[User],
        code: str = TPS_CODE,
    ) -> TpsPhotos:
        return await intake.status(db, user=current_user, tps=tps_code(code))

    @get(
        "/photos/{sha256:str}",
        summary="A photo's bytes, by its SHA-256 (for those allowed to see its TPS)",
        media_type="application/octet-stream",
    )
    async def photo(
        self,
        db: NamedDependency[asyncpg.Connection],
        state: State,
        current_user: NamedDependency[User],
        sha256: FromPath[str],
    ) -> Response[bytes]:
        data, media_type = await intake.photo_bytes(
            db, state.photos, user=current_user, sha256=photo_address(sha256)
        )
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "private, max-age=86400, immutable", "ETag": f'"{sha256}"'},
        )
