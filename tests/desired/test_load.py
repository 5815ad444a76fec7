"""Spec files: every format gives the same specs; bad specs are refused with exit 2, naming the field."""

from __future__ import annotations

import pytest

from pswrap.desired.load import load_specs
from pswrap.desired.spec import ListEdit, MailboxSpec, json_schema
from pswrap.errors import BadInput

YAML = """
- alias: room1
  name: Meeting Room 1
  calendar:
    automate_processing: AutoAccept
    booking_window_days: 90
    resource_delegates: [alice@lab.example, bob]
- alias: room2
  calendar:
    book_in_policy: {add: [carol@lab.example]}
"""
TOML = """
[[mailboxes]]
alias = "room1"
name = "Meeting Room 1"
[mailboxes.calendar]
automate_processing = "AutoAccept"
booking_window_days = 90
resource_delegates = ["alice@lab.example", "bob"]

[[mailboxes]]
alias = "room2"
[mailboxes.calendar.book_in_policy]
add = ["carol@lab.example"]
"""
JSON = """[
 {"alias": "room1", "name": "Meeting Room 1", "calendar": {"automate_processing": "AutoAccept",
  "booking_window_days": 90, "resource_delegates": ["alice@lab.example", "bob"]}},
 {"alias": "room2", "calendar": {"book_in_policy": {"add": ["carol@lab.example"]}}}
]"""
CSV = (
    (
        "alias,name,calendar.automate_processing,calendar.booking_window_days,calendar.resource_delegates,"
        "calendar.book_in_policy.add\n"
    )
    + """room1,Meeting Room 1,AutoAccept,90,alice@lab.example; bob,
room2,,,,,carol@lab.example
"""
)


@pytest.mark.parametrize(("fmt", "text"), [("yaml", YAML), ("toml", TOML), ("json", JSON), ("csv", CSV)])
def test_every_format_gives_the_same_specs(fmt: str, text: str) -> None:
    room1, room2 = load_specs(text, fmt)
    assert room1.alias == "room1" and room1.name == "Meeting Room 1"
    assert room1.calendar is not None and room1.calendar.booking_window_days == 90
    assert room1.calendar.resource_delegates == ["alice@lab.example", "bob"]
    # An empty CSV cell (like a field left out) is not managed.
    assert room2.name is None
    assert room2.calendar is not None and room2.calendar.automate_processing is None
    assert room2.calendar.book_in_policy == ListEdit(add=["carol@lab.example"])
    assert set(room2.managed()) == {"alias", "calendar.book_in_policy"}


def test_one_spec_alone_is_a_list_of_one() -> None:
    [spec] = load_specs("alias: room1\ncalendar: {allow_conflicts: false}\n", "yaml")
    assert spec.managed() == {"alias": "room1", "calendar.allow_conflicts": False}


def test_list_edits_change_only_their_members() -> None:
    edit = ListEdit(add=["c", "A"], remove=["b"])
    assert edit.apply(["a", "b"]) == ["a", "c"]


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("alias: room1\ncalendar: {booking_window_days: 5000}\n", "calendar.booking_window_days"),
        ("alias: room1\ncalendar: {automate_processing: Sometimes}\n", "calendar.automate_processing"),
        ("alias: room1\ncolour: blue\n", "colour"),
        ("name: no alias\n", "alias"),
        ("alias: room1\ntype: kitchen\n", "type"),
        ("- alias: room1\n- alias: ROOM1\n", "declared twice"),
        ("alias: [unclosed\n", "not valid YAML"),
        ("[]\n", "no mailbox"),
    ],
)
def test_bad_specs_are_refused_naming_the_problem(text: str, named: str) -> None:
    with pytest.raises(BadInput) as caught:
        load_specs(text, "yaml")
    assert caught.value.exit_code == 2
    assert named in str(caught.value)


def test_csv_without_alias_column_is_refused() -> None:
    with pytest.raises(BadInput, match="alias column"):
        load_specs("name\nRoom\n", "csv")


def test_schema_documents_every_field() -> None:
    schema = json_schema()
    assert schema["required"] == ["alias"]
    calendar = schema["$defs"]["CalendarSpec"]["properties"]
    assert all(prop.get("description") for prop in calendar.values())
    assert all(prop.get("description") for prop in schema["properties"].values())
    assert set(calendar) == set(MailboxSpec.model_fields["calendar"].annotation.__args__[0].model_fields)  # type: ignore[union-attr]
