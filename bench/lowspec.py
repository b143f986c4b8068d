"""Low-spec check (issue 5, point 4): `edgenode demo` under a 512 MB memory limit and one CPU.

    .venv/bin/python bench/lowspec.py [--memory-mb 512] [--cpus 0] [--json]

How, in order of preference, whatever works here: a memory cgroup made for the run under this process's own
cgroup (cgroup v1 `memory.limit_in_bytes` or v2 `memory.max`; systemd-run needs systemd as PID 1, which a
container usually lacks), the demo's first process placed in it before exec (its children inherit it), and
the CPU affinity set to one core (sched_setaffinity, as `taskset -c 0`). Peak memory: the cgroup's own peak
counter (v1 `memory.max_usage_in_bytes`, v2 `memory.peak`: resident memory plus page cache of every process in
it) and, polled every 0.1 s, the largest sum of the RSS of the processes alive at once (VmRSS), and each
process's own peak (VmHWM); a process living less than 0.1 s may be missed by the polling. The cgroup is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CGROUP = Path("/sys/fs/cgroup")


def own_cgroup() -> tuple[Path, str] | None:
    """(folder for a child cgroup, "v1"/"v2"), or None when neither is writable here."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            folder = CGROUP / "memory" / path.lstrip("/")
            if (folder / "memory.limit_in_bytes").exists() and os.access(folder, os.W_OK):
                return folder, "v1"
    for line in lines:
        if line.startswith("0::"):
            folder = CGROUP / line[3:].lstrip("/")
            if (CGROUP / "cgroup.controllers").exists() and os.access(folder, os.W_OK):
                return folder, "v2"
    return None


def _vm(pid: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_demo_limited(memory_mb: int = 512, cpus: str = "0", command: list[str] | None = None) -> dict:
    command = command or [str(Path(sys.executable).with_name("edgenode")), "demo", "--json"]
    found = own_cgroup()
    if found is None:
        return {"unavailable": "no writable memory cgroup here (and systemd is not PID 1)"}
    parent, version = found
    group = parent / f"bench-lowspec-{os.getpid()}"
    group.mkdir()
    try:
        limit = str(memory_mb * 1024 * 1024)
        (group / ("memory.limit_in_bytes" if version == "v1" else "memory.max")).write_text(limit)
        if version == "v2" and (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
        cores = {int(c) for c in cpus.split(",")}
        procs = group / "cgroup.procs"

        def enter() -> None:  # in the child, before exec: the demo and everything it starts stay in the group
            procs.write_text(str(os.getpid()))
            os.sched_setaffinity(0, cores)

        start = time.perf_counter()
        if True:
            proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL, preexec_fn=enter)
            peaks: dict[str, int] = {}
            together = 0
            out: dict[str, bytes] = {}
            reader = threading.Thread(target=lambda: out.update(zip(("stdout", "stderr"), proc.communicate())))
            reader.start()
            while reader.is_alive():
                try:
                    pids = procs.read_text().split()
                except OSError:
                    pids = []
                for pid in pids:
                    peaks[pid] = max(peaks.get(pid, 0), _vm(pid, "VmHWM"))
                together = max(together, sum(_vm(pid, "VmRSS") for pid in pids))
                time.sleep(0.1)
            reader.join()
        seconds = time.perf_counter() - start
        peak_file = group / ("memory.max_usage_in_bytes" if version == "v1" else "memory.peak")
        cgroup_peak = int(peak_file.read_text()) if peak_file.exists() else 0
        failcnt_file = group / "memory.failcnt"
        failcnt = int(failcnt_file.read_text()) if failcnt_file.exists() else None
    finally:
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.2)
    return {"ok": proc.returncode == 0, "returncode": proc.returncode, "seconds": seconds,
            "cgroup_peak_mb": cgroup_peak / 1024 / 1024, "together_mb": together / 1024,
            "max_process_hwm_mb": max(peaks.values(), default=0) / 1024, "processes": len(peaks),
            "limit_hits": failcnt, "how": f"a cgroup {version} memory limit of {memory_mb} MB and CPU affinity {{{cpus}}}",
            "stderr_tail": out.get("stderr", b"").decode("utf-8", "replace")[-800:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory-mb", type=int, default=512)
    parser.add_argument("--cpus", default="0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = run_demo_limited(args.memory_mb, args.cpus)
    if args.json or r.get("unavailable"):
        print(json.dumps(r, ensure_ascii=False, indent=1))
        return
    print(f"edgenode demo under {r['how']}: {'completed' if r['ok'] else 'FAILED'} in {r['seconds']:.0f} s; "
          f"peak {r['cgroup_peak_mb']:.0f} MB (cgroup), {r['together_mb']:.0f} MB of RSS at once at most, {r['processes']} processes "
          f"(largest {r['max_process_hwm_mb']:.0f} MB); limit reached {r['limit_hits']} times")


if __name__ == "__main__":
    main()
