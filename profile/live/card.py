"""The embeddable SVG card (GET /api/watching.svg), for README files and other sites.

It reads the same cached answers as /api/watching (and, when idle, the cached last
watched item), so an embedded card costs no extra Trakt call. Image proxies such as
GitHub's load nothing an SVG refers to, so the artwork is inlined as a `data:` URI and
the card refers to nothing outside itself. Every text goes through the template's
autoescaping, after `_xml_text()` has dropped what XML cannot hold at all.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.template.loader import render_to_string

from profile import formatting
from profile.client import HistoryItem, UpstreamError
from profile.live.answers import get_last_watched, get_watching
from profile.live.poll import get_image_bytes
from profile.live.watching import NowWatching, history_lines

HEIGHT = 150
DEFAULT_WIDTH = 480
MIN_WIDTH = 320
MAX_WIDTH = 800
PADDING = 24
DEFAULT_THEME = "dark"
THEMES = {
    # The site's own colour tokens (static/css/site.css).
    "dark": {"bg": "#0f1117", "text": "#eef0f5", "muted": "#a9b0c0", "accent": "#ff5a6e",
             "border": "#2a2f3c", "track": "#2a2f3c", "shade": "#0f1117"},
    "light": {"bg": "#ffffff", "text": "#161a23", "muted": "#555d6e", "accent": "#c8102e",
              "border": "#dde1ea", "track": "#dde1ea", "shade": "#ffffff"},
}  # fmt: skip
# Text is cut to fit by an estimate of its width; average glyph width per font size.
GLYPH_WIDTH = {"title": 0.6 * 22, "subtitle": 0.55 * 15, "meta": 0.55 * 13, "label": 0.72 * 12}
# The preview a README shows may be opened as a document: then nothing may run or load.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

# Characters XML 1.0 cannot hold even escaped (control characters, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Card:
    """What one card says; `render()` lays it out."""

    label: str
    title: str
    subtitle: str | None = None
    meta: list[str] = field(default_factory=list)
    percentage: int | None = None
    image: str | None = None  # a data: URI
    poster: bool = False  # the image is a 2:3 poster, not a 16:9 backdrop or still
    alert: bool = False


def watching_card(now: datetime | None = None) -> Card:
    """The card for what plays now, else the last watched item, else a plain idle card."""
    now = now or datetime.now(UTC)
    answer = get_watching()
    if answer.watching is not None:
        return _playing_card(answer.watching, now)
    if answer.error is not None:
        return Card(
            label="Now watching on Trakt",
            title="Unavailable right now",
            meta=[answer.error.message],
            alert=True,
        )
    try:
        last = get_last_watched().value
    except UpstreamError:
        last = None
    if last is None:
        return Card(label="Now watching on Trakt", title="Nothing playing right now")
    return _last_watched_card(last, now)


def _playing_card(watching: NowWatching, now: datetime) -> Card:
    meta = [str(watching.year)] if watching.year else []
    paused = watching.progress.paused
    if paused is not None:
        meta.append(formatting.paused_for((now - paused).total_seconds()))
    meta.append(formatting.time_left(watching.progress.remaining_seconds(now)))
    image, poster = _inline_image(watching.images)
    doing = "Paused" if paused is not None else "Now watching"
    return Card(
        label=f"{doing} on {formatting.source_name(watching.source)}",
        title=watching.title,
        subtitle=watching.subtitle,
        meta=meta,
        percentage=watching.progress.percentage(now),
        image=image,
        poster=poster,
    )


def _last_watched_card(item: HistoryItem, now: datetime) -> Card:
    title, subtitle, year = history_lines(item)
    meta = [str(year)] if year else []
    meta.append(formatting.ago(datetime.fromisoformat(item.watched_at), now))
    return Card(label="Last watched on Trakt", title=title, subtitle=subtitle, meta=meta)


def _inline_image(images: dict[str, str]) -> tuple[str | None, bool]:
    """The small backdrop (or the still, or the poster) as a data: URI, and whether it is
    the poster; no image when fetching it failed."""
    for name in ("backdrop_small", "still", "poster"):
        if url := images.get(name):
            image = get_image_bytes(url)
            if image is None:
                return None, False
            encoded = base64.b64encode(image.data).decode("ascii")
            return f"data:{image.content_type};base64,{encoded}", name == "poster"
    return None, False


# --- Layout -----------------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    return " ".join(_NOT_XML.sub("", text).split())


def _fit(text: str, kind: str, width: int) -> str:
    """`text` cut with an ellipsis to about `width` pixels of its font (a clip path catches
    what the estimate misses)."""
    text = _xml_text(text)
    room = width / GLYPH_WIDTH[kind]
    used = 0.0
    for index, char in enumerate(text):
        # Chinese, Japanese and Korean glyphs are about twice as wide as Latin ones.
        used += 1.7 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > room:
            return text[: max(0, index - 1)].rstrip() + "…"
    return text


def card_options(query) -> tuple[str, int]:
    """`theme` and `width` from the query; anything unknown or malformed gets the default."""
    theme = query.get("theme", DEFAULT_THEME)
    if theme not in THEMES:
        theme = DEFAULT_THEME
    try:
        width = int(query.get("width", DEFAULT_WIDTH))
    except ValueError:
        width = DEFAULT_WIDTH
    return theme, min(MAX_WIDTH, max(MIN_WIDTH, width))


def _image_box(card: Card, width: int) -> dict[str, int] | None:
    """Where the image goes: a backdrop covers the card, a poster stands at the right."""
    if not card.image:
        return None
    if card.poster:
        poster_width = HEIGHT * 2 // 3
        return {"x": width - poster_width, "y": 0, "width": poster_width, "height": HEIGHT}
    # Sized here rather than by preserveAspectRatio, which an SVG image may override.
    height = max(HEIGHT, round(width * 9 / 16))
    return {"x": 0, "y": (HEIGHT - height) // 2, "width": width, "height": height}


def render(card: Card, *, theme: str = DEFAULT_THEME, width: int = DEFAULT_WIDTH) -> str:
    image = _image_box(card, width)
    # Text and the progress bar keep clear of a poster.
    text_width = width - 2 * PADDING - (image["width"] if image and card.poster else 0)
    track = text_width
    title = _fit(card.title, "title", text_width)
    subtitle = _fit(card.subtitle, "subtitle", text_width) if card.subtitle else None
    meta_parts = [*card.meta, "demo data"] if settings.DEMO_MODE else card.meta
    meta = _fit(" · ".join(meta_parts), "meta", text_width) if meta_parts else None
    # Without a progress bar (or a line) the text moves down, to stay in the middle.
    shift = 0 if card.percentage is not None else 30 - 10 * bool(subtitle) - 10 * bool(meta)
    watched = None if card.percentage is None else f"{card.percentage}% watched"
    description = " · ".join(part for part in (subtitle, meta, watched) if part)
    return render_to_string(
        "card/watching.svg",
        {
            "card": card,
            "image": image,
            "shift": shift,
            "colors": THEMES[theme],
            "width": width,
            "height": HEIGHT,
            "pad": PADDING,
            "label": _fit(card.label.upper(), "label", text_width),
            "title": title,
            "subtitle": subtitle,
            "meta": meta,
            "description": description,
            "track": track,
            "text_width": text_width,
            "filled": None if card.percentage is None else round(track * card.percentage / 100),
        },
    )
