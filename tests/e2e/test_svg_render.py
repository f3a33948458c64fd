"""The account plan's SVG map in a real browser: headless Chromium screenshots it and the picture
is not blank (boxes, lines, the champion's green). Skips without Chromium, except under CI."""

from __future__ import annotations

import os
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from connector.plans.plan import show_plan
from connector.plans.render_svg import to_svg
from tests.store.test_plans import SHARING, build_world

CHROMIUM = Path("/usr/bin/chromium")
CHAMPION = (0x4C, 0xAF, 0x50)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA PNG, with the stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", (0, 0, 0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            header = (width, height, depth, colour)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = header
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, bpp)
        rows.append(
            bytes(b for i, b in enumerate(line) if i % bpp < 3) if bpp == 4 else bytes(line)
        )
        prev = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
            line[i] = (line[i] + pred) & 0xFF
    return line


def _pixels(rows: list[bytes]) -> list[tuple[int, int, int]]:
    return [(r[i], r[i + 1], r[i + 2]) for r in rows for i in range(0, len(r), 3)]


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: CI must install Debian's chromium")
        pytest.skip("/usr/bin/chromium is not installed")
    return CHROMIUM


def screenshot(browser: Path, svg: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [
            str(browser),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            "--window-size=1200,900",
            svg.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_svg_map_renders_not_blank(chromium: Path, session: Session, tmp_path: Path) -> None:
    build_world(session)
    svg = tmp_path / "plan.svg"
    svg.write_text(to_svg(show_plan(session, "Globex", None, SHARING)), encoding="utf-8")
    png = tmp_path / "plan.png"
    screenshot(chromium, svg, png, tmp_path / "profile")
    width, height, rows = decode_png(png.read_bytes())
    assert (width, height) == (1200, 900)
    pixels = _pixels(rows)
    ink = sum(1 for p in pixels if p != (255, 255, 255))
    green = sum(1 for p in pixels if all(abs(a - b) <= 8 for a, b in zip(p, CHAMPION, strict=True)))
    assert ink > 0.05 * len(pixels), f"only {ink} non-white pixels: the map looks blank"
    assert green > 500, "the champion's box is not drawn in the stance colour"


def test_png_decoder_on_a_known_image() -> None:
    """2x2 RGB, filter 1 (Sub) on the second row: red, white / black, green."""
    rows = b"\x00" + bytes([255, 0, 0, 255, 255, 255]) + b"\x01" + bytes([0, 0, 0, 0, 255, 0])
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
    png += chunk(b"IEND", b"")
    _, _, decoded = decode_png(png)
    assert _pixels(decoded) == [(255, 0, 0), (255, 255, 255), (0, 0, 0), (0, 255, 0)]
