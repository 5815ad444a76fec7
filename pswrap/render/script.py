"""A rendered step: the script text, and apart from it the values that travel as PSRP parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pswrap.secrets import Secret
from pswrap.steps.model import Profile, Step


@dataclass(frozen=True)
class Script:
    step: Step
    profile: Profile
    choices: Mapping[str, str]
    """Every structural choice with its effective value (defaults filled in)."""
    text: str
    """The script; its first line is `# pswrap-step: <id> k=v ...`. Contains no parameter value."""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    """Non-secret parameter values by PowerShell parameter name (sent with add_parameters)."""
    secrets: Mapping[str, Secret] = field(default_factory=dict)
    """Secret values by parameter name (sent as SecureString after the key exchange)."""

    @property
    def step_id(self) -> str:
        return self.step.id

    @property
    def marker(self) -> str:
        return self.text.split("\n", 1)[0]
