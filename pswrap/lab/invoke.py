"""From a PSRP pipeline to a handler call: which script, which parameters, which error when none matches."""

from __future__ import annotations

import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from pswrap.lab.dispatch import HANDLERS, Invocation, PSError, World, parse_marker

# Windows PowerShell 5.1's text for an unknown command (docs/sources.md §7b item 1, verbatim).
_NOT_RECOGNIZED = (
    "The term '{name}' is not recognized as the name of a cmdlet, function, script file, or operable "
    "program. Check the spelling of the name, or if a path was included, verify that the path is correct "
    "and try again."
)


def command_not_found(name: str) -> PSError:
    """The CommandNotFoundException record WinPS 5.1 writes (docs/sources.md §7b item 1)."""
    return PSError(
        _NOT_RECOGNIZED.format(name=name),
        fqid="CommandNotFoundException",
        category="ObjectNotFound",
        target=name,
        exception_type="System.Management.Automation.CommandNotFoundException",
    )


_BLOCK_COMMENT = re.compile(r"<#.*?#>", re.S)
_WORD = re.compile(r"[A-Za-z_][\w.-]*")


def _skip_param_block(text: str) -> str:
    """Drop leading attributes (`[CmdletBinding()]`) and a `param(...)` block, balancing parentheses."""
    rest = text.lstrip()
    while rest.startswith("["):
        depth = 0
        for i, ch in enumerate(rest):
            depth += ch == "["
            depth -= ch == "]"
            if depth == 0:
                rest = rest[i + 1 :].lstrip()
                break
        else:
            return ""
    if re.match(r"param\s*\(", rest, re.I):
        depth = 0
        start = rest.index("(")
        for i in range(start, len(rest)):
            depth += rest[i] == "("
            depth -= rest[i] == ")"
            if depth == 0:
                return rest[i + 1 :]
        return ""
    return rest


def first_command_word(script: str) -> str | None:
    """The first command name of a script body after comments, attributes, param block and assignments."""
    body = _BLOCK_COMMENT.sub("", script)
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
    rest = _skip_param_block("\n".join(lines))
    for raw in re.split(r"[\n;]", rest):
        statement = raw.strip()
        if not statement or statement.startswith(("$", "[", "{", "}", "(", ")")):
            continue
        match = _WORD.match(statement)
        if match:
            return match.group(0)
    return None


@dataclass
class Call:
    """What the pipeline asks for, decoded from the PSRP CreatePipeline message."""

    script: str
    params: dict[str, Any]


def to_python(value: Any) -> Any:
    """psrpcore values to plain Python (handlers compare and JSON-dump them); SecureString decrypted."""
    from psrpcore.types import PSSecureString

    if isinstance(value, PSSecureString):
        return str(value.decrypt())
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {to_python(k): to_python(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_python(v) for v in value]
    return value


def decode_call(metadata: Any) -> Call:
    """The script and its named parameters; also `Invoke-Expression -Command <script>` (execute_ps)."""
    commands = list(getattr(metadata, "commands", []) or [])
    if not commands:
        return Call("", {})
    first = commands[0]
    params: dict[str, Any] = {}
    positional = 0
    for name, value in first.parameters:
        if name is None:
            params[f"${positional}"] = to_python(value)
            positional += 1
        else:
            params[str(name)] = to_python(value)
    if first.is_script:
        return Call(str(first.command_text), params)
    if str(first.command_text).lower() == "invoke-expression":
        script = params.pop("Command", params.pop("$0", ""))
        return Call(str(script), {})
    # A bare command (add_cmdlet): treated as a one-line script naming that command.
    return Call(str(first.command_text), params)


@dataclass
class Outcome:
    """A handler's result, its non-terminating errors, and the terminating error that failed it (if any)."""

    result: Any = None
    errors: list[PSError] = field(default_factory=list)
    failure: PSError | None = None


def python_failure(exc: BaseException) -> PSError:
    """A handler's own bug or refusal, shaped as PowerShell shapes `throw "message"` (a RuntimeException whose
    FullyQualifiedErrorId is the message, category OperationStopped), so the client sees a failed pipeline."""
    message = str(exc) or type(exc).__name__
    return PSError(message, fqid=message, category="OperationStopped", target=message)


def run_handler(
    call: Call,
    *,
    session: MutableMapping[str, Any],
    world: World,
    stopped: Callable[[], bool],
) -> Outcome:
    """Run the handler for the script's step; never raises (the server must go on whatever a handler does)."""
    marker = parse_marker(call.script)
    if marker is None:
        name = first_command_word(call.script) or call.script.strip().split(" ", 1)[0] or "<empty>"
        return Outcome(failure=command_not_found(name))
    step_id, choices = marker
    handler = HANDLERS.get(step_id)
    if handler is None:
        after_marker = call.script.split("\n", 1)[1] if "\n" in call.script else ""
        return Outcome(failure=command_not_found(first_command_word(after_marker) or step_id))
    invocation = Invocation(
        step_id=step_id,
        choices=choices,
        params=call.params,
        session=session,
        world=world,
        stopped=stopped,
    )
    try:
        result = handler(invocation)
    except PSError as exc:
        if not exc.terminating:
            return Outcome(errors=[*invocation.errors, exc])
        return Outcome(errors=invocation.errors, failure=exc)
    except Exception as exc:
        return Outcome(errors=invocation.errors, failure=python_failure(exc))
    return Outcome(result=result, errors=invocation.errors)
