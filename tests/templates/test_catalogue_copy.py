"""The project's copy of the cmdlet catalogue says where each entry comes from, so the template checks
rest on Microsoft's documentation from any clone (tests/data/CATALOGUE_SOURCES.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
ROW = re.compile(r"^\| (?P<cmdlet>[A-Za-z]+-[A-Za-z0-9]+) \| (?P<module>[^|]*?) \| (?P<source>[^|]*?) \|$")


def _table() -> dict[str, tuple[str, str]]:
    rows: dict[str, tuple[str, str]] = {}
    for line in (DATA / "CATALOGUE_SOURCES.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match["cmdlet"] not in rows, f"{match['cmdlet']} is listed twice"
            rows[match["cmdlet"]] = (match["module"], match["source"])
    return rows


def test_every_catalogued_cmdlet_has_its_source_listed() -> None:
    catalogue = json.loads((DATA / "cmdlets.json").read_text(encoding="utf-8"))
    table = _table()
    assert set(table) == set(catalogue), sorted(set(table) ^ set(catalogue))
    for name, entry in catalogue.items():
        module, source = table[name]
        assert module == entry.get("module", ""), name
        # A `|` inside a Markdown table cell would end it: the table writes it as `/`.
        assert source == entry.get("source", "").replace("|", "/"), name


def test_each_entry_names_its_documentation() -> None:
    catalogue = json.loads((DATA / "cmdlets.json").read_text(encoding="utf-8"))
    missing = [name for name, entry in catalogue.items() if not entry.get("source")]
    assert missing == [], f"no source for {missing}"
    for name, entry in catalogue.items():
        assert entry.get("parameter_sets"), f"{name} has no parameter sets"
