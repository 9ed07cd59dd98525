"""HTTP content negotiation (RFC 9110 section 12.5.1): the media type an ``Accept`` header
prefers among those a route offers."""

from __future__ import annotations

from collections.abc import Sequence

MAX_RANGES = 64
"""Media ranges read from one Accept header (the rest are ignored)."""


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of each media range, in the order given; malformed ones skipped."""
    found = []
    for part in accept.split(",")[:MAX_RANGES]:
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if media.count("/") != 1:
            continue
        kind, subtype = media.split("/")
        if not kind or not subtype or (kind == "*" and subtype != "*"):
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # NaN too: it compares false
                    quality = 0.0
        found.append((kind, subtype, quality))
    return found


def choose(accept: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type the client prefers, None if it accepts none of them.

    Each offered type takes the quality of the most specific range that matches it
    (``type/subtype``, then ``type/*``, then ``*/*``); the highest quality wins, ties
    going to the type the client names explicitly, then to the server's order
    (``offered``). No Accept header accepts everything."""
    if accept is None or not accept.strip():
        return offered[0] if offered else None
    ranges = _ranges(accept)
    best: tuple[float, int, int, str] | None = None
    for position, media in enumerate(offered):
        kind, subtype = media.split("/")
        match: tuple[int, float] | None = None  # (specificity, q)
        for range_kind, range_subtype, quality in ranges:
            if (range_kind, range_subtype) == (kind, subtype):
                specificity = 2
            elif range_kind == kind and range_subtype == "*":
                specificity = 1
            elif range_kind == "*":
                specificity = 0
            else:
                continue
            if match is None or specificity > match[0]:
                match = (specificity, quality)
        if match is None or match[1] <= 0.0:
            continue
        candidate = (match[1], match[0], -position, media)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[3]
