"""``python -m realtime_sync.testing``: serve a Realtime API simulator until Ctrl-C."""

from .simulator import main

if __name__ == "__main__":
    raise SystemExit(main())
