"""Targets and configuration: the file, precedence (flags > env > file > defaults), errors, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from pswrap.errors import ConfigError
from pswrap.remote.target import list_targets, load_target, select_target
from pswrap.secrets import Secret

CORP = """
default_target = "corp"

[targets.corp]
host = "sync01.corp.example"
auth = "ntlm"
username = "CORP\\\\svc-pswrap"
password_env = "CORP_PW"
ca_bundle = "{ca}"
profile = "modern"
domain_controller = "dc01.corp.example"
organization = "corp.onmicrosoft.com"
tenant_id = "11111111-2222-3333-4444-555555555555"
app_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
certificate_thumbprint = "ABCDEF0123456789ABCDEF0123456789ABCDEF01"
staging_ou = "OU=Staging,DC=corp,DC=example"
resource_ou = "OU=Rooms,DC=corp,DC=example"
upn_suffix = "corp.example"
ad_credential_user = "CORP\\\\svc-ad"
ad_credential_password_env = "CORP_AD_PW"

[targets.corp.hosts]
exo = "mgmt01.corp.example"
graph = "mgmt01.corp.example"

[targets.other]
host = "other.example"
scheme = "http"
auth = "ntlm"
"""


@pytest.fixture
def corp(config_file: Path, tmp_path: Path) -> Path:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config_file.write_text(CORP.replace("{ca}", str(ca)))
    return config_file


def test_file_settings_and_defaults(corp: Path) -> None:
    t = load_target()
    assert t.name == "corp"
    assert (t.host, t.scheme, t.port, t.auth) == ("sync01.corp.example", "https", 5986, "ntlm")
    assert t.hosts["exo"] == "mgmt01.corp.example"
    assert t.hosts["ad"] == "sync01.corp.example"  # every need defaults to host
    assert t.cert_validation is True and t.ca_bundle and t.ca_bundle.endswith("ca.pem")
    assert t.domain_controller == "dc01.corp.example"
    assert t.profile == "modern" and t.username == "CORP\\svc-pswrap"
    assert (t.organization, t.tenant_id, t.app_id, t.certificate_thumbprint) == (
        "corp.onmicrosoft.com",
        "11111111-2222-3333-4444-555555555555",
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "ABCDEF0123456789ABCDEF0123456789ABCDEF01",
    )
    assert (t.staging_ou, t.resource_ou, t.upn_suffix) == (
        "OU=Staging,DC=corp,DC=example",
        "OU=Rooms,DC=corp,DC=example",
        "corp.example",
    )
    assert t.password_source and t.password_source.describe() == "environment variable CORP_PW"
    assert t.ad_credential_user == "CORP\\svc-ad"
    src = t.ad_credential_password_source
    assert src and src.describe() == "environment variable CORP_AD_PW"
    assert t.sources["host"] == f"file {corp}"
    assert t.sources["port"] == "default"
    assert t.sources["target"] == "file default_target"
    assert not t.is_lab


def test_http_default_port_is_5985(corp: Path) -> None:
    assert load_target("other").port == 5985


def test_env_overrides_file_and_flag_overrides_env(corp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_HOST", "from-env.example")
    monkeypatch.setenv("PSWRAP_HOSTS_GRAPH", "graph-env.example")
    monkeypatch.setenv("PSWRAP_STEP_TIMEOUT", "12.5")
    t = load_target()
    assert t.host == "from-env.example" and t.sources["host"] == "env PSWRAP_HOST"
    assert t.hosts["graph"] == "graph-env.example"
    assert t.step_timeout == 12.5
    t2 = load_target(overrides={"host": "from-flag.example", "step_timeout": 3})
    assert t2.host == "from-flag.example" and t2.sources["host"] == "flag"
    assert t2.step_timeout == 3.0


def test_target_choice_flag_env_file(corp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert select_target(None).name == "corp"
    monkeypatch.setenv("PSWRAP_TARGET", "other")
    assert load_target().name == "other"
    assert load_target("corp").name == "corp"  # --target beats PSWRAP_TARGET


def test_no_config_at_all_means_the_lab() -> None:
    sel = select_target(None)
    assert (sel.name, sel.origin) == ("lab", "none configured")
    t = load_target()
    assert t.is_lab and t.host == "127.0.0.1"
    assert [x.name for x in list_targets()] == ["lab"]


def test_lab_settings_come_from_the_lab_world() -> None:
    from pswrap.lab.world import LAB_DEFAULTS

    t = load_target("lab")
    assert t.upn_suffix == LAB_DEFAULTS.upn_suffix
    assert t.tenant_id == LAB_DEFAULTS.tenant_id
    assert t.organization == LAB_DEFAULTS.tenant_domain
    assert t.sources["tenant_id"] == "lab"


def test_password_from_env_is_lazy(corp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = load_target()  # loading never resolves the secret
    with pytest.raises(ConfigError, match="CORP_PW"):
        _ = t.password
    monkeypatch.setenv("CORP_PW", "s3cret-value")
    assert t.password == Secret("s3cret-value")
    assert "s3cret-value" not in repr(t)


def test_password_env_var_overrides(corp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_PASSWORD", "from-pswrap-env")
    t = load_target()
    assert t.password == Secret("from-pswrap-env")
    assert t.sources["password"] == "env PSWRAP_PASSWORD"


def test_password_keyring(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    store = {("pswrap-corp", "svc"): "kr-secret"}
    monkeypatch.setattr(keyring, "get_password", lambda service, user: store.get((service, user)))
    config_file.write_text('[targets.k]\nhost = "h"\nusername = "svc"\npassword_keyring = "pswrap-corp"\n')
    assert load_target("k").password == Secret("kr-secret")
    store.clear()
    with pytest.raises(ConfigError, match="keyring entry 'pswrap-corp' for 'svc' does not exist"):
        _ = load_target("k").password


def test_prompt_needs_a_terminal(config_file: Path) -> None:
    config_file.write_text('[targets.p]\nhost = "h"\nusername = "svc"\n')
    t = load_target("p")
    assert t.password_source is not None and t.password_source.kind == "prompt"
    with pytest.raises(ConfigError, match="no terminal"):
        _ = t.password  # pytest's stdin is not a terminal


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[targets.x]\nhost = "h"\nport = 70000\n', "port: must be a port number"),
        ('[targets.x]\nhost = "h"\nauth = "digest"\n', "auth: must be one of"),
        ('[targets.x]\nhost = "h"\nhots = "typo"\n', "unknown key 'hots'"),
        ('[targets.x]\nhost = "h"\npassword = "plain"\n', "does not read passwords from its configuration"),
        ('[targets.x]\nscheme = "http"\n', "host: missing"),
        (
            '[targets.x]\nhost = "h"\nscheme = "http"\nauth = "basic"\nusername = "u"\n',
            "Basic over plain HTTP",
        ),
        ('[targets.x]\nhost = "h"\ncert_validation = "maybe"\n', "cert_validation: must be true or false"),
        (
            '[targets.x]\nhost = "h"\nca_bundle = "/nonexistent/ca.pem"\n',
            "ca_bundle: /nonexistent/ca.pem is not",
        ),
        ('[targets.x]\nhost = "h"\n[targets.x.hosts]\nexchange = "e"\n', "hosts.exchange: unknown need"),
        ('[targets.x\nhost = "h"\n', "not valid TOML"),
        ('[targets.x]\nhost = "h"\nstep_timeout = -1\n', "step_timeout: must be a positive"),
    ],
)
def test_invalid_config_names_file_key_and_problem(config_file: Path, text: str, needle: str) -> None:
    config_file.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_target("x")
    assert str(config_file) in str(info.value)
    assert needle in str(info.value)


def test_basic_over_http_allowed_only_explicitly(config_file: Path) -> None:
    config_file.write_text(
        '[targets.x]\nhost = "127.0.0.1"\nscheme = "http"\nauth = "basic"\nusername = "u"\n'
        "allow_basic_over_http = true\n"
    )
    assert load_target("x").allow_basic_over_http


def test_invalid_env_value_names_the_variable(corp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSWRAP_PORT", "many")
    with pytest.raises(ConfigError, match="environment variable PSWRAP_PORT: port"):
        load_target()


def test_unknown_target_lists_known(corp: Path) -> None:
    with pytest.raises(ConfigError, match="no target named 'nope'") as info:
        load_target("nope")
    assert info.value.hint and "corp" in info.value.hint and "lab" in info.value.hint


def test_several_targets_and_none_chosen(config_file: Path) -> None:
    config_file.write_text('[targets.a]\nhost = "a"\n[targets.b]\nhost = "b"\n')
    with pytest.raises(ConfigError, match="several targets"):
        load_target()


def test_missing_config_named_by_env_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PSWRAP_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml"):
        load_target()


def test_xdg_config_home_location(tmp_path: Path) -> None:
    path = tmp_path / "config" / "pswrap" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text('[targets.only]\nhost = "only.example"\n')
    t = load_target()
    assert t.name == "only" and t.host == "only.example"


def test_prompt_with_a_terminal_asks_once_and_echoes_nothing(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: list[str] = []

    def ask(prompt: str = "") -> str:
        asked.append(prompt)
        return "typed-secret"

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", ask)
    config_file.write_text('[targets.p]\nhost = "h"\nusername = "svc"\n')
    assert load_target("p").password == Secret("typed-secret")
    assert asked == ["Password for svc@h: "]


def test_ad_password_from_keyring(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring

    monkeypatch.setattr(keyring, "get_password", lambda service, user: f"{service}/{user}")
    config_file.write_text(
        '[targets.k]\nhost = "h"\nad_credential_user = "CORP\\\\ad"\n'
        'ad_credential_password_keyring = "pswrap-ad"\n'
    )
    assert load_target("k").ad_credential_password == Secret("pswrap-ad/CORP\\ad")
