"""Where a password comes from: an environment variable, a keyring entry, or a prompt.

A target names a source, never a value, so the configuration file can be shared and pswrap never writes
a password to disk. A source is resolved only when a connection needs it (`Target.password`), so
`pswrap targets show` never prompts and a missing variable is reported when it matters, naming where it
was looked for.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Literal

from pswrap.errors import ConfigError, MissingExtra, PasswordSourceMissing
from pswrap.secrets import Secret

SourceKind = Literal["value", "env", "keyring", "prompt"]


@dataclass(frozen=True)
class SecretSource:
    """A recipe for one secret; `describe()` is what `targets show` prints (never the value)."""

    kind: SourceKind
    ref: str = ""
    """The variable name (env), the keyring service (keyring), or the prompt's label (prompt)."""
    account: str = ""
    """The keyring account (the user name the secret belongs to)."""
    value: Secret | None = field(default=None, compare=False)
    """Only for `value`: a secret handed over in memory (a flag, the embedded lab's own password)."""

    @property
    def unset(self) -> bool:
        """An environment variable source whose variable is not set (resolving it would fail)."""
        return self.kind == "env" and os.environ.get(self.ref) is None

    def describe(self) -> str:
        if self.kind == "env":
            return f"environment variable {self.ref}"
        if self.kind == "keyring":
            return f"keyring entry {self.ref!r} for {self.account!r}"
        if self.kind == "prompt":
            return "prompted for when needed"
        return "given in memory (not stored)"

    def resolve(self) -> Secret:
        if self.kind == "value":
            assert self.value is not None
            return self.value
        if self.kind == "env":
            text = os.environ.get(self.ref)
            if text is None:
                raise PasswordSourceMissing(
                    f"the password is to come from environment variable {self.ref}, which is not set",
                    hint=f"export {self.ref}=... before running pswrap (or change password_env)",
                )
            return Secret(text)
        if self.kind == "keyring":
            return _from_keyring(self.ref, self.account)
        return _prompt(self.ref)


def _from_keyring(service: str, account: str) -> Secret:
    try:
        import keyring
    except ImportError:
        raise MissingExtra(
            f"password_keyring = {service!r} needs the keyring package, which is not installed",
            hint="pip install 'pswrap[keyring]', or use password_env instead",
        ) from None
    try:
        text = keyring.get_password(service, account)
    except Exception as exc:  # keyring backends raise their own types
        raise ConfigError(
            f"could not read keyring entry {service!r} for {account!r}: {type(exc).__name__}",
            hint="check that a keyring backend is available (python -m keyring diagnose)",
        ) from None
    if text is None:
        raise PasswordSourceMissing(
            f"keyring entry {service!r} for {account!r} does not exist",
            hint=f"store it with: keyring set {service} {account}",
        )
    return Secret(text)


def _prompt(label: str) -> Secret:
    if not sys.stdin.isatty():
        raise PasswordSourceMissing(
            f"{label} is needed and there is no terminal to ask for it",
            hint="set password_env or password_keyring for the target (or PSWRAP_PASSWORD)",
        )
    import getpass

    return Secret(getpass.getpass(f"{label}: "))
