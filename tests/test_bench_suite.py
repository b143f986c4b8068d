"""Smoke test of the benchmark suite's machinery (bench/suite.py): one fast row in quick mode writes the table
and the generated section, and a second run replaces that section, keeping what is around it. No timing is
asserted: figures come from bench/run, never from tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_suite(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "merge", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_quick_row_writes_table_and_section(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nIntro paragraph.\n\n## Hand-written (issue 2)\nkept as it is\n", encoding="utf-8")
    done = run_suite(out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "merge of three replicas" in done.stdout
    text = out.read_text(encoding="utf-8")
    assert text.count("<!-- suite:begin -->") == 1 and text.count("<!-- suite:end -->") == 1
    head, _, rest = text.partition("<!-- suite:begin -->")
    section, _, tail = rest.partition("<!-- suite:end -->")
    assert head == "# Benchmarks\n\nIntro paragraph.\n\n"
    assert "## Hand-written (issue 2)\nkept as it is\n" in tail
    assert "| merge | merge of three replicas" in section and "**Machine**" in section and "SQLite" in section
    assert "quick" in section

    done = run_suite(out)  # a second run replaces the section, never adds one
    assert done.returncode == 0, done.stderr[-2000:]
    again = out.read_text(encoding="utf-8")
    assert again.count("<!-- suite:begin -->") == 1 and again.endswith(tail)


def test_unknown_row_is_refused(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--only", "nosuchrow", "--out", str(tmp_path / "b.md")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "nosuchrow" in done.stderr
    assert not (tmp_path / "b.md").exists()
