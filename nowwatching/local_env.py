"""A checkout's own SECRET_KEY, written by `make run` into .env.local (mode 600) when none is
set anywhere, so that `manage.py` commands work as the README writes them after `make run`.

Why a key of its own rather than commands that need none: `manage.py trakt_login` seals the
owner's Trakt tokens with a key derived from SECRET_KEY (SECURITY.md), so a development key
that is the same in every checkout would seal them with a key anyone can read; and a command
run with another key than the server's would store tokens the server cannot open. One random
key per checkout, read by the server and every command alike, is right in development and
remains right if the checkout is later served with `make serve`.

    python -m nowwatching.local_env    # does nothing when SECRET_KEY is already set

It reads no Django settings (they refuse to load without a key): it only looks at the
environment, .env.local and .env, as settings.py does.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# `SECRET_KEY=...` or `export SECRET_KEY=...`, as django-environ reads them.
_LINE = re.compile(r"^\s*(?:export\s+)?SECRET_KEY\s*=(.*)$", re.MULTILINE)


def _set_in(path: Path) -> bool:
    if not path.is_file():
        return False
    return any(value.strip().strip("'\"").strip() for value in _LINE.findall(path.read_text()))


def ensure_secret_key(folder: Path = BASE_DIR, environ: Mapping[str, str] = os.environ) -> bool:
    """Write a random SECRET_KEY into `folder`/.env.local unless one is set in the
    environment, .env.local or .env; an empty `SECRET_KEY=` line (as .env.example has) is
    filled in place. True when it wrote one."""
    if environ.get("SECRET_KEY", "").strip():
        return False
    local, shared = folder / ".env.local", folder / ".env"
    if _set_in(local) or _set_in(shared):
        return False
    line = f"SECRET_KEY={secrets.token_urlsafe(50)}"
    text = local.read_text() if local.is_file() else ""
    if _LINE.search(text):
        text = _LINE.sub(lambda _: line, text, count=1)
    else:
        text += ("" if not text or text.endswith("\n") else "\n") + line + "\n"
    # Readable by its owner only: it seals the stored Trakt tokens.
    descriptor = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    local.chmod(0o600)
    return True


if __name__ == "__main__":
    if ensure_secret_key():
        print(
            "Wrote a random SECRET_KEY to .env.local (readable by you only): the server and "
            "every manage.py command of this checkout use it.",
            file=sys.stderr,
        )
