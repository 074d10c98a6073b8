"""Running the site: what an operator and an orchestrator need beside the features.

`migrations.py` (migrations one process at a time, and which are pending), `backup.py` (a
consistent copy of the database while the site runs, and bringing one back), `health.py`
(what /healthz and /readyz say). The management commands `migrate`, `backup` and `restore`
are thin wrappers over these.
"""
