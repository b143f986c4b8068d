"""Every error code the code can raise is documented in docs/errors.md, and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"\b(NODE|STORE|CATALOG|CASE|AUDIT|CLI|SEAL|HTTP|REPL|WEB)_\d{3}\b")


def test_every_error_code_is_documented():
    used = set()
    for path in [*ROOT.joinpath("edgenode").rglob("*.py"), ROOT / "cli.py", ROOT / "sync" / "transport_http.py"]:
        used |= {m.group(0) for m in CODE.finditer(path.read_text(encoding="utf-8"))}
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    current, _, retired_part = text.partition("## Retired codes")
    documented = {m.group(0) for m in CODE.finditer(current)}
    retired = {m.group(0) for m in CODE.finditer(retired_part)}
    assert not used & retired, f"retired codes in use again: {sorted(used & retired)}"
    assert used - documented == set(), f"undocumented: {sorted(used - documented)}"
    assert documented - used == set(), f"documented but never raised: {sorted(documented - used)}"
