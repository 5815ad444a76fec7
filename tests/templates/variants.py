"""Every rendered variant of every step: each profile it exists in x each combination of its choices x
each subset of its optional parameters. It is small (a few hundred scripts), so the checks run on all.

A few combinations are refused on purpose by the templates (`fail()`); `refusal()` names them, so a
test can check that exactly those are refused and that a template bug raising BadInput is not skipped.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pswrap.secrets import Secret
from pswrap.steps import all_steps
from pswrap.steps.model import Param, Profile, Step

SAMPLE: dict[str, object] = {
    "string": "sample",
    "string[]": ["SMTP:one@example.com", "smtp:two@example.com"],
    "int": 12,
    "bool": True,
    "switch": True,
    "guid": "35918bc9-196d-40ea-9779-889d79b753f0",
    "securestring": Secret("sample-secret"),
    "datetime": "2026-11-27T12:00:00Z",
}


@dataclass(frozen=True)
class Variant:
    step: Step
    profile: Profile
    choices: Mapping[str, str]
    given: frozenset[str]
    """Optional parameters given in this variant (mandatory ones always are)."""

    @property
    def label(self) -> str:
        parts = [self.step.id, self.profile, *(f"{k}={v}" for k, v in self.choices.items())]
        return " ".join(parts) + (" +" + ",".join(sorted(self.given)) if self.given else "")

    def params(self, values: Mapping[str, object] | None = None) -> dict[str, object]:
        """Values for the mandatory and the given optional parameters (`values` by type overrides SAMPLE)."""
        table = {**SAMPLE, **(values or {})}
        return {p.name: table[p.type] for p in self.step.params if p.mandatory or p.name in self.given}


MANY_OPTIONAL = 6
"""Above this many optional parameters (exo/set-calendar-processing has 12), every subset would be
thousands of scripts: such a step's variants are none given, each alone, and all. Its template passes
each parameter in a block of its own, so pairs add nothing the singles do not cover."""


def _subsets(optional: list[Param]) -> Iterator[tuple[Param, ...]]:
    if len(optional) > MANY_OPTIONAL:
        yield ()
        yield from ((p,) for p in optional)
        yield tuple(optional)
        return
    for size in range(len(optional) + 1):
        yield from itertools.combinations(optional, size)


def variants(step: Step) -> Iterator[Variant]:
    optional: list[Param] = [p for p in step.params if not p.mandatory]
    names = [c.name for c in step.choices]
    for profile in step.profiles:
        for values in itertools.product(*[c.values for c in step.choices]):
            choices = dict(zip(names, values, strict=True))
            for subset in _subsets(optional):
                yield Variant(step, profile, choices, frozenset(p.name for p in subset))


def all_variants() -> Iterator[Variant]:
    for step in all_steps():
        yield from variants(step)


def refusal(variant: Variant) -> str | None:
    """Why the templates refuse this variant, or None when it must render."""
    given = variant.given
    names = {p.name for p in variant.step.params}
    half_credential = ("CredentialUser" in given) != ("CredentialPassword" in given)
    if variant.step.area == "ad" and {"CredentialUser", "CredentialPassword"} <= names and half_credential:
        # ad/_connection.ps1.j2, which every AD template includes
        return "both CredentialUser and CredentialPassword"
    sid = variant.step.id
    if sid == "exo/find-recipients" and not given:
        return "needs Alias, Addresses or both"
    if sid == "exo/set-mailbox" and not given:
        return "needs at least one value to set"
    if sid == "graph/set-user" and not given:
        return "needs OnPremisesImmutableId, UserPrincipalName or both"
    if sid == "exo/new-mailbox" and "ResourceCapacity" in given and variant.choices["type"] != "room":
        return "ResourceCapacity is for rooms only"
    return None
