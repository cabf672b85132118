#!/usr/bin/env python3
"""Draws the Slipway app icon (assets/icons/icon.png, 512x512 RGBA) with the standard library
only: a blue rounded square holding a small deployment graph — one node wired to two.
Run from the repository root: python3 scripts/make-icon.py"""

import math
import struct
import zlib

SIZE = 512
SAMPLES = 3  # per axis, for anti-aliasing


def rounded_square(x, y, margin=24, radius=104):
    lo, hi = margin, SIZE - margin
    cx = min(max(x, lo + radius), hi - radius)
    cy = min(max(y, lo + radius), hi - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius and lo <= x <= hi and lo <= y <= hi


def segment_distance(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


NODES = [(150, 256, 54), (368, 160, 46), (368, 352, 46)]
WIRES = [((150, 256), (368, 160)), ((150, 256), (368, 352))]


def shade(x, y):
    """The colour at one sample point, or None outside the icon."""
    if not rounded_square(x, y):
        return None
    t = (x + y) / (2 * SIZE)
    bg = (int(37 + (30 - 37) * t), int(99 + (64 - 99) * t), int(235 + (175 - 235) * t))
    for cx, cy, r in NODES:
        d = math.hypot(x - cx, y - cy)
        if d <= r - 16:
            return (125, 211, 252)  # the node's light core
        if d <= r:
            return (255, 255, 255)
    for (ax, ay), (bx, by) in WIRES:
        if segment_distance(x, y, ax, ay, bx, by) <= 13:
            return (255, 255, 255)
    return bg


def main():
    rows = []
    for j in range(SIZE):
        row = bytearray([0])  # filter: none
        for i in range(SIZE):
            acc = [0, 0, 0, 0]
            for sj in range(SAMPLES):
                for si in range(SAMPLES):
                    c = shade(i + (si + 0.5) / SAMPLES, j + (sj + 0.5) / SAMPLES)
                    if c is not None:
                        acc[0] += c[0]
                        acc[1] += c[1]
                        acc[2] += c[2]
                        acc[3] += 1
            n = acc[3]
            if n:
                row += bytes([acc[0] // n, acc[1] // n, acc[2] // n, 255 * n // (SAMPLES * SAMPLES)])
            else:
                row += b"\0\0\0\0"
        rows.append(bytes(row))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0))  # 8-bit RGBA
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
    png += chunk(b"IEND", b"")
    with open("assets/icons/icon.png", "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main()
