"""`pswrap lab serve --auth negotiate|kerberos --keytab FILE` as an admin starts it, and its refusals."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.kerberos.conftest import Ran, Realm
from tests.lab.conftest import ServedLab, lab_serve, lab_state  # noqa: F401  (fixtures)


def test_serve_kerberos_with_a_keytab(
    realm: Realm, krb_env: Path, lab_serve: Callable[..., ServedLab],  # noqa: F811
    target: Callable[..., str], cli: Callable[..., Ran],
) -> None:
    served = lab_serve("--auth", "kerberos", "--keytab", str(realm.lab_keytab), "--host", "localhost")
    assert served.url.startswith("http://localhost:")
    assert "auth:   kerberos\n" in served.banner
    assert f"keytab: {realm.lab_keytab}" in served.banner
    realm.kinit(krb_env)
    lab = SimpleNamespace(endpoint=SimpleNamespace(host="localhost", port=served.port, scheme="http",
                                                   ca_path=None))
    ran = cli("run", "sync/get-settings", "--output", "json", "--target", target(lab))
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["staging_mode"] is False
    code, rest = served.terminate()
    assert code == 0, rest


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--auth", "kerberos"], "needs a keytab"),
        (["--auth", "kerberos", "--keytab", "/nonexistent/lab.keytab"], "cannot read the keytab"),
        (["--auth", "negotiate", "--keytab", "NOT_A_KEYTAB"], "is not a Kerberos keytab"),
        (["--auth", "ntlm", "--keytab", "KEYTAB"], "only with auth negotiate or kerberos"),
        (["--auth", "gssapi"], "use --auth basic, ntlm, negotiate or kerberos"),
    ],
    ids=["no-keytab", "missing-keytab", "not-a-keytab", "keytab-with-ntlm", "unknown-auth"],
)
def test_serve_refuses_kerberos_settings_that_cannot_work(
    realm: Realm, krb_env: Path, cli: Callable[..., Ran], tmp_path: Path, args: list[str], needle: str,
) -> None:
    not_a_keytab = tmp_path / "notes.txt"
    not_a_keytab.write_text("hello")
    args = [str(not_a_keytab) if a == "NOT_A_KEYTAB" else str(realm.lab_keytab) if a == "KEYTAB" else a
            for a in args]
    ran = cli("lab", "serve", "--port", "0", *args)
    assert ran.code == 2, ran.err
    assert needle in ran.err and "Traceback" not in ran.err


def test_serve_help_documents_kerberos(cli: Callable[..., Any]) -> None:
    ran = cli("lab", "serve", "--help")
    assert "--keytab" in ran.out and "kerberos" in ran.out
