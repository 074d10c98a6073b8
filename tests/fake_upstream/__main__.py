"""python -m tests.fake_upstream --port 0 --delay 0.3: the fake as a program."""

from __future__ import annotations

import argparse
import sys

from tests.fake_upstream.server import FakeUpstream


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="A loopback fake of Trakt and TMDB.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to each answer")
    parser.add_argument("--watching", default="movie")
    args = parser.parse_args(argv)
    fake = FakeUpstream(args.port, delay=args.delay, watching=args.watching)
    print(f"listening on {fake.port}", flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.server_close()


if __name__ == "__main__":
    sys.exit(main())
