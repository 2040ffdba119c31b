"""Run every benchmark in turn (`make bench`). Each prints its own figures and targets."""

from __future__ import annotations

import subprocess
import sys

BENCHES = (
    "bench.answers",
    "bench.retrieval",
    "bench.constrained",
    "bench.room_latency",
    "bench.ingest_search",
    "bench.continuity",
    "bench.concurrency",
)


def main() -> int:
    failed = 0
    for module in BENCHES:
        print(f"== {module}", flush=True)
        failed += subprocess.call([sys.executable, "-m", module]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
