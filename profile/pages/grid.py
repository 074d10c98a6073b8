"""A show's seasons drawn as grids of episodes: a square each, marked by how often it was played.

Drawn in Python as one string, like the charts: a long-running show has hundreds of episodes,
and a template would take longer to draw them than the rest of the page. Each square names
its episode in a tooltip; the grid itself is hidden from screen readers, which hear the same
as one sentence per season (`summary`).
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from profile import formatting
from profile.mirror.detail import SeasonGrid


def _runs(numbers: list[int]) -> str:
    """ "1-6, 8, 10": numbers in order, runs of three or more as a range."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 < len(numbers) and numbers[i + 1] == n + 1:
            continue
        if n - start >= 2:
            parts.append(f"{start}–{n}")
        else:
            parts.extend(str(k) for k in range(start, n + 1))
        start = None
    return ", ".join(parts)


def summary(season: SeasonGrid) -> str:
    """The grid as a sentence: "Season 2: episodes 1–6, 8 watched (2 and 5 more than
    once); 7, 9–10 not watched." """
    watched = [cell.number for cell in season.cells if cell.plays]
    again = [cell.number for cell in season.cells if cell.plays > 1]
    missing = [cell.number for cell in season.cells if not cell.plays]
    parts = []
    if watched:
        part = f"episodes {_runs(watched)} watched"
        if again:
            part += f" ({_runs(again)} more than once)"
        parts.append(part)
    if missing:
        parts.append(f"{_runs(missing)} not watched")
    return f"{season.name}: " + "; ".join(parts) + "."


def episode_grid(season: SeasonGrid) -> SafeString:
    """The squares of one season (aria-hidden: `summary` says it in words)."""
    squares = []
    for cell in season.cells:
        css = "episode-cell--more" if cell.plays > 1 else "episode-cell--once" if cell.plays else ""
        tip = f"{formatting.episode_code(season.number, cell.number)} · {cell.label}"
        squares.append(f'<li class="episode-cell {css}" title="{escape(tip)}">{cell.number}</li>')
    return mark_safe(  # the only text, the tooltips, is escaped above
        '<ol class="episode-grid" aria-hidden="true">' + "".join(squares) + "</ol>"
    )
