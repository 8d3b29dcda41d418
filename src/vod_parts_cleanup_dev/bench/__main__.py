"""Run the benchmark: ``python -m vod_parts_cleanup_dev.bench`` (``make bench``)."""

from vod_parts_cleanup_dev.bench.run import main

raise SystemExit(main())
