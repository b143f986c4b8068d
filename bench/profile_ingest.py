"""Profile the hub's ingest in-process (no HTTP): a station packs one case per packet, the county takes them
in batches through `engine.accept_batch`. For finding hot spots, not for figures (bench/bench_sync.py is).

    .venv/bin/python bench/profile_ingest.py [--count 400] [--batch 100] [--profile] (cProfile, by own time)
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))
from bench_sync import make_scans  # noqa: E402
from edgenode.replication import engine, outbox, peers  # noqa: E402
from tests.conftest import MovableClock  # noqa: E402
from tests.http.realnet import make_real_net  # noqa: E402
from tests.replication.conftest import receive  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="profile-ingest-") as folder:
        tmp = Path(folder)
        os.environ["EDGENODE_RUNTIME_DIR"] = str(tmp / "run")
        clock = MovableClock(datetime.datetime.fromisoformat("2026-11-16T09:30:00+08:00"))
        net = make_real_net(tmp, clock)
        scans = make_scans(tmp / "scans")
        with net.open_station() as station:
            row = peers.row_for(station, net.county_id)
            for _ in range(args.count):
                receive(station, scans)
                outbox.build(station, row)
            packets = outbox.pending(station, net.county_id)
        with net.open_county() as county:
            take = getattr(engine, "accept_batch", None) or (lambda node, batch: [engine.accept(node, p) for p in batch])
            profiler = None
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            start, cpu = time.perf_counter(), time.process_time()
            for at in range(0, len(packets), args.batch):
                take(county, packets[at:at + args.batch])
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            if profiler:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        print(f"{len(packets)} packets in {elapsed:.2f} s ({cpu:.2f} s CPU): {len(packets) / elapsed:,.0f} packets/s, "
              f"{len(packets) / cpu:,.0f} per CPU-second")


if __name__ == "__main__":
    main()
