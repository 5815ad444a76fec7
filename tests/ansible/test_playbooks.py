"""The collection under real Ansible: playbooks against the embedded lab and a served one, ansible-doc,
the collection build, and the ansible-test sanity tests that run offline.

Playbook runs are slow (Ansible starts a Python per task), so each playbook runs once per module and
the tests below read its registered results (results.json) and its output.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pswrap.api
from tests.ansible.conftest import COLLECTION, PlayRun, ansible_env, ansible_tool, run_playbook

ROOM = "room-ansible-1"
REMOVAL = hasattr(pswrap.api.Pswrap, "remove_mailbox")
"""Whether this pswrap can remove mailboxes (state: absent); without it the module must refuse clearly."""


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> PlayRun:
    home = tmp_path_factory.mktemp("ansible-home")
    run = run_playbook(home, "lifecycle.yml")
    assert run.returncode == 0, run.output
    return run


def change_fields(result: dict[str, Any]) -> list[str]:
    return [c["field"] for c in result["changes"]]


def test_check_mode_on_a_missing_mailbox_says_changed_and_creates_nothing(lifecycle: PlayRun) -> None:
    check = lifecycle.results["check_missing"]
    assert check["changed"] is True
    assert check["status"] == "planned"
    assert "mailbox" in change_fields(check)
    assert check["operation"] is None and check["link_state"] is None
    listed = lifecycle.results["listed_after_check"]["mailboxes"]
    assert ROOM not in [row["alias"] for row in listed]


def test_create_is_changed_and_linked(lifecycle: PlayRun) -> None:
    created = lifecycle.results["created"]
    assert created["changed"] is True
    assert created["status"] == "completed"
    assert created["operation"]
    assert created["link_state"] == "linked" and created["link"]["synced"] is True
    assert {"mailbox", "link", "calendar.booking_window_days"} <= set(change_fields(created))
    assert created["mailbox"]["alias"] == ROOM


def test_a_rerun_is_ok_without_changes(lifecycle: PlayRun) -> None:
    rerun = lifecycle.results["rerun"]
    assert rerun["changed"] is False
    assert rerun["status"] == "unchanged"
    assert rerun["changes"] == [] and rerun["operation"] is None
    assert rerun["link_state"] == "linked"


def test_one_setting_changed_is_one_change_with_its_diff(lifecycle: PlayRun) -> None:
    setting = lifecycle.results["setting"]
    assert setting["changed"] is True
    assert setting["changes"] == [
        {"field": "calendar.booking_window_days", "from": 90, "to": 120, "where": "exo"}
    ]
    assert setting["diff"]["before"] == {"calendar.booking_window_days": 90}
    assert setting["diff"]["after"] == {"calendar.booking_window_days": 120}
    assert f"--- before: {ROOM}" in lifecycle.output  # Ansible printed the diff (diff: true)
    shown = lifecycle.results["shown"]["mailbox"]
    assert shown["spec"]["calendar"]["booking_window_days"] == 120
    assert shown["spec"]["capacity"] == 8 and shown["link"]["state"] == "linked"


def test_check_mode_on_an_existing_mailbox_reports_the_change_and_makes_none(lifecycle: PlayRun) -> None:
    check = lifecycle.results["check_existing"]
    assert check["changed"] is True and check["status"] == "planned" and check["operation"] is None
    assert check["changes"] == [
        {"field": "calendar.booking_window_days", "from": 120, "to": 150, "where": "exo"}
    ]
    assert lifecycle.results["shown"]["mailbox"]["spec"]["calendar"]["booking_window_days"] == 120


def test_part_2_sections_reach_pswrap_and_a_rerun_changes_nothing(lifecycle: PlayRun) -> None:
    part2 = lifecycle.results["part2"]
    assert part2["changed"] is True and part2["status"] == "completed"
    assert {"permissions.calendar_permissions", "place.building"} == set(change_fields(part2))
    rerun = lifecycle.results["part2_rerun"]  # the {add: ...} form of the same entry: nothing to do
    assert rerun["changed"] is False and rerun["changes"] == []
    assert lifecycle.results["shown"]["mailbox"]["spec"]["place"]["building"] == "Building 4"


def test_a_bad_value_fails_with_pswraps_error_and_its_meaning(lifecycle: PlayRun) -> None:
    bad = lifecycle.results["bad_value"]
    assert bad["failed"] is True and bad["changed"] is False
    assert bad["error"]["type"] == "BadInput" and bad["error"]["exit_code"] == 2
    assert "nothing remote was changed" in bad["error"]["meaning"]
    assert "calendar.booking_window_days" in bad["msg"] and "1080" in bad["msg"]
    assert bad["msg"].startswith("BadInput: ")


def test_an_unknown_option_fails_naming_it(lifecycle: PlayRun) -> None:
    bad = lifecycle.results["bad_option"]
    assert bad["failed"] is True
    assert "Unsupported parameters" in bad["msg"] and "colour" in bad["msg"]


@pytest.mark.skipif(not REMOVAL, reason="this pswrap has no removal: the next test checks the refusal")
def test_absent_removes_the_mailbox(lifecycle: PlayRun) -> None:
    removed = lifecycle.results["removed"]
    assert not removed.get("failed"), removed.get("msg")
    assert removed["changed"] is True and removed["link_state"] is None
    assert "mailbox" in change_fields(removed)
    for again in (lifecycle.results["removed_again"], lifecycle.results["removed_missing"]):
        assert not again.get("failed"), again.get("msg")
        assert again["changed"] is False and again["status"] == "unchanged"


@pytest.mark.skipif(REMOVAL, reason="this pswrap has removal: the test above checks it")
def test_absent_without_removal_fails_clearly_and_changes_nothing(lifecycle: PlayRun) -> None:
    for removed in (lifecycle.results["removed"], lifecycle.results["removed_missing"]):
        assert removed["failed"] is True and removed["changed"] is False
        assert "cannot remove mailboxes" in removed["msg"]
        assert removed["error"]["exit_code"] == 2
    assert ROOM in lifecycle.results["removed"]["msg"]


def test_results_carry_what_return_documents(lifecycle: PlayRun) -> None:
    """RETURN (committed text) names exactly what the module returns (besides Ansible's own keys)."""
    import yaml

    from tests.ansible.test_docs import module_docs

    documented = set(yaml.safe_load(module_docs("resource_mailbox")["RETURN"]))
    ansible_keys = {"changed", "failed", "msg", "invocation", "diff", "warnings", "deprecations"}
    created = set(lifecycle.results["created"]) - ansible_keys
    assert created == documented - {"error"}
    assert "error" in lifecycle.results["bad_value"]


# --- connection options and secrets (a served lab with a password) --------------------------------


def test_connection_options_work_and_secrets_never_show(
    tmp_path: Path, lab_serve: Callable[..., Any]
) -> None:
    from pswrap.lab.world import LAB_DEFAULTS

    secret = "Ans-" + secrets.token_hex(12)
    served = lab_serve("--user", "lab-admin", "--password", secret)
    port = served.port
    tenant = {
        "organization": LAB_DEFAULTS.tenant_domain,
        "tenant_id": LAB_DEFAULTS.tenant_id,
        "app_id": LAB_DEFAULTS.app_id,
        "certificate_thumbprint": LAB_DEFAULTS.certificate_thumbprint,
        "domain_controller": LAB_DEFAULTS.domain_controller,
        "resource_ou": LAB_DEFAULTS.resource_ou,
        "staging_ou": LAB_DEFAULTS.staging_ou,
        "upn_suffix": LAB_DEFAULTS.upn_suffix,
    }
    home = tmp_path / "home"
    home.mkdir()
    extra = home / "vars.json"
    extra.write_text(json.dumps({"lab_port": port, "lab_user": "lab-admin", "lab_tenant": tenant}))
    env = ansible_env(home, PSWRAP_TEST_SECRET=secret)
    run = run_playbook(home, "secrets.yml", "-e", f"@{extra}", "-vvv", "--diff", env=env)
    assert run.returncode == 0, run.output
    connected = run.results["connected"]
    assert connected["changed"] is True and connected["status"] == "planned", connected
    bad = run.results["bad_password"]
    assert bad["failed"] is True
    assert bad["error"]["type"] == "AuthenticationError" and bad["error"]["exit_code"] == 3
    assert "authentication failed" in bad["error"]["meaning"]
    # The password (and the wrong one, which starts with it) appears nowhere a user or a log sees.
    assert secret not in run.output
    assert secret not in json.dumps(run.results)
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.output  # -vvv shows the masked arguments


# --- ansible-doc, the build, sanity ------------------------------------------------------------------


@pytest.mark.parametrize("module", ["resource_mailbox", "resource_mailbox_info"])
def test_ansible_doc_renders_each_module(tmp_path: Path, module: str) -> None:
    proc = subprocess.run(
        [ansible_tool("ansible-doc"), f"pswrap.hybrid.{module}"],
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert f"pswrap.hybrid.{module}" in text
    assert "password" in text and "target" in text  # the connection options' doc fragment
    assert "[WARNING]" not in proc.stderr, proc.stderr
    if module == "resource_mailbox":
        assert "booking_window_days" in text and "link_state" in text


def test_the_collection_builds(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            ansible_tool("ansible-galaxy"),
            "collection",
            "build",
            str(COLLECTION),
            "--output-path",
            str(tmp_path),
        ],
        env=ansible_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    built = list(tmp_path.glob("pswrap-hybrid-*.tar.gz"))
    assert len(built) == 1
    with tarfile.open(built[0]) as tar:
        names = set(tar.getnames())
    assert {
        "MANIFEST.json",
        "plugins/modules/resource_mailbox.py",
        "plugins/modules/resource_mailbox_info.py",
        "plugins/module_utils/pswrap_common.py",
        "plugins/doc_fragments/connection.py",
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "requirements.txt",
        "README.md",
    } <= names


OFFLINE_SANITY = (
    "action-plugin-docs", "compile", "empty-init", "ignores", "line-endings", "no-assert",
    "no-get-exception", "no-illegal-filenames", "no-smart-quotes", "replace-urlopen", "shebang",
    "symlinks", "use-argspec-type-path", "use-compat-six",
)  # fmt: skip
"""The ansible-test sanity tests that need no virtual environment of their own. The others (ansible-doc,
import, pep8, pylint, validate-modules, yamllint, ...) make one and bootstrap pip into it by download,
which a machine without internet access cannot do (docs/ansible.md)."""


def test_offline_ansible_test_sanity(tmp_path: Path) -> None:
    import sys

    copy = tmp_path / "ansible_collections" / "pswrap" / "hybrid"  # ansible-test needs this layout
    shutil.copytree(COLLECTION, copy, ignore=shutil.ignore_patterns("output", "__pycache__", "*.tar.gz"))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    args = [a for test in OFFLINE_SANITY for a in ("--test", test)]
    proc = subprocess.run(
        [ansible_tool("ansible-test"), "sanity", "--python", version, *args],
        cwd=copy,
        env=ansible_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'Running sanity test "compile"' in proc.stdout + proc.stderr
