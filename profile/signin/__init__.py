"""The owner's Trakt sign-in: whose credentials each call uses, and the tokens kept here.

- `credentials.py`: which credentials a call uses now (`credentials()`, `as_owner(call)`);
- `renewal.py`: renewing the stored token when due, exactly once per generation;
- `storage.py`: the one TraktToken row (load, store, mark signed out);
- `sealing.py`: the tokens encrypted at rest, under a key derived from SECRET_KEY;
- `device.py`: signing in with Trakt's device flow, and out;
- `status.py`: what `manage.py trakt_status` shows;
- `rate_limit.py`: Trakt's rate-limit headroom, written down for `trakt_status`.

Depends on `profile.client` and the models only.
"""
