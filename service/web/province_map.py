"""The map of the national results page: the 38 provinces as SVG paths, each coloured by the pair
leading there and shaded by how much of it is counted.

Drawn once per process from the vendored boundaries (``geo/``, CC BY 4.0, see its SOURCE.md):
projected plainly (longitude and latitude as x and y; Indonesia lies on the equator, so the
distortion is small), simplified to about a pixel, islands smaller than a few pixels left out
unless they are the whole province. Rendered on the server, so the map needs no script.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import cv2
import msgspec
import numpy as np

from service.public.results import Child

GEOJSON = Path(__file__).parent / "geo" / "indonesia-38-provinces.geojson"
WEST, NORTH = 95.0, 6.0
SCALE = 20.0
"""Pixels per degree: Indonesia is about 46° wide, so the map is about 920 pixels wide."""
WIDTH, HEIGHT = 925, 345
TOLERANCE = 0.8
MIN_AREA = 6.0
"""Square pixels; smaller islands are left out (the province keeps its largest)."""
KPU_CODE = {"Papua Selatan": "93", "Papua Tengah": "94", "Papua Pegunungan": "95", "Papua Barat Daya": "96"}
"""The dataset gives these the code of the province they were split from."""
PAIR_COLOUR = {1: "#2f8f5b", 2: "#c9a227", 3: "#c0392b"}
NONE_COLOUR = "#d6dbe0"


class Province(msgspec.Struct, frozen=True):
    code: str
    name: str
    d: str
    """The SVG path."""


class Shade(msgspec.Struct, frozen=True):
    """How one province is drawn: its leading pair's colour, opacity rising with the share counted."""

    code: str
    name: str
    d: str
    fill: str
    opacity: float
    leader: int | None
    title: str


def _path(ring: list[list[float]]) -> str:
    points = np.array([((x - WEST) * SCALE, (NORTH - y) * SCALE) for x, y in ring], np.float32)
    simple = cv2.approxPolyDP(points.reshape(-1, 1, 2), TOLERANCE, True).reshape(-1, 2)
    xy = np.rint(simple).astype(int)  # whole pixels: the map is shown at a third of its width
    steps = np.diff(xy, axis=0)
    return f"M{xy[0][0]} {xy[0][1]}l" + " ".join(f"{dx} {dy}" for dx, dy in steps if dx or dy) + "z"


def _area(ring: list[list[float]]) -> float:
    points = np.array(ring, np.float32) * SCALE
    return abs(float(cv2.contourArea(points)))


@functools.cache
def provinces() -> tuple[Province, ...]:
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    out = []
    for feature in features:
        props, geometry = feature["properties"], feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        outer = sorted((polygon[0] for polygon in polygons), key=_area, reverse=True)
        kept = [outer[0], *(ring for ring in outer[1:] if _area(ring) >= MIN_AREA)]
        code = KPU_CODE.get(props["PROVINSI"], props["KODE_PROV"])
        out.append(Province(code, props["PROVINSI"], "".join(_path(ring) for ring in kept)))
    return tuple(sorted(out, key=lambda p: p.code))


def shades(children: list[Child]) -> list[Shade]:
    """Each province as the national results' children say: the leading pair (none while nothing
    is published, or at a tie) and the share of its TPS published."""
    by_code = {child.code: child for child in children}
    out = []
    for province in provinces():
        child = by_code.get(province.code)
        leader = _leader(child.votes) if child and child.progress.tps_published else None
        share = child.progress.share if child else 0.0
        if leader is None:
            fill, opacity = NONE_COLOUR, 1.0
            published = bool(child and child.progress.tps_published)
            title = f"{province.name}: {'seri' if published else 'belum masuk'}"
        else:
            fill, opacity = PAIR_COLOUR.get(leader, NONE_COLOUR), round(0.35 + 0.65 * share, 2)
            title = f"{province.name}: unggul {leader:02d}"
        out.append(Shade(province.code, province.name, province.d, fill, opacity, leader, title))
    return out


def _leader(votes: list[int]) -> int | None:
    if not votes or max(votes) == 0:
        return None
    top = max(votes)
    if votes.count(top) > 1:
        return None
    return votes.index(top) + 1
