"""`make run` gives the checkout a SECRET_KEY of its own in .env.local, so the README's
management commands work as written afterwards (they are not servers, but `trakt_login`
seals the owner's tokens with a key derived from SECRET_KEY: a made-up development key,
the same in every checkout, would be no protection at all)."""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nowwatching import local_env

ROOT = Path(__file__).resolve().parent.parent


def keys_in(path: Path) -> list[str]:
    return re.findall(r"(?m)^SECRET_KEY=(.*)$", path.read_text())


def test_a_fresh_checkout_gets_a_random_key_readable_by_its_owner_only(tmp_path):
    assert local_env.ensure_secret_key(tmp_path, {}) is True

    written = tmp_path / ".env.local"
    (key,) = keys_in(written)
    assert len(key) >= 50
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    other = tmp_path / "other"
    other.mkdir()
    local_env.ensure_secret_key(other, {})
    assert keys_in(other / ".env.local") != [key]  # each checkout its own


def test_an_empty_key_copied_from_env_example_is_filled_and_the_rest_kept(tmp_path):
    example = (ROOT / ".env.example").read_text()
    (tmp_path / ".env.local").write_text(example.replace("TRAKT_USERNAME=", "TRAKT_USERNAME=sean"))
    (tmp_path / ".env.local").chmod(0o644)

    assert local_env.ensure_secret_key(tmp_path, {}) is True

    text = (tmp_path / ".env.local").read_text()
    assert len(keys_in(tmp_path / ".env.local")) == 1
    assert "TRAKT_USERNAME=sean" in text
    assert text.count("\n") == example.count("\n")
    assert stat.S_IMODE((tmp_path / ".env.local").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("files", "environment"),
    [
        ({".env.local": "DEBUG=false\nSECRET_KEY=mine-and-long-enough\n"}, {}),
        ({".env.local": 'export SECRET_KEY="quoted"\n'}, {}),
        ({".env": "SECRET_KEY=from-dot-env\n"}, {}),
        ({}, {"SECRET_KEY": "from-the-environment"}),
    ],
)
def test_a_key_set_anywhere_is_never_touched(tmp_path, files, environment):
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    assert local_env.ensure_secret_key(tmp_path, environment) is False

    for name, text in files.items():
        assert (tmp_path / name).read_text() == text
    if ".env.local" not in files:
        assert not (tmp_path / ".env.local").exists()


def test_make_run_writes_the_key_before_it_migrates_and_serves():
    dry = subprocess.run(
        ["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout.splitlines()

    steps = [n for n, line in enumerate(dry) if "nowwatching.local_env" in line]
    migrate = next(n for n, line in enumerate(dry) if "manage.py migrate" in line)
    assert steps and steps[0] < migrate


def test_the_readmes_commands_work_as_written_after_make_run(tmp_path):
    """A copy of the checkout, set up as `make run` does it, then `manage.py trakt_status`
    with nothing in the environment (no SECRET_KEY, no DEBUG)."""
    checkout = tmp_path / "checkout"
    ignore = shutil.ignore_patterns(".venv", ".git", "__pycache__", "staticfiles", "db.sqlite3*")
    for name in ("manage.py", "nowwatching", "profile", "templates", "static"):
        source = ROOT / name
        target = checkout / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    bare = {"PATH": os.environ["PATH"]}

    def run(*args, **env):
        return subprocess.run(
            [sys.executable, *args], cwd=checkout, env=bare | env,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    before = run("manage.py", "trakt_status")
    assert "SECRET_KEY is not set" in before.stderr  # what the issue found

    assert run("-m", "nowwatching.local_env").returncode == 0
    assert run("manage.py", "migrate", "--noinput", DEBUG="true").returncode == 0
    status = run("manage.py", "trakt_status")

    assert status.returncode == 0, status.stderr
    assert "SECRET_KEY" not in status.stderr
