"""``python -m realtime_sync``: the same as the ``realtime-sync`` command."""

from .cli import main

raise SystemExit(main())
