"""`edgenode demo` end to end: five nodes in real processes (county, province, two stations, a field laptop)
over real HTTP on 127.0.0.1 and one USB folder end in the same state after a day of offline work."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from edgenode.demo.nodes import edgenode_command
from edgenode.demo.scenario import MARKER, prepare_keep


def run_demo(keep: Path) -> tuple[subprocess.CompletedProcess, dict]:
    done = subprocess.run([*edgenode_command(), "demo", "--keep", str(keep), "--json"], capture_output=True,
                          timeout=900)
    return done, json.loads(done.stdout.decode("utf-8").strip().splitlines()[-1])


def test_five_nodes_end_in_the_same_state(tmp_path):
    keep = tmp_path / "demo"
    done, result = run_demo(keep)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")[-3000:]
    nodes = result["nodes"]
    county, province = nodes["县级平台"], nodes["省级平台"]
    assert result["ok"] and result["mismatched_cases"] == []
    assert county["digest"] == province["digest"] and county["cases"] == province["cases"] == 5
    assert (nodes["A站"]["cases"], nodes["B站"]["cases"], nodes["上门终端"]["cases"]) == (3, 2, 1)
    assert {n["catalog_version"] for k, n in nodes.items() if k != "省级平台"} == {2}   # B got v2 by USB
    assert result["conflicts_found"] == 1 and result["conflicts_open"] == 0
    assert len(result["notices"]) >= 6 and all(n["valid"] for n in result["notices"])
    assert all(nodes[k]["packets"] > 0 for k in ("A站", "B站", "上门终端", "县级平台"))
    assert all((keep / node / "node.db").is_file() for node in ("county", "province", "station-a", "station-b", "field"))
    accounts = subprocess.run([*edgenode_command(), "--home", str(keep / "station-a"), "staff", "list", "--json"],
                              capture_output=True, timeout=60)
    assert {a["login"] for a in json.loads(accounts.stdout)["staff"]} >= {"lin", "admin"}   # to look around the UI
    # run again into the same folder: it starts afresh (prepare_keep empties only a folder a demo left)
    prepare_keep(keep)
    assert sorted(p.name for p in keep.iterdir()) == [MARKER]


def test_keep_refuses_a_folder_that_is_not_a_previous_demo(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "important.txt").write_text("keep me", encoding="utf-8")
    done = subprocess.run([*edgenode_command(), "demo", "--keep", str(folder), "--json"], capture_output=True,
                          timeout=120)
    assert done.returncode == 1
    assert json.loads(done.stdout)["code"] == "NODE_015"
    assert (folder / "important.txt").read_text(encoding="utf-8") == "keep me"
