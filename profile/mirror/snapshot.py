"""The owner's profile and stats as the last imported Trakt export held them: what the site
shows in their place when it has no Trakt API app to ask (settings.EXPORT_ONLY)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from profile.client import TraktProfile, TraktStats
from profile.mirror.state import cached, mirror
from profile.models import TraktSnapshot


@dataclass(frozen=True)
class Snapshot:
    slug: str
    profile: TraktProfile | None
    stats: TraktStats | None
    data_as_of: datetime


def snapshot() -> Snapshot | None:
    """The last import's profile and stats; None before any import. Read once per mirror
    version (an import moves it), not once per page."""
    return cached(mirror(), "export-snapshot", _read) or None


def _read() -> Snapshot | bool:
    row = TraktSnapshot.objects.row().first()
    if row is None:
        return False  # kept as such: the cache does not keep None
    return Snapshot(row.slug, _valid(TraktProfile, row.profile), _valid(TraktStats, row.stats),
                    row.data_as_of)  # fmt: skip


def _valid(model, data: dict):
    try:
        return model.model_validate(data) if data else None
    except ValidationError:
        return None
