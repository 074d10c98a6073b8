"""Template filters for figures, by the rules of profile/formatting.py."""

from django import template

from profile import formatting

register = template.Library()


@register.filter
def grouped(number) -> str:
    """1078 -> "1,078"."""
    try:
        return formatting.grouped(int(number))
    except (TypeError, ValueError):
        return ""


@register.filter
def watch_time(minutes) -> str:
    try:
        return formatting.watch_time(int(minutes))
    except (TypeError, ValueError):
        return ""
