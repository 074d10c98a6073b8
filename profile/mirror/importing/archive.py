"""Trakt's data export, read in place: a `.zip` (trakt-export-<slug>.zip) or a folder of its
files, one JSON file per page of one API answer.

Nothing is extracted to disk and only one page is held at a time. A section of more than one
page comes as `<name>-1.json`, `<name>-2.json`, ... (always glob `<name>(-N)?.json`, in page
order). Whatever could hurt the site is refused with one line (`ExportRefused`): a file that
is not a ZIP, a truncated one, paths that climb out (`../`), a member or a whole larger than
the caps however small its compressed size (a bomb), and JSON that does not parse.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from profile.client.http import json_from_bytes

# A page holds at most 250 items (a few hundred KB, minified); a whole export of 100,000
# plays is some 100 MB. Far beyond either is not an export.
MEMBER_MAX_BYTES = 64 * 1024 * 1024
TOTAL_MAX_BYTES = 2 * 1024 * 1024 * 1024
MAX_MEMBERS = 50_000
PAGE = re.compile(r"(?P<name>_?[a-z0-9][a-z0-9_-]*?)(?:-(?P<page>[0-9]{1,6}))?\.json")
PAGE_SUFFIX = re.compile(r"-([0-9]{1,6})\.json")
# The files only an export has: one of them must be there.
MARKERS = ("user-profile", "watched-history")


class ExportRefused(Exception):
    """The file is not an export the site can read; the message says why, in one line."""


class Archive:
    """The export's files by name (without any folder they sit in), read one at a time."""

    def __init__(self, path: Path):
        self.path = path
        self._members: dict[str, Any] = {}  # file name -> what reads it
        self.as_of: datetime | None = None  # the newest file's own date

    @classmethod
    def open(cls, path: str | Path) -> Archive:
        path = Path(path)
        if path.is_dir():
            archive: Archive = _Folder(path)
        elif path.is_file():
            archive = _Zip(path)
        elif path.exists():
            raise ExportRefused(f"{path} is neither a .zip file nor a folder.")
        else:
            raise ExportRefused(f"{path} does not exist.")
        if not any(archive.section(name) for name in MARKERS):
            raise ExportRefused(
                f"{path.name} is not a Trakt export: it has neither user-profile.json nor "
                "watched-history.json (download it at trakt.tv: Settings, Data, Export)."
            )
        return archive

    def close(self) -> None:
        pass

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def section(self, name: str) -> list[str]:
        """The files of one section, in page order: `name.json`, or `name-1.json`, ... Matched
        on the whole name: a list's slug may end in digits (lists-list-7-top-10.json)."""
        pages = []
        for member in self._members:
            if member == f"{name}.json":
                pages.append((0, member))
            elif member.startswith(f"{name}-"):
                page = PAGE_SUFFIX.fullmatch(member, len(name))
                if page:
                    pages.append((int(page[1]), member))
        return [member for _, member in sorted(pages)]

    def read(self, member: str) -> Any:
        """One file's JSON; a file that does not parse refuses the whole export."""
        data = self._bytes(member)
        try:
            return json_from_bytes(data)
        except ValueError:
            raise ExportRefused(f"{member} in {self.path.name} is not valid JSON.") from None

    def pages(self, name: str) -> Iterator[Any]:
        for member in self.section(name):
            yield self.read(member)

    def items(self, name: str) -> Iterator[Any]:
        """The items of a paged section (each page a JSON list), page after page."""
        for page in self.pages(name):
            if not isinstance(page, list):
                raise ExportRefused(f"{name} in {self.path.name} is not a list of items.")
            yield from page

    def one(self, name: str) -> Any | None:
        """A section of one object (user-profile, user-stats); None when it is missing."""
        members = self.section(name)
        return self.read(members[0]) if members else None

    def check(self) -> None:
        """Read every file once, so that a bad one refuses the export before anything is
        written (pages are parsed and dropped: memory stays at one page)."""
        for member in self._members:
            if PAGE.fullmatch(member):
                self.read(member)

    def _bytes(self, member: str) -> bytes:
        raise NotImplementedError


def _checked_name(raw: str, where: str) -> str | None:
    """A member's file name, or None for what is not a file of the export (folders, macOS
    metadata). A path that climbs out, or an absolute one, refuses the whole export."""
    path = PurePosixPath(raw.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", raw):
        raise ExportRefused(f"{where} holds a path outside itself ({raw[:80]!r}): not an export.")
    if raw.endswith("/") or "__MACOSX" in path.parts or path.name.startswith("."):
        return None
    return path.name


class _Zip(Archive):
    def __init__(self, path: Path):
        super().__init__(path)
        try:
            self._zip = zipfile.ZipFile(path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, EOFError, OSError, ValueError):
            raise ExportRefused(
                f"{path.name} is not a ZIP file, or it is damaged or cut short: download the "
                "export again."
            ) from None
        if len(infos) > MAX_MEMBERS:
            raise ExportRefused(f"{path.name} holds {len(infos):,} files: not an export.")
        total = 0
        for info in infos:
            name = _checked_name(info.filename, path.name)
            if name is None:
                continue
            total += info.file_size
            if info.file_size > MEMBER_MAX_BYTES or total > TOTAL_MAX_BYTES:
                raise _too_big(path.name)
            self._members[name] = info
            stamp = datetime(*info.date_time, tzinfo=UTC)
            self.as_of = max(self.as_of or stamp, stamp)

    def close(self) -> None:
        self._zip.close()

    def _bytes(self, member: str) -> bytes:
        info = self._members[member]
        try:
            with self._zip.open(info) as stream:
                # The declared size may lie: never read past the cap, whatever it says.
                data = stream.read(MEMBER_MAX_BYTES + 1)
        except (
            zipfile.BadZipFile,
            EOFError,
            OSError,
            NotImplementedError,
            RuntimeError,
            zlib.error,
        ):
            raise ExportRefused(
                f"{member} in {self.path.name} cannot be read: the ZIP is damaged or cut short."
            ) from None
        if len(data) > MEMBER_MAX_BYTES:
            raise _too_big(self.path.name)
        return data


class _Folder(Archive):
    def __init__(self, path: Path):
        super().__init__(path)
        files = [child for child in path.iterdir() if child.is_file()]
        if len(files) > MAX_MEMBERS:
            raise ExportRefused(f"{path} holds {len(files):,} files: not an export.")
        total = 0
        for child in files:
            if child.is_symlink() or child.name.startswith("."):
                continue  # a link could point anywhere on the machine
            size = child.stat().st_size
            total += size
            if size > MEMBER_MAX_BYTES or total > TOTAL_MAX_BYTES:
                raise _too_big(path.name)
            self._members[child.name] = child
            stamp = datetime.fromtimestamp(child.stat().st_mtime, UTC)
            self.as_of = max(self.as_of or stamp, stamp)

    def _bytes(self, member: str) -> bytes:
        with self._members[member].open("rb") as stream:
            data = stream.read(MEMBER_MAX_BYTES + 1)
        if len(data) > MEMBER_MAX_BYTES:
            raise _too_big(self.path.name)
        return data


def _too_big(where: str) -> ExportRefused:
    return ExportRefused(
        f"{where} expands past {MEMBER_MAX_BYTES // 2**20} MB a file or "
        f"{TOTAL_MAX_BYTES // 2**30} GB in all: not an export."
    )
