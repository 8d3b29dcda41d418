"""Run the benchmark: ``python -m vod_parts_cleanup.local.bench`` (``make bench``)."""

from vod_parts_cleanup.local.bench.run import main

raise SystemExit(main())
