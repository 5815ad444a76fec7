"""The modules' DOCUMENTATION, EXAMPLES and RETURN are committed text: these tests hold them to pswrap's
spec model (pswrap/desired/spec.py) and to the modules' argument specs, so neither can drift.

When the spec model changes, `python -m tests.ansible.docspec` prints the options' YAML for
resource_mailbox's DOCUMENTATION, and the module's SPEC_ARGSPEC follows it.
"""

from __future__ import annotations

import ast
import importlib
import sys
from typing import Any

import pytest
import yaml

from pswrap.desired.spec import MailboxSpec
from pswrap.workflows.results import MailboxResult
from tests.ansible.conftest import COLLECTION, REPO
from tests.ansible.docspec import OWN_DESCRIPTION, spec_options

MODULES = COLLECTION / "plugins" / "modules"
FRAGMENT = COLLECTION / "plugins" / "doc_fragments" / "connection.py"


def module_docs(name: str) -> dict[str, str]:
    """DOCUMENTATION, EXAMPLES and RETURN of a module, read from its source without running it."""
    tree = ast.parse((MODULES / f"{name}.py").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                    out[target.id] = node.value.value
    return out


def fragment_options() -> dict[str, Any]:
    tree = ast.parse(FRAGMENT.read_text(encoding="utf-8"))
    text = next(
        n.value.value
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for n in cls.body
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
    )
    options: dict[str, Any] = yaml.safe_load(text)["options"]
    return options


def load_module(name: str) -> Any:
    """The module as Python (its argument specs), imported as Ansible does from the collection path."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    pytest.importorskip("ansible")
    return importlib.import_module(f"ansible_collections.pswrap.hybrid.plugins.modules.{name}")


def as_argspec(options: dict[str, Any]) -> dict[str, Any]:
    """Documented options in argument-spec form (what validate-modules compares), secrets aside."""
    out: dict[str, Any] = {}
    for name, doc in options.items():
        spec: dict[str, Any] = {"type": doc.get("type", "str")}
        for key in ("choices", "required", "default", "aliases"):
            if key in doc:
                spec[key] = doc[key]
        if "suboptions" in doc:
            spec["options"] = as_argspec(doc["suboptions"])
        out[name] = spec
    return out


def without_no_log(argspec: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, spec in argspec.items():
        spec = {k: v for k, v in spec.items() if k != "no_log"}
        if "options" in spec:
            spec["options"] = without_no_log(spec["options"])
        out[name] = spec
    return out


def test_spec_options_are_documented_as_the_spec_model_defines_them() -> None:
    documented = yaml.safe_load(module_docs("resource_mailbox")["DOCUMENTATION"])["options"]
    expected = spec_options()
    for name, option in expected.items():
        assert name in documented, f"spec field {name} is not an option of resource_mailbox"
        doc = dict(documented[name])
        if name in OWN_DESCRIPTION:
            doc.pop("description"), option.pop("description")
        assert doc == option, f"option {name} differs from the spec model (python -m tests.ansible.docspec)"


def test_resource_mailbox_argument_spec_matches_its_documentation() -> None:
    module = load_module("resource_mailbox")
    documented = yaml.safe_load(module_docs("resource_mailbox")["DOCUMENTATION"])["options"]
    assert without_no_log(module.SPEC_ARGSPEC) == as_argspec({k: documented[k] for k in module.SPEC_ARGSPEC})
    assert as_argspec({k: documented[k] for k in module.RUN_ARGSPEC}) == module.RUN_ARGSPEC
    assert set(documented) == set(module.SPEC_ARGSPEC) | set(module.RUN_ARGSPEC)
    assert set(module.SPEC_ARGSPEC) == set(MailboxSpec.model_fields)


def test_info_argument_spec_matches_its_documentation() -> None:
    module = load_module("resource_mailbox_info")
    documented = yaml.safe_load(module_docs("resource_mailbox_info")["DOCUMENTATION"])["options"]
    assert as_argspec(documented) == module.INFO_ARGSPEC


def test_connection_options_match_the_doc_fragment_and_secrets_are_no_log() -> None:
    load_module("resource_mailbox")
    common = importlib.import_module("ansible_collections.pswrap.hybrid.plugins.module_utils.pswrap_common")
    argspec = common.CONNECTION_ARGSPEC
    assert without_no_log(argspec) == as_argspec(fragment_options())
    secrets = {name for name in argspec if "password" in name}
    assert secrets == {"password", "ad_credential_password"}
    assert all(argspec[name].get("no_log") is True for name in secrets)
    for name in ("host", "port", "auth", "username", "validate_certs", "ca_path", "tenant_id", "app_id"):
        assert name in argspec


def test_examples_use_documented_options_and_valid_specs() -> None:
    module = load_module("resource_mailbox")
    options = set(module.SPEC_ARGSPEC) | set(module.RUN_ARGSPEC) | set(fragment_options())
    tasks = yaml.safe_load(module_docs("resource_mailbox")["EXAMPLES"])
    assert tasks
    for task in tasks:
        args = task["pswrap.hybrid.resource_mailbox"]
        assert set(args) <= options, set(args) - options
        params = {k: args.get(k) for k in module.SPEC_ARGSPEC}
        MailboxSpec.model_validate({**module.spec_of(params), "state": args.get("state", "present")})
    info = load_module("resource_mailbox_info")
    info_options = set(info.INFO_ARGSPEC) | set(fragment_options())
    for task in yaml.safe_load(module_docs("resource_mailbox_info")["EXAMPLES"]):
        args = task.get("pswrap.hybrid.resource_mailbox_info")
        assert args is None or set(args) <= info_options


def test_return_documents_every_value_the_module_returns() -> None:
    module = load_module("resource_mailbox")
    documented = yaml.safe_load(module_docs("resource_mailbox")["RETURN"])
    returned = set(module.outcome(MailboxResult(operation=None, status="unchanged"))) - {"changed"}
    assert set(documented) == returned | {"link", "link_state", "error"}
    for name, doc in documented.items():
        assert doc.get("description") and doc.get("returned") and doc.get("type"), name


def docs_file(name: str) -> str:
    """The YAML block of docs/ansible.md whose first line is `# NAME`."""
    import re

    text = (REPO / "docs" / "ansible.md").read_text(encoding="utf-8")
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.startswith(f"# {name}"):
            return str(block)
    raise AssertionError(f"docs/ansible.md has no yaml block starting with # {name}")


def test_docs_inventory_and_rooms_playbook_are_valid_for_ansible(tmp_path: Any) -> None:
    import json
    import subprocess

    from tests.ansible.conftest import ansible_env, ansible_tool

    (tmp_path / "inventory.yml").write_text(docs_file("inventory.yml"))
    (tmp_path / "rooms.yml").write_text(docs_file("rooms.yml"))
    env = ansible_env(tmp_path / "home")
    listed = subprocess.run(
        [ansible_tool("ansible-inventory"), "-i", "inventory.yml", "--list"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    inventory = json.loads(listed.stdout)
    assert inventory["tenants"]["hosts"] == ["contoso", "fabrikam"]
    assert inventory["_meta"]["hostvars"]["fabrikam"]["pswrap_hosts"] == {"adsync": "aadc1.fabrikam.example"}
    checked = subprocess.run(
        [ansible_tool("ansible-playbook"), "-i", "inventory.yml", "rooms.yml", "--syntax-check"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    module = load_module("resource_mailbox")
    options = set(module.SPEC_ARGSPEC) | set(module.RUN_ARGSPEC) | set(fragment_options())
    play = yaml.safe_load(docs_file("rooms.yml"))[0]
    args = play["tasks"][0]["pswrap.hybrid.resource_mailbox"]
    assert set(args) <= options and set(args["calendar"]) <= set(module.CALENDAR_ARGSPEC)


def test_closed_sets_match_pswraps() -> None:
    """Choices the modules declare are pswrap's own (a new hold or auth method shows up here)."""
    from pswrap.choices import Hold, MailboxType, values
    from pswrap.remote.target_model import AUTHS

    module = load_module("resource_mailbox")
    info = load_module("resource_mailbox_info")
    common = importlib.import_module("ansible_collections.pswrap.hybrid.plugins.module_utils.pswrap_common")
    assert module.RUN_ARGSPEC["hold"]["choices"] == list(values(Hold))
    assert info.INFO_ARGSPEC["type"]["choices"] == list(values(MailboxType))
    assert common.CONNECTION_ARGSPEC["auth"]["choices"] == list(AUTHS)
