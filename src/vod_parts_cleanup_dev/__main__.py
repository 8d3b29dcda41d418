"""Run the local VOD stand-in: ``python -m vod_parts_cleanup_dev --port 8080 --video ID``."""

from vod_parts_cleanup_dev.vod_server import main

raise SystemExit(main())
