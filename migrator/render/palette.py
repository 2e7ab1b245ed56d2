"""The colours every renderer draws with: fixed signal colours and one hue per app.

Pure (stdlib only), shared by the DOT, lane and HTML renderers.
"""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Iterable

GOLDEN_ANGLE = 137.508  # degrees: steps that keep landing between the hues already taken


def label_hue(label: str) -> float:
    """Where an app's colour starts, in degrees: from its label alone, never its position."""
    return int(hashlib.sha256(label.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF * 360


def app_hues(labels: Iterable[str]) -> dict[str, float]:
    """A hue per app, in degrees: its :func:`label_hue`, unless an app earlier in label
    order already has one too close to tell apart; then it moves on by the golden angle
    until it is clear (or keeps the clearest place found). The closeness allowed shrinks
    as apps get many, so that a large project still finds room.

    Called with all the project's apps, so every drawing of the project (filtered,
    focused or whole) gives an app the same colour; an app only moves when its own
    hue would be confused with another's."""
    ordered = sorted(set(labels))
    gap = min(30.0, 180.0 / max(len(ordered), 1))
    taken: dict[str, float] = {}

    def clearance(hue: float) -> float:
        return min((abs((hue - other + 180) % 360 - 180) for other in taken.values()), default=360)

    for label in ordered:
        hue = best = label_hue(label)
        for _ in range(24):
            if clearance(hue) >= gap:
                best = hue
                break
            best = max(best, hue, key=clearance)
            hue = (hue + GOLDEN_ANGLE) % 360
        taken[label] = best
    return taken


def app_colours(hue: float) -> dict[str, str]:
    """The colours drawn for an app of this hue (degrees): node fill, cluster background,
    border."""

    def hls(lightness: float, saturation: float) -> str:
        red, green, blue = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
        return "#{:02x}{:02x}{:02x}".format(*(round(c * 255) for c in (red, green, blue)))

    return {"fill": hls(0.85, 0.65), "background": hls(0.96, 0.5), "border": hls(0.35, 0.5)}


RED = "#c62828"


RED_FILL = "#ffd6d6"


ORANGE = "#e07b00"


GREY = "#8a939c"


SAME_APP_EDGE = "#4f5b66"


CROSS_APP_EDGE = "#a9b4be"

#: --since / --against: the migrations this branch adds, those the merged branch brings.
ADDED_BLUE = "#1565c0"
INCOMING_PURPLE = "#7b1fa2"
