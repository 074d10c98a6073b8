"""What plays now, and the other answers the site shows live from Trakt (the profile, its
stats, the last watched entry), kept briefly rather than mirrored.

- `watching.py`: what plays, as one typed value;
- `poll.py`: its source, Trakt's poll (with TMDB's artwork);
- `answers.py`: every live answer through the cache (`cache.py`: reuse, single flight,
  stale-while-revalidate, stale-if-error);
- `ended.py`: what just ended, named at once as "Last watched";
- `page.py`: what the profile page and /live read, within a time budget;
- `banner.py`: the banner's parts and the page's other live parts;
- `card.py`: the embeddable SVG card.

Depends on `profile.mirror` (what the history knows), `profile.signin` and `profile.client`.
"""
