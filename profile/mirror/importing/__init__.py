"""Trakt's data export merged into the mirror: the way in for owners without a Trakt API app
(only VIP accounts can own one since July 2026), and for anyone moving their history here.

`import_export(path)` is the one way in (`manage.py import_trakt_export`). It reads the
export in place (`archive.py`: nothing extracted, one page held at a time), checks every file
before it writes anything, and then writes one section per transaction: a failure leaves the
sections before it whole and the rest as they were, and a second run mends or repeats nothing
(plays are keyed on Trakt's history id, as the sync keys them, so importing and then syncing
from the API never counts a play twice). The history and ratings are written here, the
library (favourites, watchlist, public lists, comments) by `library.py`. It holds the sync's
lease meanwhile, so no sync writes at the same time.
"""

from __future__ import annotations

import logging
import zoneinfo
from pathlib import Path

from django.conf import settings
from django.db import reset_queries, transaction
from django.utils import timezone
from pydantic import BaseModel, ValidationError

from profile import formatting
from profile.client.schemas import HistoryPlay, RatedItem, TraktProfile, TraktStats
from profile.mirror.importing.archive import Archive, ExportRefused
from profile.mirror.importing.library import import_library
from profile.mirror.importing.outcome import ImportOutcome, valid_items
from profile.mirror.state import forget_mirror, owner_identity, state, version_moved
from profile.mirror.sync.lease import Lease
from profile.mirror.sync.outcome import Quiet, Reporter
from profile.mirror.sync.upkeep import refresh_runs, reset_mirror
from profile.mirror.sync.writer import Writer
from profile.models import OneRow, Play, SyncState, TraktSnapshot

__all__ = ["ExportRefused", "ImportOutcome", "import_export"]

log = logging.getLogger(__name__)

RATING_SECTIONS = ("ratings-movies", "ratings-shows", "ratings-episodes")
# Plays are written this many at a time: a page of the export, as the sync writes them.
BATCH = 250


def import_export(
    path: str | Path, *, replace: bool = False, reporter: Reporter | None = None
) -> ImportOutcome:
    """Merge the export at `path` (a .zip or a folder) into the mirror; the outcome says what
    it holds afterwards. Raises ExportRefused (one line: why) when the export cannot be read
    or is another person's, SyncBusy when a sync is running."""
    reporter = reporter or Quiet()
    if settings.DEMO_MODE:
        raise ExportRefused(
            "DEMO_MODE is on, so the site shows its demo data: set TRAKT_USERNAME to the "
            "export's owner (and leave DEMO_MODE unset) to import it."
        )
    with Archive.open(path) as archive:
        archive.check()  # every file parses: nothing is written from a broken export
        profile = _one(archive, "user-profile", TraktProfile)
        slug = _owner(archive, profile)
        outcome = ImportOutcome(slug=slug, data_as_of=archive.as_of or timezone.now())
        outcome.notes += _missing(archive)
        lease = Lease()
        lease.take()
        try:
            _claim_mirror(slug, replace, reporter)
            _store_snapshot(archive, profile, slug, outcome)
            writer = Writer(zoneinfo.ZoneInfo(settings.TIME_ZONE), partial=True)
            _import_history(archive, writer, outcome, reporter, lease)
            _import_ratings(archive, writer, outcome, lease)
            import_library(archive, writer, outcome, lease.renew)
            refresh_runs(lease.renew)
            _finish(outcome)
        finally:
            forget_mirror()
            lease.release()
    if outcome.skipped:
        outcome.notes.append(
            f"{formatting.counted(outcome.skipped, 'item')} of a shape the site cannot read "
            "were left out."
        )
    return outcome


def _owner(archive: Archive, profile: TraktProfile | None) -> str:
    """Whose export it is; it must be the site's TRAKT_USERNAME."""
    slug = (profile.ids.slug if profile else None) or settings.TRAKT_USERNAME
    if not slug:
        raise ExportRefused(
            f"{archive.path.name} does not say whose it is (no user-profile.json): set "
            "TRAKT_USERNAME to the owner's Trakt username."
        )
    username = settings.TRAKT_USERNAME
    if username and username.lower() != slug.lower():
        raise ExportRefused(
            f"This export is @{slug}'s, but TRAKT_USERNAME is {username}: set TRAKT_USERNAME "
            f"to {slug} to show this export, or import {username}'s own."
        )
    return slug


