"""docs/api.md's examples run, in order, in one namespace, against the embedded lab: they cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


def test_the_page_has_examples_for_every_public_method() -> None:
    code = "\n".join(blocks())
    for name in (
        "connect(",
        "create_mailbox(",
        "resume(",
        "sync_status(",
        "start_sync(",
        "wait_sync(",
        "operations(",
        "operation(",
        "doctor(",
        "dry_run=True",
        "apply_mailbox(",
        "show_mailbox(",
        "list_mailboxes(",
    ):
        assert name in code, f"docs/api.md shows no example of {name}"


def test_every_example_of_the_api_page_runs_against_the_lab(env: dict[str, str]) -> None:
    namespace: dict[str, object] = {"__name__": "docs_api"}
    for n, block in enumerate(blocks(), 1):
        try:
            exec(compile(block, f"docs/api.md block {n}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message names the failing block
            raise AssertionError(f"docs/api.md python block {n} failed: {exc!r}\n{block}") from exc
    result = namespace["result"]
    assert getattr(result, "status", None) == "completed"
