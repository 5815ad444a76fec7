"""The connection options become a pswrap target (module_utils/pswrap_common.py), checked as pswrap checks
its configuration file's keys, without connecting."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

from pswrap.errors import ConfigError
from tests.ansible.conftest import REPO


@pytest.fixture
def common(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import os

    for name in list(os.environ):
        if name.startswith("PSWRAP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return importlib.import_module("ansible_collections.pswrap.hybrid.plugins.module_utils.pswrap_common")


def test_options_are_keyed_as_target_settings(common: Any) -> None:
    params = {
        "target": "corp",
        "host": None,
        "validate_certs": False,
        "ca_path": "/etc/ca.pem",
        "hosts": {"adsync": "sync1.corp.example"},
        "password": "pw",
        "port": None,
    }
    assert common.settings_of(params) == {
        "cert_validation": False,
        "ca_bundle": "/etc/ca.pem",
        "hosts.adsync": "sync1.corp.example",
        "password": "pw",
    }


def test_a_host_makes_a_target_of_the_options(common: Any, tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    params = {
        "host": "hybrid1.corp.example",
        "auth": "ntlm",
        "username": "CORP\\svc",
        "password": "not-shown-anywhere",
        "validate_certs": True,
        "ca_path": str(ca),
        "hosts": {"adsync": "sync1.corp.example"},
        "tenant_id": "t-1",
        "app_id": "a-1",
    }
    target = common.connect(params).target()
    assert target.name == "hybrid1.corp.example" and not target.is_lab
    assert (target.scheme, target.port, target.auth) == ("https", 5986, "ntlm")
    assert target.ca_bundle == str(ca) and target.cert_validation is True
    assert target.host_for("adsync") == "sync1.corp.example" and target.host_for("exo") == params["host"]
    assert (target.tenant_id, target.app_id) == ("t-1", "a-1")
    assert target.password.reveal() == "not-shown-anywhere"
    assert "not-shown-anywhere" not in repr(target)


def test_no_target_and_no_host_is_the_embedded_lab(common: Any) -> None:
    assert common.connect({}).target().is_lab


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"host": "h", "port": 70000}, "port"),
        ({"host": "h", "scheme": "http", "auth": "basic", "username": "u"}, "Basic over plain HTTP"),
        ({"target": "corp"}, "no target named 'corp'"),
        ({"target": "corp", "port": 5985}, "no target named 'corp'"),
    ],
)
def test_bad_connection_options_are_config_errors(common: Any, params: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        common.connect(params).target()
    assert caught.value.exit_code == 2
