"""The history mirror: the owner's whole Trakt history (and ratings) kept in the database.

- `sync/`: the one way in (`sync.sync()`): the walk, its pacing and the writer;
- `schedule.py`: the background job that syncs when due, no cron;
- `state.py`: the SyncState row and the version every change moves (figures cache on it);
- `titles.py`, `queries.py`, `review.py`: the mirror read, as the pages and the API show it;
- `posters.py`: TMDB posters for its titles.

Depends on `profile.signin` (whose history) and `profile.client`.
"""
