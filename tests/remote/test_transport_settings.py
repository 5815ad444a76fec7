"""How a target becomes a pypsrp connection: encryption, Basic refusal, optional extras, quiet pypsrp."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pswrap.errors import ConfigError, MissingExtra
from pswrap.remote.pools import make_wsman
from pswrap.remote.target import load_target


def test_ntlm_over_http_encrypts_messages(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text('[targets.t]\nhost = "h.example"\nscheme = "http"\nauth = "ntlm"\nusername = "u"\n'
                           'password_env = "T_PW"\n')  # fmt: skip
    monkeypatch.setenv("T_PW", "x")
    wsman = make_wsman(load_target("t"), "h.example")
    assert wsman.transport.wrap_required is True
    assert wsman.transport.endpoint == "http://h.example:5985/wsman"


@pytest.fixture
def no_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optional extras' modules are not installed, whatever this machine has."""
    import importlib.util

    real = importlib.util.find_spec
    extras = {"gssapi", "krb5", "requests_credssp"}
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name in extras else real(name, *a)
    )


def test_https_validates_against_the_ca_bundle(config_file: Path, tmp_path: Path, no_extras: None) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config_file.write_text(f'[targets.t]\nhost = "h.example"\nca_bundle = "{ca}"\nauth = "kerberos"\n')
    target = load_target("t")
    assert target.scheme == "https" and target.port == 5986
    with pytest.raises(MissingExtra, match=r"pswrap\[kerberos\]") as info:
        make_wsman(target, "h.example")
    assert info.value.hint and "pip install" in info.value.hint and info.value.exit_code == 2


def test_credssp_needs_its_extra(config_file: Path, no_extras: None) -> None:
    config_file.write_text('[targets.t]\nhost = "h.example"\nauth = "credssp"\nusername = "u"\n'
                           'password_env = "T_PW"\n')  # fmt: skip
    with pytest.raises(MissingExtra, match=r"pswrap\[credssp\]"):
        make_wsman(load_target("t"), "h.example")


def test_basic_over_http_allowed_sends_without_encryption(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_file.write_text('[targets.t]\nhost = "::1"\nscheme = "http"\nauth = "basic"\nusername = "u"\n'
                           'password_env = "T_PW"\nallow_basic_over_http = true\n')  # fmt: skip
    monkeypatch.setenv("T_PW", "x")
    assert make_wsman(load_target("t"), "::1").transport.wrap_required is False


def test_basic_over_http_refused_even_from_flags(config_file: Path) -> None:
    config_file.write_text('[targets.t]\nhost = "h"\nscheme = "https"\nauth = "basic"\nusername = "u"\n')
    with pytest.raises(ConfigError, match="Basic over plain HTTP"):
        load_target("t", overrides={"scheme": "http"})


def test_certificate_auth_needs_https_and_pem_files(config_file: Path) -> None:
    config_file.write_text('[targets.t]\nhost = "h"\nauth = "certificate"\n')
    with pytest.raises(ConfigError, match="client_certificate"):
        load_target("t")


def test_session_keeps_pypsrp_quiet() -> None:
    from pswrap.remote.session import Session, open_session

    logging.getLogger("pypsrp").setLevel(logging.DEBUG)
    session = open_session(load_target("lab").with_endpoint(port=1))  # not started: is_lab with a port
    assert isinstance(session, Session)
    session.close()
    assert logging.getLogger("pypsrp").level == logging.WARNING
