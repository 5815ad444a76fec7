"""Reading specs from files: YAML, TOML, JSON (one spec or a list) and CSV (a row per mailbox).

CSV: a column per field, nested fields as `calendar.booking_window_days`, list fields separated by `;`
(`{add}`/`{remove}` as `calendar.resource_delegates.add`), and an empty cell means "leave alone". Every
problem is a `BadInput` (exit 2) naming the spec and the field, raised before anything remote is read.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from pswrap.desired.spec import LIST_FIELDS, MailboxSpec
from pswrap.errors import BadInput

FORMATS = ("yaml", "toml", "json", "csv")
_SUFFIX = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json", ".csv": "csv"}


def read_source(source: str, fmt: str | None = None) -> tuple[str, str]:
    """The text of SPEC (a path, or `-` for stdin) and its format (from `fmt`, the suffix, else YAML,
    which also reads JSON)."""
    if fmt is not None and fmt not in FORMATS:
        raise BadInput(f"unknown spec format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if source == "-":
        return sys.stdin.read(), fmt or "yaml"
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"cannot read the spec file {source}: {exc.strerror or exc}") from None
    return text, fmt or _SUFFIX.get(path.suffix.lower(), "yaml")


def load_specs(text: str, fmt: str, *, origin: str = "spec") -> list[MailboxSpec]:
    """Parse and validate: one spec or a list of them."""
    if fmt == "csv":
        documents: list[Any] = csv_documents(text, origin)
    else:
        data = _parse(text, fmt, origin)
        if isinstance(data, dict) and set(data) == {"mailboxes"}:
            data = data["mailboxes"]  # TOML has no top-level list: [[mailboxes]] tables
        documents = data if isinstance(data, list) else [data]
    many = len(documents) > 1
    specs = [validate(doc, f"{origin}[{n}]" if many else origin) for n, doc in enumerate(documents)]
    seen: dict[str, int] = {}
    for n, spec in enumerate(specs):
        key = spec.alias.lower()
        if key in seen:
            raise BadInput(
                f"{origin}: the alias {spec.alias} is declared twice (entries {seen[key]} and {n})"
            )
        seen[key] = n
    if not specs:
        raise BadInput(f"{origin} declares no mailbox")
    return specs


def _parse(text: str, fmt: str, origin: str) -> Any:
    try:
        if fmt == "json":
            return json.loads(text)
        if fmt == "toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover
                import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
            return tomllib.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as exc:  # each parser has its own error type; all mean the same to the user
        raise BadInput(f"{origin} is not valid {fmt.upper()}: {exc}") from None


def validate(document: Any, where: str) -> MailboxSpec:
    """One spec from its parsed form; pydantic's errors become one message naming every field."""
    from pydantic import ValidationError

    if not isinstance(document, dict):
        raise BadInput(f"{where}: a mailbox spec is a mapping of fields, not {type(document).__name__}")
    try:
        spec = MailboxSpec.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"]) or "(spec)"
            problems.append(f"{path}: {error['msg']}")
        alias = document.get("alias")
        label = f"{where} ({alias})" if isinstance(alias, str) else where
        raise BadInput(
            f"{label} is not a valid mailbox spec: " + "; ".join(problems),
            hint="`pswrap mailbox schema` prints every field with its type",
        ) from None
    return spec


def csv_documents(text: str, origin: str) -> list[dict[str, Any]]:
    """Rows as nested documents: dotted columns nest, list columns split on `;`, empty cells are left
    out."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "alias" not in [f.strip() for f in reader.fieldnames]:
        raise BadInput(f"{origin}: a CSV spec needs a header row with an alias column")
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row:
            raise BadInput(f"{origin}, line {line}: more cells than columns")
        doc: dict[str, Any] = {}
        for column, cell in row.items():
            value = (cell or "").strip()
            if not value:
                continue  # an empty cell means "leave alone"
            path = column.strip()
            parts = path.split(".")
            is_list = path in LIST_FIELDS or (
                parts[-1] in ("add", "remove") and ".".join(parts[:-1]) in LIST_FIELDS
            )
            _put(doc, parts, [v.strip() for v in value.split(";") if v.strip()] if is_list else value, origin)
        rows.append(doc)
    return rows


def _put(doc: dict[str, Any], parts: list[str], value: Any, origin: str) -> None:
    node = doc
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise BadInput(f"{origin}: column {'.'.join(parts)} conflicts with column {part}")
        node = child
    node[parts[-1]] = value
