"""Objects pypsrp deserialized from CLIXML (not JSON text) reaching the parser: a script that returns a
PSCustomObject or a hashtable instead of our JSON emitter's string. They are read through their
properties, nested objects and lists included, into the step's typed result."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from pypsrp.serializer import Serializer

from pswrap import steps
from pswrap.errors import OutputError
from pswrap.remote.parse import parse_output
from pswrap.results import models as m


def clixml(xml: str) -> Any:
    """What pypsrp hands over for one object of a pipeline's output stream."""
    return Serializer().deserialize(xml)


def custom(members: str, ref: int = 0) -> str:
    """A PSCustomObject ([pscustomobject]@{...}): its members are extended (note) properties."""
    return (
        f'<Obj RefId="{ref}"><TN RefId="{ref}"><T>System.Management.Automation.PSCustomObject</T>'
        f"<T>System.Object</T></TN><MS>{members}</MS></Obj>"
    )


def test_a_pscustomobject_is_read_through_its_properties() -> None:
    obj = clixml(custom(
        '<S N="anchor_attribute">mS-DS-ConsistencyGuid</S><B N="staging_mode">true</B>'
        '<S N="connect_version">2.5.79.0</S>'
    ))  # fmt: skip
    assert type(obj).__name__ == "GenericComplexObject"  # really pypsrp's object, not a dict
    result = parse_output(steps.get("sync/get-settings"), [obj])
    assert result == m.SyncSettings(
        anchor_attribute="mS-DS-ConsistencyGuid", staging_mode=True, connect_version="2.5.79.0"
    )


def test_a_hashtable_is_read_as_its_entries() -> None:
    obj = clixml(
        '<Obj RefId="0"><TN RefId="0"><T>System.Collections.Hashtable</T><T>System.Object</T></TN><DCT>'
        '<En><S N="Key">anchor_attribute</S><S N="Value">objectGUID</S></En>'
        '<En><S N="Key">staging_mode</S><B N="Value">false</B></En>'
        "</DCT></Obj>"
    )
    result = parse_output(steps.get("sync/get-settings"), [obj])
    assert isinstance(result, m.SyncSettings)
    assert (result.anchor_attribute, result.staging_mode) == ("objectGUID", False)


def test_nested_objects_and_lists_are_read_all_the_way_down() -> None:
    error = custom(
        '<S N="dn">CN=Room 1,OU=Resources,DC=lab,DC=example</S><S N="source_anchor">abc=</S>'
        '<S N="error_type">InvalidHardMatch</S>',
        ref=2,
    )
    run = custom(
        '<S N="run_history_id">r1</S><S N="connector_name">lab.onmicrosoft.com - AAD</S>'
        '<S N="run_profile_name">Export</S><S N="result">completed-export-errors</S>'
        '<S N="start_date">/Date(1700000000000)/</S>'
        f'<Obj N="export_errors" RefId="3"><TN RefId="3"><T>System.Object[]</T></TN><LST>{error}</LST></Obj>',
        ref=1,
    )
    doc = custom(f'<Obj N="runs" RefId="4"><TN RefId="4"><T>System.Object[]</T></TN><LST>{run}</LST></Obj>')
    result = parse_output(steps.get("sync/get-run-results"), [clixml(doc)])
    assert isinstance(result, m.RunResults)
    assert [(r.run_history_id, r.result) for r in result.runs] == [("r1", "completed-export-errors")]
    assert result.runs[0].start_date == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert result.runs[0].export_errors == [
        m.ExportError(dn="CN=Room 1,OU=Resources,DC=lab,DC=example", source_anchor="abc=",
                      error_type="InvalidHardMatch"),
    ]  # fmt: skip


def test_adapted_and_extended_properties_are_both_read() -> None:
    # A .NET object as PowerShell serializes it: adapted properties in <Props>, added note properties
    # in <MS> (e.g. Add-Member on the result of a cmdlet).
    obj = clixml(
        '<Obj RefId="0"><TN RefId="0"><T>Deserialized.Some.Settings</T><T>Deserialized.System.Object</T>'
        '</TN><ToString>Some.Settings</ToString><Props><S N="anchor_attribute">objectGUID</S></Props>'
        '<MS><B N="staging_mode">true</B></MS></Obj>'
    )
    result = parse_output(steps.get("sync/get-settings"), [obj])
    assert isinstance(result, m.SyncSettings)
    assert (result.anchor_attribute, result.staging_mode) == ("objectGUID", True)


def test_two_objects_are_not_one_document() -> None:
    one = custom('<S N="anchor_attribute">objectGUID</S><B N="staging_mode">false</B>')
    with pytest.raises(OutputError, match=r"wrote objects \(GenericComplexObject, GenericComplexObject\)"):
        parse_output(steps.get("sync/get-settings"), [clixml(one), clixml(one)])


def test_an_object_that_does_not_fit_names_the_field() -> None:
    obj = clixml(custom('<S N="anchor_attribute">objectGUID</S><S N="staging_mode">perhaps</S>'))
    with pytest.raises(OutputError, match=r"output does not fit SyncSettings \(staging_mode: .*perhaps"):
        parse_output(steps.get("sync/get-settings"), [obj])
