"""`make bench`'s own helpers, which nothing else runs before a bench: an export made in
another process, as the import's row makes it (a lint once removed the name it imported)."""

from __future__ import annotations

import json
import zipfile

from bench.transfer import make_export


def test_the_benchs_export_is_made_in_a_process_of_its_own(tmp_path):
    path = make_export(tmp_path, 20, 2)

    with zipfile.ZipFile(path) as export:
        assert len(json.loads(export.read("watched-history.json"))) == 20
