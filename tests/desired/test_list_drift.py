"""`mailbox list --drift`: one bulk read per system, and what does not line up between them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Ran


def test_list_drift_names_what_does_not_line_up(
    lab_env: Path, run: Callable[..., Ran], world: Callable[[], dict[str, Any]]
) -> None:
    for alias in ("good1", "moved1"):
        assert run("mailbox", "create", alias, "--alias", alias, "--yes").code == 0
    params = ["Name=Loose", "Alias=loose1", "DisplayName=Loose", "PrimarySmtpAddress=loose1@lab.example"]
    made = run("run", "exo/new-mailbox", "--var", "type=room", *[a for p in params for a in ("--param", p)])
    assert made.code == 0, made.err
    # moved1's cloud user now carries an anchor no AD account has.
    users = world()["cloud"]["users"]
    index = next(n for n, u in enumerate(users) if u["user_principal_name"].startswith("moved1@"))
    stray = "AAAAAAAAAAAAAAAAAAAAAA=="
    assert run("lab", "set", f"cloud.users.{index}.on_premises_immutable_id={stray}").code == 0

    before = world()["stats"]["requests"]["Command"]
    ran = run("mailbox", "list", "--drift", "-o", "json")
    assert ran.code == 0, ran.err
    rows = {r["alias"]: r for r in json.loads(ran.out)}
    assert set(rows) == {"loose1", "moved1"}  # good1 lines up: not listed
    assert rows["loose1"]["drift"] == ["not synced from AD"]
    assert rows["moved1"]["drift"] == [f"no AD account carries the cloud user's anchor {stray}"]
    # Two connect steps (exo, graph; AD has none), then one read per system: exo, sync, graph, ad.
    assert world()["stats"]["requests"]["Command"] - before == 2 + 4

    text = run("mailbox", "list", "--drift")
    assert "drift: not synced from AD" in text.out
    plain = run("mailbox", "list", "--unlinked", "-o", "json")
    assert [r["alias"] for r in json.loads(plain.out)] == ["loose1"]