def _claim_mirror(slug: str, replace: bool, reporter: Reporter) -> None:
    """The mirror holds this person's history afterwards: another person's is refused unless
    `replace`; the demo's, or none, is replaced."""
    identity = owner_identity(slug)
    owner = state().owner
    if owner == identity:
        return
    if owner and owner != "demo" and Play.objects.exists() and not replace:
        whose = owner.rsplit("/", 1)[-1]
        raise ExportRefused(
            f"The mirror holds @{whose}'s history, and this export is @{slug}'s: run again "
            "with --replace to replace it (everything mirrored is deleted)."
        )
    if owner and Play.objects.exists():
        reporter.note(f"Replacing the mirrored history with @{slug}'s.")
    reset_mirror(identity)


def _store_snapshot(archive: Archive, profile, slug: str, outcome: ImportOutcome) -> None:
    stats = _one(archive, "user-stats", TraktStats)
    if profile is None and stats is None:
        return
    TraktSnapshot.objects.update_or_create(
        pk=OneRow.ID,
        defaults={
            "slug": slug,
            "profile": profile.model_dump(mode="json") if profile else {},
            "stats": stats.model_dump(mode="json") if stats else {},
            "data_as_of": outcome.data_as_of,
            "imported_at": timezone.now(),
        },
    )


def _import_history(archive, writer, outcome: ImportOutcome, reporter: Reporter, lease) -> None:
    pages = archive.section("watched-history")
    if not pages:
        return
    reporter.walk("import", 1, len(pages), 0)
    generation = state().generation
    with transaction.atomic():
        for number, member in enumerate(pages, start=1):
            plays = list(valid_items(archive.read(member), HistoryPlay, outcome, member))
            for start in range(0, len(plays), BATCH):
                new = writer.store_plays(plays[start : start + BATCH], generation)
                outcome.new += new
                SyncState.objects.row().update(**version_moved(new))
            lease.renew()
            reset_queries()  # with DEBUG on (`make run`), Django keeps every query's SQL
            reporter.page(number, len(pages), len(plays))


def _import_ratings(archive, writer, outcome: ImportOutcome, lease) -> None:
    generation = state().ratings_generation
    with transaction.atomic():
        for section in RATING_SECTIONS:
            for member in archive.section(section):
                rated = list(valid_items(archive.read(member), RatedItem, outcome, member))
                outcome.ratings += writer.store_ratings(rated, generation)
                lease.renew()
        if outcome.ratings:
            SyncState.objects.row().update(**version_moved())


def _finish(outcome: ImportOutcome) -> None:
    now = timezone.now()
    outcome.plays = Play.objects.count()
    st = state()
    SyncState.objects.row().update(
        # The export is the whole history as of its date: the sync, if one comes (an API
        # app later), carries on from its newest play rather than walking it all again.
        backfilled_at=st.backfilled_at or now,
        last_attempt_at=now,
        last_success_at=now,
        last_result=f"Imported: {outcome.summary()}"[:300],
        last_error="",
        time_zone=st.time_zone or settings.TIME_ZONE,
    )


def _one(archive: Archive, name: str, model: type[BaseModel]):
    """A section of one object, checked into `model`; None when missing or unreadable."""
    data = archive.one(name)
    if data is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError:
        log.warning("import: %s is not what Trakt's API answers; it is left out", name)
        return None


def _missing(archive: Archive) -> list[str]:
    """What `_errors.json` says Trakt could not export, one line each."""
    errors = archive.one("_errors")
    notes = []
    for entry in errors if isinstance(errors, list) else []:
        if not isinstance(entry, dict):
            continue
        what = str(entry.get("endpoint", "?"))[:100]
        why = str(entry.get("error", "an error"))[:200]
        fetched, total = entry.get("fetchedPages"), entry.get("totalPages")
        pages = f" ({fetched} of {total} pages)" if isinstance(total, int) else ""
        notes.append(f"Trakt could not export {what}{pages}: {why}. Those items are missing.")
    return notes
