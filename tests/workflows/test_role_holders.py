"""Role holders are refused before any change, whatever the role, its scope or its PIM state
(MC1262584 names none of these; docs/sync.md "Role holders")."""

from __future__ import annotations

import pytest

from pswrap.errors import NeedsHuman
from pswrap.results import models as m
from pswrap.workflows.role_holders import held_roles, refuse_role_holder


def _user(roles: list[str] | None = None, assignments: list[m.RoleAssignment] | None = None) -> m.CloudUser:
    return m.CloudUser(
        id="u1", user_principal_name="boss@lab.example", directory_roles=roles or [],
        role_assignments=assignments or [],
    )  # fmt: skip


def test_no_role_no_refusal() -> None:
    refuse_role_holder(None)
    refuse_role_holder(_user())


@pytest.mark.parametrize(
    ("assignment", "shown", "caution"),
    [
        (m.RoleAssignment(role="Exchange Administrator"), "Exchange Administrator", False),
        (
            m.RoleAssignment(role="User Administrator", directory_scope_id="/administrativeUnits/au7"),
            "User Administrator (administrative unit au7)",
            True,
        ),
        (
            m.RoleAssignment(role="Global Reader", status="eligible"),
            "Global Reader (eligible (PIM), not active)",
            True,
        ),
    ],
)
def test_every_assignment_blocks_and_the_message_says_what_is_caution(
    assignment: m.RoleAssignment, shown: str, caution: bool
) -> None:
    with pytest.raises(NeedsHuman) as info:
        refuse_role_holder(_user(assignments=[assignment]))
    assert info.value.exit_code == 6
    assert shown in str(info.value) and "MC1262584" in str(info.value)
    assert ("to be safe" in str(info.value)) is caution
    assert "remove the role" in (info.value.hint or "")


def test_directory_roles_and_assignments_are_listed_once() -> None:
    user = _user(["Exchange Administrator"], [m.RoleAssignment(role="Exchange Administrator")])
    assert held_roles(user) == ["Exchange Administrator"]
