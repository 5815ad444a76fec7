"""A value that must never be shown.

Secrets travel through pswrap wrapped in `Secret` so that no f-string, log call, repr, JSON dump or
exception message can leak them by accident; only the runner unwraps one, to serialize it as a PSRP
SecureString after the key exchange.
"""

from __future__ import annotations

MASK = "********"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The clear text; call only where it becomes a SecureString."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)
