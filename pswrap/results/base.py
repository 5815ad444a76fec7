"""The base of every step's output model, tolerant of Windows PowerShell 5.1's ConvertTo-Json.

Why pydantic and not dataclasses: a step's output arrives as untrusted JSON text from another machine,
and each field needs coercion (5.1 writes dates as `\\/Date(ms)\\/`, enums as numbers, and unwraps a
one-item array into a bare object). pydantic validates and coerces in one declarative place and gives
errors that name the offending field; the dataclass route would be a hand-written validator per model.
pydantic is imported only when a step result is parsed, never by `pswrap --version`.

Our templates' emitter already writes ISO dates, enum names and real arrays; these types also accept
5.1's native forms so that output from an admin's own script, or an older template, still parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

T = TypeVar("T")

_MS_DATE = re.compile(r"^\\?/Date\((-?\d+)([+-]\d{4})?\)\\?/$")


class PSModel(BaseModel):
    """A step's parsed output. Unknown keys are ignored; models are immutable values."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def _ps_date(value: Any) -> Any:
    if isinstance(value, str):
        m = _MS_DATE.match(value.strip())
        if m:
            return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=timezone.utc)
    return value


def _as_list(value: Any) -> Any:
    # ConvertTo-Json in 5.1 unwraps a one-item array into the item, and $null into nothing.
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


PSDateTime = Annotated[datetime, BeforeValidator(_ps_date)]
"""A date as ISO 8601 or as 5.1's `\\/Date(ms)\\/`."""

PSList = Annotated[list[T], BeforeValidator(_as_list)]
"""A list that also accepts a single object or null (5.1's unwrapping)."""


def enum_text(names: Mapping[int, str]) -> BeforeValidator:
    """A `str` field holding an enum's name that also accepts the number 5.1's ConvertTo-Json writes.

    Mapped by the enum's documented values, not by position: flags enums such as RecipientTypeDetails
    have values like 16 or 8589934592. An unknown number is left as it is, so the model rejects it
    (naming the field) instead of guessing.
    """

    def convert(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return names.get(value, value)
        return value

    return BeforeValidator(convert)
