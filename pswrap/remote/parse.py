"""A step's output stream → its typed result.

Why pydantic (see pswrap/results/base.py): the JSON arrives as untrusted text from another machine and
each field needs 5.1-tolerant coercion with errors that name the field; pydantic does that declaratively.

The contract (docs/design.md): a template writes exactly one JSON document. What arrives may still be:
- one string holding the document (our emitter), or several strings that together are one document
  (ConvertTo-Json output split by a host or by `Out-String -Stream`);
- nothing at all, or only `''`/`$null`: "nothing" (5.1's ConvertTo-Json writes nothing for `@()` or
  `$null`), which is the model built from its defaults — no leases, no runs, no recipients;
  a model with a required field (a lookup's `found`) cannot be "nothing": an OutputError, because a step
  that should describe something and says nothing is a broken template, not an answer;
- an already-deserialized object (a caller's own script that returns a hashtable): used as is.
"""

from __future__ import annotations

import json
from typing import Any

from pswrap.errors import OutputError
from pswrap.results.base import PSModel
from pswrap.steps.model import Step

QUOTE_LIMIT = 200


def _quote(text: str) -> str:
    text = text.strip()
    return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT] + f"... ({len(text)} chars)"


def _as_text(item: Any) -> str | None:
    if item is None:
        return ""
    if isinstance(item, str):
        return item
    return None


def output_document(step_id: str, output: list[Any]) -> Any:
    """The one JSON document of an output stream as Python data; None for "nothing"."""
    texts = [_as_text(o) for o in output]
    if output and all(t is None for t in texts) and len(output) == 1:
        return _plain(output[0])
    if any(t is None for t in texts):
        kinds = ", ".join(type(o).__name__ for o in output[:5])
        raise OutputError(
            f"step {step_id} wrote objects ({kinds}) where one JSON document was expected",
            hint="the template must end with its JSON emitter and write nothing else to the output stream",
        )
    text = "\n".join(t for t in texts if t is not None).strip().lstrip("\ufeff")
    if not text or text == "null":
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputError(
            f"step {step_id} did not write one JSON document ({exc.msg} at char {exc.pos}): {_quote(text)!r}",
            hint="a template writes exactly one JSON document (no Write-Output of other values)",
        ) from None


def _plain(obj: Any) -> Any:
    """A deserialized PSRP object (GenericComplexObject, dicts, lists) as plain Python data."""
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    props: dict[str, Any] = {}
    for attr in ("adapted_properties", "extended_properties"):
        p = getattr(obj, attr, None)
        if isinstance(p, dict):
            props.update(p)
    if props:
        return {str(k): _plain(v) for k, v in props.items()}
    return str(obj)


def parse_output(step: Step, output: list[Any]) -> PSModel:
    """Validate the step's document against `step.result`; OutputError names the step and quotes the text."""
    assert step.result is not None, "legacy steps are never run"
    from pydantic import ValidationError

    doc = output_document(step.id, output)
    model = step.result
    try:
        return model.model_validate({} if doc is None else doc)
    except ValidationError as exc:
        if doc is None:
            raise OutputError(
                f"step {step.id} wrote no output; {model.__name__} was expected",
                hint="the template must end with its JSON emitter",
            ) from None
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "(document)"
        raw = json.dumps(doc, default=str)
        raise OutputError(
            f"step {step.id}'s output does not fit {model.__name__} ({field}: {first.get('msg')}): "
            f"{_quote(raw)!r}",
            hint="the template's emitter and pswrap/results/models.py disagree; "
            "report it with the --debug output",
        ) from None
