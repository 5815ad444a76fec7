"""Output → typed result: our emitter's form, Windows PowerShell 5.1's forms, "nothing", and bad output."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pswrap import steps
from pswrap.errors import OutputError
from pswrap.remote.parse import parse_output
from pswrap.results import models as m


def test_one_json_document() -> None:
    doc = {"anchor_attribute": "mS-DS-ConsistencyGuid", "staging_mode": False, "connect_version": "2.5.79.0"}
    result = parse_output(steps.get("sync/get-settings"), [json.dumps(doc)])
    assert isinstance(result, m.SyncSettings)
    assert result.anchor_attribute == "mS-DS-ConsistencyGuid" and result.staging_mode is False


def test_document_split_over_several_strings() -> None:
    lines = ["{", '  "anchor_attribute": "objectGUID",', '  "staging_mode": true', "}"]
    result = parse_output(steps.get("sync/get-settings"), lines)
    assert isinstance(result, m.SyncSettings) and result.staging_mode is True


def test_windows_powershell_51_forms() -> None:
    # \/Date(ms)\/ dates and one object where a list was meant (5.1 unwraps one-item arrays).
    doc = (
        '{"runs": {"run_history_id": "1", "connector_name": "c", "run_profile_name": "Delta Import", '
        '"result": "success", "start_date": "\\/Date(1700000000000)\\/", "export_errors": null}}'
    )
    result = parse_output(steps.get("sync/get-run-results"), [doc])
    assert isinstance(result, m.RunResults)
    assert len(result.runs) == 1
    assert result.runs[0].start_date == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert result.runs[0].export_errors == []


def test_empty_output_for_a_model_with_data_is_an_error() -> None:
    with pytest.raises(OutputError, match="sync/get-settings wrote no output"):
        parse_output(steps.get("sync/get-settings"), [])
    with pytest.raises(OutputError, match="wrote no output"):
        parse_output(steps.get("sync/get-settings"), [""])


def test_output_that_does_not_fit_names_the_step_and_quotes_truncated() -> None:
    doc = {"staging_mode": "perhaps", "padding": "y" * 1000}
    with pytest.raises(OutputError) as info:
        parse_output(steps.get("sync/get-settings"), [json.dumps(doc)])
    text = str(info.value)
    assert "sync/get-settings" in text and "SyncSettings" in text
    assert "perhaps" in text
    assert len(text) < 600  # quoted text truncated (~200 chars)


def test_not_json_names_the_step_and_quotes() -> None:
    with pytest.raises(OutputError, match=r"ad/get-domain did not write one JSON document.*WARNING: hello"):
        parse_output(steps.get("ad/get-domain"), ["WARNING: hello", "{}"])


def test_deserialized_object_is_accepted() -> None:
    doc = {"anchor_attribute": "objectGUID", "staging_mode": False}
    result = parse_output(steps.get("sync/get-settings"), [doc])
    assert isinstance(result, m.SyncSettings)


# --- fixtures: captured output → parsed object (docs/design.md: fixtures are data files)
# ---------------------

FIXTURES = sorted((Path(__file__).parent / "data" / "parse").glob("*.json"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_fixture(fixture: Path) -> None:
    case = json.loads(fixture.read_text(encoding="utf-8"))
    step = steps.get(case["step"])
    if "error" in case:
        with pytest.raises(OutputError) as info:
            parse_output(step, case["output"])
        assert case["error"] in str(info.value)
        return
    result = parse_output(step, case["output"])
    assert type(result) is step.result
    assert result.model_dump(mode="json") == case["parsed"]


def test_every_fixture_names_a_runnable_step() -> None:
    assert len(FIXTURES) >= 9
    for fixture in FIXTURES:
        case = json.loads(fixture.read_text(encoding="utf-8"))
        assert steps.get(case["step"]).result is not None and ("parsed" in case) != ("error" in case)
