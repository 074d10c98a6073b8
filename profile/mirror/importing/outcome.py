"""What an import did (`ImportOutcome`, its one-line summary), and the items of a page read
one at a time: an item of a shape the site cannot read costs itself only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel, ValidationError

from profile import formatting
from profile.mirror.importing.archive import ExportRefused


@dataclass
class ImportOutcome:
    plays: int = 0  # in the mirror afterwards
    new: int = 0
    ratings: int = 0
    # The library in the mirror afterwards (None: the export holds no such section).
    favorites: int | None = None
    watchlist: int | None = None
    lists: int | None = None
    comments: int | None = None
    skipped: int = 0  # items of a shape the site cannot read (each costs itself only)
    data_as_of: datetime | None = None
    slug: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (
            f"{formatting.counted(self.plays, 'play')} ({formatting.grouped(self.new)} new), "
            f"{formatting.counted(self.ratings, 'rating')}"
        )
        for count, noun in (
            (self.favorites, "favourite"),
            (self.watchlist, "watchlist item"),
            (self.lists, "list"),
            (self.comments, "comment"),
        ):
            if count is not None:
                line += f", {formatting.counted(count, noun)}"
        if self.data_as_of is not None:
            line += f"; data as of {formatting.local_date(self.data_as_of).isoformat()}"
        return line


def valid_items(page, model: type[BaseModel], outcome: ImportOutcome, member: str) -> Iterator:
    """A page's items checked into `model`: an item of another shape costs itself only."""
    if not isinstance(page, list):
        raise ExportRefused(f"{member} is not a list of items.")
    for item in page:
        try:
            yield model.model_validate(item)
        except ValidationError:
            outcome.skipped += 1
