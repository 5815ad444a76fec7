"""The renderer: validation before anything remote happens, values apart from text, literal-only
expressions, the marker line the lab and the audit log read."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import jinja2
import pytest

from pswrap.errors import BadInput
from pswrap.lab.dispatch import parse_marker
from pswrap.render import engine
from pswrap.render.engine import coerce, environment, render
from pswrap.secrets import Secret
from pswrap.steps.model import Param

MAILBOX = {
    "Name": "Room 1",
    "Alias": "room1",
    "DisplayName": "Room 1",
    "PrimarySmtpAddress": "room1@example.com",
}
FIND_USER = {"Value": "room1", "Server": "dc1.example.com"}


# --- the marker line --------------------------------------------------------------------------------


def test_marker_carries_effective_choices_defaults_filled() -> None:
    script = render("exo/new-mailbox", params=MAILBOX)
    assert script.marker == "# pswrap-step: exo/new-mailbox type=room"
    assert script.choices == {"type": "room"}
    assert parse_marker(script.text) == ("exo/new-mailbox", {"type": "room"})


def test_marker_of_a_chosen_value_round_trips_through_the_labs_parser() -> None:
    script = render("ad/find-user", choices={"by": "upn"}, params=FIND_USER)
    assert parse_marker(script.text) == ("ad/find-user", {"by": "upn"})
    no_choice = render("sync/get-scheduler")
    assert no_choice.marker == "# pswrap-step: sync/get-scheduler"
    assert parse_marker(no_choice.text) == ("sync/get-scheduler", {})


def test_choice_changes_the_structure_not_the_values() -> None:
    room = render("exo/new-mailbox", choices={"type": "room"}, params=MAILBOX)
    shared = render("exo/new-mailbox", choices={"type": "shared"}, params=MAILBOX)
    assert "New-Mailbox @newMailbox -Room " in room.text
    assert "New-Mailbox @newMailbox -Shared " in shared.text
    assert "-Room" not in shared.text
    assert room.parameters == shared.parameters == MAILBOX


def test_optional_parameter_is_declared_and_passed_only_when_given() -> None:
    without = render("exo/new-mailbox", params=MAILBOX)
    with_capacity = render("exo/new-mailbox", params={**MAILBOX, "ResourceCapacity": "8"})
    assert "$ResourceCapacity" not in without.text
    assert "[int]$ResourceCapacity" in with_capacity.text
    assert "$newMailbox['ResourceCapacity'] = $ResourceCapacity" in with_capacity.text
    assert with_capacity.parameters["ResourceCapacity"] == 8


# --- validation -------------------------------------------------------------------------------------


def test_unknown_step_lists_the_steps() -> None:
    with pytest.raises(BadInput, match="unknown step 'exo/new-mailbx'") as info:
        render("exo/new-mailbx")
    assert info.value.hint is not None and "exo/new-mailbox" in info.value.hint


def test_step_outside_its_profiles_names_where_it_exists() -> None:
    with pytest.raises(BadInput, match=r"does not exist in the legacy profile; it exists in: modern$"):
        render("exo/new-mailbox", profile="legacy", params=MAILBOX)
    with pytest.raises(BadInput, match="it exists in: modern, hybrid-tools"):
        render("sync/get-scheduler", profile="legacy")


def test_unknown_profile() -> None:
    with pytest.raises(BadInput, match="unknown profile 'ancient'; profiles: modern, legacy, hybrid-tools"):
        render("sync/get-scheduler", profile="ancient")  # type: ignore[arg-type]


def test_unknown_choice_lists_the_choices() -> None:
    with pytest.raises(BadInput, match="has no structural choice 'kind'; its choices: type"):
        render("exo/new-mailbox", choices={"kind": "room"}, params=MAILBOX)
    with pytest.raises(BadInput, match="its choices: none"):
        render("sync/get-scheduler", choices={"type": "room"})


def test_unknown_choice_value_lists_the_allowed_values() -> None:
    with pytest.raises(BadInput, match=r"'kiosk' is not a value of type .* allowed: room, equipment, shared"):
        render("exo/new-mailbox", choices={"type": "kiosk"}, params=MAILBOX)


def test_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(BadInput, match="has no parameter 'Colour'; its parameters: Name, Alias, DisplayName"):
        render("exo/new-mailbox", params={**MAILBOX, "Colour": "red"})


def test_missing_mandatory_parameters_are_all_named() -> None:
    with pytest.raises(BadInput, match="missing the mandatory parameter\\(s\\): Alias, PrimarySmtpAddress"):
        render("exo/new-mailbox", params={"Name": "x", "DisplayName": "x"})


def test_parameter_names_are_case_insensitive_like_powershell() -> None:
    script = render("exo/new-mailbox", params={k.lower(): v for k, v in MAILBOX.items()})
    assert script.parameters == MAILBOX


def test_none_means_not_given() -> None:
    script = render("exo/new-mailbox", params={**MAILBOX, "ResourceCapacity": None})
    assert "ResourceCapacity" not in script.parameters
    with pytest.raises(BadInput, match="mandatory"):
        render("exo/new-mailbox", params={**MAILBOX, "Alias": None})


def test_a_template_can_refuse_a_combination() -> None:
    with pytest.raises(BadInput, match="ResourceCapacity is for rooms only"):
        render("exo/new-mailbox", choices={"type": "shared"}, params={**MAILBOX, "ResourceCapacity": 4})
    with pytest.raises(BadInput, match="give both CredentialUser and CredentialPassword"):
        render("ad/find-user", params={**FIND_USER, "CredentialUser": "CONTOSO\\svc"})


# --- coercion ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("int", "5", 5),
        ("int", " -3 ", -3),
        ("int", 7, 7),
        ("bool", "true", True),
        ("bool", "FALSE", False),
        ("bool", "1", True),
        ("bool", "0", False),
        ("bool", "yes", True),
        ("bool", "no", False),
        ("bool", False, False),
        ("switch", "true", True),
        ("string", "x", "x"),
        ("string[]", "a", ["a"]),
        ("string[]", ("a", "b"), ["a", "b"]),
        ("guid", "{35918BC9-196D-40EA-9779-889D79B753F0}", "35918bc9-196d-40ea-9779-889d79b753f0"),
        (
            "guid",
            uuid.UUID("35918bc9-196d-40ea-9779-889d79b753f0"),
            "35918bc9-196d-40ea-9779-889d79b753f0",
        ),
        ("datetime", "2026-11-27T12:00:00Z", datetime(2026, 11, 27, 12, tzinfo=timezone.utc)),
        ("datetime", "2026-11-27T13:00:00+01:00", datetime(2026, 11, 27, 12, tzinfo=timezone.utc)),
    ],
)
def test_coerce_accepts(kind: str, given: object, expected: object) -> None:
    assert coerce(Param("P", kind), given) == expected  # type: ignore[arg-type]


def test_coerce_datetime_is_aware_utc() -> None:
    value = coerce(Param("P", "datetime"), datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))
    assert isinstance(value, datetime)
    assert value.utcoffset() == timedelta(0)
    assert value.hour == 0


@pytest.mark.parametrize(
    ("kind", "given", "message"),
    [
        ("int", "five", "must be a whole number"),
        ("int", True, "must be a whole number"),
        ("int", "5.5", "must be a whole number"),
        ("bool", "maybe", "must be a boolean"),
        ("bool", 2, "must be a boolean"),
        ("string", 5, "must be a string"),
        ("string[]", ["a", 1], "must be a string or a list of strings"),
        ("guid", "not-a-guid", "must be a GUID"),
        ("datetime", "tomorrow", "ISO 8601"),
        ("datetime", "2026-11-27T12:00:00", "has no time zone"),
        ("datetime", datetime(2026, 11, 27), "has no time zone"),
        ("securestring", 5, "must be a secret string"),
    ],
)
def test_coerce_refuses_with_a_clear_message(kind: str, given: object, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        coerce(Param("P", kind), given)  # type: ignore[arg-type]


def test_wrong_type_through_render_names_the_parameter() -> None:
    with pytest.raises(BadInput, match="parameter ResourceCapacity must be a whole number, got str 'eight'"):
        render("exo/new-mailbox", params={**MAILBOX, "ResourceCapacity": "eight"})


# --- secrets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["hunter2", Secret("hunter2")])
def test_secrets_go_apart_as_secret(password: object) -> None:
    script = render(
        "ad/find-user", params={**FIND_USER, "CredentialUser": "CONTOSO\\svc", "CredentialPassword": password}
    )
    assert set(script.secrets) == {"CredentialPassword"}
    assert isinstance(script.secrets["CredentialPassword"], Secret)
    assert script.secrets["CredentialPassword"].reveal() == "hunter2"
    assert "CredentialPassword" not in script.parameters
    assert "hunter2" not in script.text
    assert "[securestring]$CredentialPassword" in script.text


def test_a_secret_of_the_wrong_type_is_not_echoed() -> None:
    with pytest.raises(BadInput) as info:
        render("ad/find-user", params={**FIND_USER, "CredentialUser": "u", "CredentialPassword": 123456789})
    assert "123456789" not in str(info.value)


# --- the Jinja environment --------------------------------------------------------------------------


def test_environment_is_cached_and_strict() -> None:
    env = environment()
    assert env is environment()
    assert env.undefined is jinja2.StrictUndefined
    assert env.autoescape is False
    assert env.keep_trailing_newline is True
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{% if nosuchname %}x{% endif %}").render()


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("it's", "'it''s'"),
        ("$(Stop-Service ADSync)", "'$(Stop-Service ADSync)'"),
        ("a\u2019b", "'a\u2019\u2019b'"),
        (5, "5"),
        (True, "$true"),
        (None, "$null"),
    ],
)
def test_every_expression_becomes_a_powershell_literal(value: object, literal: str) -> None:
    out = environment().from_string("$x = {{ v }}").render(v=value)
    assert out == "$x = " + literal


def test_templates_load_from_the_package_not_the_working_directory(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "sync").mkdir()
    (tmp_path / "sync" / "get-scheduler.ps1.j2").write_text("# pswrap-step: sync/get-scheduler\nEVIL\n")
    monkeypatch.chdir(tmp_path)
    assert "EVIL" not in render("sync/get-scheduler").text
    with pytest.raises(jinja2.TemplateNotFound):
        environment().get_template("../pswrap/render/engine.py")


def test_a_template_without_its_marker_is_a_bug(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        def render(self, **_: object) -> str:
            return "param()\n"

    class Env:
        def get_template(self, name: str) -> Broken:
            return Broken()

    monkeypatch.setattr(engine, "environment", lambda: Env())
    with pytest.raises(RuntimeError, match="must start with '# pswrap-step: sync/get-scheduler'"):
        render("sync/get-scheduler")


def test_legacy_steps_render_with_what_replaced_them() -> None:
    script = render("legacy/stop-dirsync", profile="legacy")
    lines = script.text.splitlines()
    assert lines[0] == "# pswrap-step: legacy/stop-dirsync"
    assert parse_marker(script.text) == ("legacy/stop-dirsync", {})
    assert lines[1].startswith("# LEGACY, render only")
    assert "DirSync (MSOnlineSyncScheduler service) (retired 2021-04-01)" in lines[2]
    assert "Set-ADSyncScheduler -SyncCycleEnabled $false under a lease" in lines[3]


def test_structural_lists_and_dicts_stay_single_literals() -> None:
    listed = environment().from_string("{{ v }}").render(v=["a'b", "$(x)"])
    assert listed.startswith("@(") and "'a''b'" in listed and "'$(x)'" in listed
    table = environment().from_string("{{ v }}").render(v={"k": "it's"})
    assert table.startswith("@{") and "'it''s'" in table


def test_a_secret_can_never_be_rendered_as_text() -> None:
    with pytest.raises(BadInput, match="refusing to write a secret"):
        environment().from_string("$p = {{ v }}").render(v=Secret("hunter2"))
