"""Server-rendered SVG charts: no chart library in the browser, nothing added to the CSP.

Text in a chart is drawn at the page's own size (12 px, site.css) at every width, the same in
every chart: a chart is never scaled. The column charts stretch to their box instead, their
columns placed in percentages of its width (their heights in pixels); the heatmap, whose
squares must stay square, keeps its own size and scrolls sideways where it does not fit.
Coloured by CSS classes and `currentColor` (site.css gives light and dark colours), each
carries its numbers as text: an `aria-label` sentence on the SVG (role="img") and a table the
page offers beside it. The SVG holds no script, no style attribute and no outside reference.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from profile import formatting
from profile.mirror.queries import Bucket, Day
from profile.mirror.review import Month


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    label: str  # the numbers in a sentence (the SVG's aria-label)
    head: tuple[str, ...] = ()  # the table beside it: column names
    rows: list[tuple[str, ...]] = field(default_factory=list)


def _svg(width: str, height: int, label: str, body: list[str], kind: str) -> SafeString:
    """An SVG drawn at its own size: `width` in pixels, or "100%" of its box (then its body
    places things in percentages across it); `height` in pixels."""
    drawing = "".join(body)
    # An image, unless its parts are links (`_part`): a group, so they can be reached, which
    # is not a stop of the Tab key itself (Chromium would make it one).
    role = 'role="group" tabindex="-1"' if 'class="chart-part"' in drawing else 'role="img"'
    return mark_safe(  # every piece of text in `body` is escaped where it is made
        f'<svg class="chart-svg chart-svg--{kind}" width="{width}" height="{height}" '
        f'{role} aria-label="{escape(label)}" focusable="false">' + drawing + "</svg>"
    )


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def _text(x: float | str, y: float, text: str, css: str = "axis", anchor: str = "middle") -> str:
    x = x if isinstance(x, str) else f"{x:g}"
    return f'<text class="{css}" x="{x}" y="{y:g}" text-anchor="{anchor}">{escape(text)}</text>'


def _plays(n: int) -> str:
    return formatting.counted(n, "play")


def _part(href: str | None, tip: str, tag: str, attributes: str) -> str:
    """One part of a chart (a day's square, a bar) and its figures (`tip`). With `href`, a link
    into the diary whose name is those figures (an SVG <title> names its parent): reachable
    by keyboard, and static/js/charts.js shows the figures on focus and tap. Without, the
    drawing alone, the figures as its tooltip."""
    if href is None:
        return f"<{tag} {attributes}><title>{escape(tip)}</title></{tag}>"
    return (
        f'<a class="chart-part" href="{escape(href)}"><title>{escape(tip)}</title>'
        f"<{tag} {attributes}/></a>"
    )


# --- The heatmap: 53 weeks, one cell a day ------------------------------------------------------

# Drawn at this size, in pixels (it scrolls sideways in a narrower box): 53 weeks of squares.
CELL, STEP = 13, 16
HEAT_LEFT, HEAT_TOP = 32, 18
HEAT_DAY = "heat-day"  # the square every day's cell places (an id: one heatmap per page)


def heat_levels(days: Sequence[Day]) -> tuple[int, int, int]:
    """The minutes that end levels 1, 2 and 3 (quartiles of the days with plays); level 4
    is above. At least 1, 2, 3 minutes apart, so a quiet year still has four shades."""
    minutes = sorted(day.minutes for day in days if day.plays)
    if not minutes:
        return (30, 60, 120)
    q1, q2, q3 = (minutes[min(len(minutes) - 1, len(minutes) * k // 4)] for k in (1, 2, 3))
    q1 = max(q1, 1)
    q2 = max(q2, q1 + 1)
    q3 = max(q3, q2 + 1)
    return (q1, q2, q3)


def level(day: Day, levels: tuple[int, int, int]) -> int:
    if not day.plays:
        return 0
    return 1 + sum(day.minutes > bound for bound in levels)


def heatmap(days: Sequence[Day], end: date, link: Callable[[date], str] | None = None) -> Chart:
    """`days`: every day of the range, which starts on a Monday (queries.heatmap_range);
    `link`: each day's page (the diary of that day)."""
    levels = heat_levels(days)
    start = days[0].date if days else end
    weeks = (end - start).days // 7 + 1
    width, height = HEAT_LEFT + weeks * STEP, HEAT_TOP + 7 * STEP
    # One square drawn once and placed 371 times: a third of the heatmap's weight saved.
    body = [f'<defs><rect id="{HEAT_DAY}" width="{CELL}" height="{CELL}" rx="2"/></defs>']
    body += [
        _text(HEAT_LEFT - 6, HEAT_TOP + row * STEP + 11, name, "axis", "end")
        for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri"))
    ]
    labelled_month = None
    for day in days:
        week, row = (day.date - start).days // 7, day.date.weekday()
        x, y = HEAT_LEFT + week * STEP, HEAT_TOP + row * STEP
        if day.date.day <= 7 and row == 0 and labelled_month != day.date.month and week < weeks - 1:
            body.append(_text(x, 12, calendar.month_abbr[day.date.month], "axis", "start"))
            labelled_month = day.date.month
        tip = f"{day.date:%a} {day.date.day} {day.date:%b %Y}: " + (
            f"{formatting.counted(day.plays, 'play')}, {formatting.watch_time(day.minutes)}"
            if day.plays
            else "nothing"
        )
        square = f'href="#{HEAT_DAY}" class="heat-{level(day, levels)}" x="{x}" y="{y}"'
        body.append(_part(link(day.date) if link else None, tip, "use", square))
    active = [day for day in days if day.plays]
    plays = sum(day.plays for day in days)
    minutes = sum(day.minutes for day in days)
    label = (
        f"Plays per day from {start:%-d %B %Y} to {end:%-d %B %Y}: {formatting.counted(plays, 'play')} on "
        f"{formatting.grouped(len(active))} days, {formatting.watch_time(minutes)} in all"
    )
    if active:
        busiest = max(active, key=lambda day: (day.minutes, day.plays))
        label += (
            f"; the busiest day was {busiest.date:%-d %B %Y} ({formatting.counted(busiest.plays, 'play')}, "
            f"{formatting.watch_time(busiest.minutes)})"
        )
    rows = _by_month(days)
    return Chart(
        _svg(str(width), height, label + ".", body, "heatmap"),
        label + ".",
        ("Month", "Days with plays", "Plays", "Time"),
        rows,
    )


def _by_month(days: Sequence[Day]) -> list[tuple[str, ...]]:
    months: dict[tuple[int, int], list[int]] = {}
    for day in days:
        figures = months.setdefault((day.date.year, day.date.month), [0, 0, 0])
        figures[0] += day.plays > 0
        figures[1] += day.plays
        figures[2] += day.minutes
    return [
        (
            f"{calendar.month_name[month]} {year}",
            str(active),
            formatting.grouped(plays),
            formatting.watch_time(minutes),
        )
        for (year, month), (active, plays, minutes) in months.items()
    ]


@dataclass(frozen=True)
class LegendStep:
    level: int
    text: str


def heat_legend(days: Sequence[Day]) -> list[LegendStep]:
    q1, q2, q3 = heat_levels(days)
    time = formatting.watch_time
    return [
        LegendStep(0, "nothing"),
        LegendStep(1, f"up to {time(q1)}"),
        LegendStep(2, f"up to {time(q2)}"),
        LegendStep(3, f"up to {time(q3)}"),
        LegendStep(4, f"more than {time(q3)}"),
    ]


# --- Columns ------------------------------------------------------------------------------------

# Pixels above the columns (the peak's figure) and below them (the labels).
COL_TOP, COL_BOTTOM = 18, 20
# Each column takes this share of its slot: the rest is the gap between columns.
COL_FILL = 0.78


def _slot(i: int, count: int) -> tuple[float, float, float]:
    """Column `i` of `count` across the whole width, in percent: its left, width and middle."""
    step = 100 / count
    width = step * COL_FILL
    left = i * step + (step - width) / 2
    return left, width, left + width / 2


def _baseline(y: float) -> str:
    return f'<line class="baseline" x1="0" x2="100%" y1="{y + 0.5:g}" y2="{y + 0.5:g}"/>'


def columns(
    buckets: Sequence[Bucket],
    *,
    what: str,
    label_every: int = 1,
    height: int = 90,
    value: str = "plays",
    unit: str = "",
    extra: Sequence[str] = (),
    links: Sequence[str] | None = None,
) -> Chart:
    """One column per bucket (hours, weekdays, ratings), the highest marked, across the whole
    width of its box. `value` is the bucket's figure drawn (plays or minutes); `unit` how it
    reads (plays, minutes, count); `links` each column's page (the diary of that hour or
    weekday)."""
    values = [getattr(bucket, value) for bucket in buckets]
    unit = unit or value
    top = max(values, default=0) or 1
    base = COL_TOP + height
    body = [_baseline(base)]
    peak = values.index(max(values)) if any(values) else -1
    for i, (bucket, amount) in enumerate(zip(buckets, values, strict=True)):
        left, width, middle = _slot(i, len(buckets))
        tall = round(amount / top * height, 1)
        css = " ".join(["bar", *extra[i : i + 1], *(["bar--peak"] if i == peak else [])])
        tip = f"{bucket.label}: {_amount(amount, unit)}"
        rect = (
            f'class="{css}" x="{_pct(left)}" y="{base - tall:g}" width="{_pct(width)}" '
            f'height="{max(tall, 0):g}" rx="1.5"'
        )
        body.append(_part(links[i] if links else None, tip, "rect", rect))
        if i % label_every == 0:
            body.append(_text(_pct(middle), base + 15, bucket.label))
    if peak >= 0:
        middle = _slot(peak, len(buckets))[2]
        tall = round(values[peak] / top * height, 1)
        body.append(_text(_pct(middle), base - tall - 4, formatting.grouped(values[peak]), "peak"))
    total = sum(values)
    label = f"{what}: " + ", ".join(
        f"{bucket.label} {formatting.grouped(amount)}"
        for bucket, amount in zip(buckets, values, strict=True)
    )
    if peak >= 0:
        most, of = _amount(values[peak], unit), _amount(total, unit)
        label += f". Most: {buckets[peak].label} ({most} of {of})"
    return Chart(
        _svg("100%", base + COL_BOTTOM, label + ".", body, "columns"),
        label + ".",
        (what.split(" by ")[-1].capitalize() if " by " in what else "", value.capitalize()),
        [
            (bucket.label, _amount(amount, value))
            for bucket, amount in zip(buckets, values, strict=True)
        ],
    )


def _amount(amount: int, value: str) -> str:
    if value == "minutes":
        return formatting.watch_time(amount)
    if value == "plays":
        return _plays(amount)
    return formatting.grouped(amount)


def hours_chart(hours: Sequence[Bucket], links: Sequence[str] | None = None) -> Chart:
    return columns(hours, what="Plays by hour of the day", label_every=3, links=links)


def weekdays_chart(weekdays: Sequence[Bucket], links: Sequence[str] | None = None) -> Chart:
    return columns(weekdays, what="Plays by weekday", height=80, links=links)


def ratings_chart(distribution: dict[str, int]) -> Chart:
    buckets = [Bucket(str(n), distribution.get(str(n), 0), 0) for n in range(1, 11)]
    return columns(buckets, what="Ratings given, by rating", height=80, unit="count")


def spread_chart(spread: Sequence[tuple[int, int]]) -> Chart:
    """How far the owner's ratings are from the community's, in whole points: -9 to +9,
    coloured by side (below the community, level with it, above it)."""
    buckets = [Bucket(f"{k:+d}" if k else "0", n, 0) for k, n in spread]
    sides = ["lower" if k < 0 else "higher" if k > 0 else "same" for k, _ in spread]
    chart = columns(
        buckets,
        what="The owner's rating less the community's, in points",
        height=70,
        unit="count",
        label_every=3,
        extra=[f"bar--{side}" for side in sides],
    )
    return Chart(chart.svg, chart.label, ("Difference", "Ratings"), chart.rows)


def months_chart(months: Sequence[Month], links: Sequence[str] | None = None) -> Chart:
    """Hours watched per month, movies and episodes stacked, across the whole width of the
    year page's card. `links`: each month's page (the diary of that month)."""
    height = 150
    base = COL_TOP + height
    top = max((m.minutes for m in months), default=0) or 1
    body = [_baseline(base)]
    for i, month in enumerate(months):
        left, width, middle = _slot(i, len(months))
        episodes = month.episode_minutes / top * height
        movies = month.movie_minutes / top * height
        tip = (
            f"{calendar.month_name[month.month]}: {formatting.watch_time(month.minutes)} "
            f"({formatting.counted(month.plays, 'play')}; movies {formatting.watch_time(month.movie_minutes)}, "
            f"episodes {formatting.watch_time(month.episode_minutes)})"
        )
        # A group: the two bars are one part (a link with `links`), named by its figures.
        opened = f'<a class="chart-part" href="{escape(links[i])}">' if links else "<g>"
        body.append(f"{opened}<title>{escape(tip)}</title>")
        body.append(
            f'<rect class="bar bar--episode" x="{_pct(left)}" y="{base - episodes:.1f}" '
            f'width="{_pct(width)}" height="{episodes:.1f}"/>'
        )
        body.append(
            f'<rect class="bar bar--movie" x="{_pct(left)}" y="{base - episodes - movies:.1f}" '
            f'width="{_pct(width)}" height="{movies:.1f}"/>'
        )
        body.append("</a>" if links else "</g>")
        body.append(_text(_pct(middle), base + 15, month.name[:3]))
    label = "Time watched per month: " + ", ".join(
        f"{m.name} {formatting.watch_time(m.minutes)}" for m in months
    )
    return Chart(
        _svg("100%", base + COL_BOTTOM, label + ".", body, "months"),
        label + ".",
        ("Month", "Plays", "Movies", "Episodes", "Time"),
        [
            (
                calendar.month_name[m.month],
                formatting.grouped(m.plays),
                formatting.watch_time(m.movie_minutes),
                formatting.watch_time(m.episode_minutes),
                formatting.watch_time(m.minutes),
            )
            for m in months
        ],
    )


# --- Meters: the bar beside a ranked row (genres, shows) ----------------------------------------


def meter(amount: int, top: int) -> SafeString:
    """A bar of `amount` out of `top`, as wide as its box (an HTML row holds the text)."""
    share = 0 if top <= 0 else round(100 * amount / top, 1)
    return mark_safe(
        '<svg class="meter" viewBox="0 0 100 4" preserveAspectRatio="none" aria-hidden="true" '
        f'focusable="false"><rect class="meter-track" width="100" height="4" rx="2"/>'
        f'<rect class="meter-fill" width="{share:g}" height="4" rx="2"/></svg>'
    )
