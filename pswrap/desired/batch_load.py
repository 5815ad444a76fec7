"""Reading a file of many specs row by row: a bad row is refused alone (its reason kept), the others load.

A file that cannot be parsed at all, or declares nothing, is still one input error (exit 2) before
anything is read remotely: there is no row to keep apart from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pswrap.desired.load import _parse, csv_documents, validate
from pswrap.desired.spec import MailboxSpec
from pswrap.errors import BadInput


@dataclass
class Row:
    """One entry of the file: its spec, or why it was refused."""

    index: int
    alias: str
    spec: MailboxSpec | None = None
    error: BadInput | None = None
    document: dict[str, Any] | None = None


def documents(text: str, fmt: str, origin: str) -> list[Any]:
    if fmt == "csv":
        return list(csv_documents(text, origin))
    data = _parse(text, fmt, origin)
    if isinstance(data, dict) and set(data) == {"mailboxes"}:
        data = data["mailboxes"]  # TOML has no top-level list: [[mailboxes]] tables
    return data if isinstance(data, list) else [data]


def load_rows(text: str, fmt: str, *, origin: str = "spec") -> list[Row]:
    """Every entry, validated alone; an alias declared twice refuses the later entries."""
    docs = documents(text, fmt, origin)
    if not docs:
        raise BadInput(f"{origin} declares no mailbox")
    return rows_of(docs, origin)


def rows_of(docs: list[Any], origin: str) -> list[Row]:
    rows: list[Row] = []
    seen: dict[str, int] = {}
    many = len(docs) > 1
    for n, doc in enumerate(docs):
        alias = doc.get("alias") if isinstance(doc, dict) else None
        row = Row(n, str(alias) if isinstance(alias, str) and alias else f"#{n}")
        row.document = doc if isinstance(doc, dict) else None
        try:
            row.spec = validate(doc, f"{origin}[{n}]" if many else origin)
        except BadInput as exc:
            row.error = exc
            rows.append(row)
            continue
        key = row.spec.alias.lower()
        if key in seen:
            row.error = BadInput(
                f"{origin}: the alias {row.spec.alias} is declared twice (entries {seen[key]} and {n})",
                hint="one entry per mailbox: the alias is the identity",
            )
            row.spec = None
        else:
            seen[key] = n
        rows.append(row)
    return rows
