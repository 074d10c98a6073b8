"""`make bench`'s rows for the way in and the way out (issue 21):

- `import_trakt_export` of an export of 100,000 plays, made on the fly in Trakt's own shape:
  wall time and the process's peak memory (targets: under 60 s and 150 MB on the project's
  machine), with this machine's /healthz rate beside them, measured in the same run, to say
  how fast the machine was;
- `/api/export/history.csv` of 50,000 plays from gunicorn as `make serve` runs it: the time to
  its first byte and the worker's peak memory (its high-water mark, before and after).

    .venv/bin/python bench/transfer.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The export is made with the tests' own helpers, which read the models.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nowwatching.settings")
os.environ.setdefault("SECRET_KEY", "bench-only")

import django  # noqa: E402
from django.apps import apps  # noqa: E402

if not apps.ready:  # imported by a test, Django is set up (and its logging configured) already
    django.setup()

from bench.run import load, machine, manage  # noqa: E402
from tests.fake_upstream import FakeUpstream  # noqa: E402
from tests.servers import gunicorn, migrated_sqlite, site_env  # noqa: E402

IMPORT_PLAYS = 100_000
EXPORT_PLAYS = 50_000


def make_export(folder: Path, plays: int, ratings: int) -> Path:
    """The export, made by another process: making it here would leave this process large,
    and a child's peak memory (`wait4`) counts what it shared with its parent at birth."""
    code = (
        # bench.transfer sets Django up; the tests' helper then writes the export.
        "from pathlib import Path; import bench.transfer; "
        "from tests.mirror.exports import export; "
        f"print(export(Path({str(folder)!r}), history={plays}, ratings={ratings}))"
    )
    made = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=site_env({}), capture_output=True, text=True
    )
    if made.returncode:
        raise RuntimeError(made.stderr)
    return Path(made.stdout.strip().splitlines()[-1])


def peak_memory_mb(pid: int) -> float:
    """A process's high-water mark of resident memory (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def transfer_rows() -> list[tuple[str, bool]]:
    targets: list[tuple[str, bool]] = []
    owner = {"TRAKT_USERNAME": "sean", "TRAKT_API_KEY": "", "DEMO_MODE": ""}
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as fake:
        folder = Path(tmp)
        with gunicorn(fake.env(), workers=2) as site:
            health = load("`/healthz`", fake, site.url + "/healthz", 4, 16)
        print(f"Making an export of {IMPORT_PLAYS:,} plays…", flush=True)
        path = make_export(folder, IMPORT_PLAYS, 500)
        env = owner | {"DATABASE_URL": migrated_sqlite(folder)}
        seconds, peak, line = manage(env, "import_trakt_export", str(path), "--no-tmdb")
        targets.append(
            (
                f"import_trakt_export of {IMPORT_PLAYS:,} plays: {seconds:.1f} s, peak memory "
                f"{peak:.0f} MB ({line}); this machine's /healthz: {health.rate:.0f} req/s "
                "(target < 60 s and < 150 MB)",
                seconds < 60 and peak < 150,
            )
        )

        print(f"Exporting {EXPORT_PLAYS:,} plays from gunicorn…", flush=True)
        fifty = folder / "fifty"
        fifty.mkdir()
        path = make_export(fifty, EXPORT_PLAYS, 100)
        env = owner | {"DATABASE_URL": migrated_sqlite(fifty)}
        manage(env, "import_trakt_export", str(path), "--no-tmdb")
        with gunicorn(env | {"CACHE_URL": "dummycache://"}, workers=1) as site:
            urllib.request.urlopen(site.url + "/healthz").read()  # the worker is up
            (worker,) = worker_pids(site.process.pid)
            before = peak_memory_mb(worker)
            started = time.monotonic()
            with urllib.request.urlopen(site.url + "/api/export/history.csv") as answer:
                answer.read(1)
                first_byte = time.monotonic() - started
                size = 1 + sum(len(chunk) for chunk in iter(lambda: answer.read(65536), b""))
            whole = time.monotonic() - started
            after = peak_memory_mb(worker)
        targets.append(
            (
                f"/api/export/history.csv of {EXPORT_PLAYS:,} plays ({size / 2**20:.1f} MB): "
                f"first byte after {first_byte * 1000:.0f} ms, all of it in {whole:.1f} s; the "
                f"worker's peak memory {before:.0f} MB before, {after:.0f} MB after "
                "(target: streamed: the first byte within 500 ms, the peak up by under 32 MB)",
                first_byte < 0.5 and after - before < 32,
            )
        )
    return targets


def main() -> int:
    print(f"Machine: {machine()}", flush=True)
    targets = transfer_rows()
    print()
    for text, holds in targets:
        print(f"{'holds' if holds else 'FAILS'}: {text}")
    return 0 if all(holds for _, holds in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
