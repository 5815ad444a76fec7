"""A `Secret` never shows its value, however it is turned into text: str, repr, f-strings, %-formatting
in log records, JSON dumps, exception messages, containers holding it, and the objects that carry one
(a password source, a target). Only `reveal()` gives the clear text."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from pswrap.errors import PswrapError
from pswrap.journal import Journal
from pswrap.remote.secret_sources import SecretSource
from pswrap.secrets import MASK, Secret

CLEAR = "Tr0ub4dor&3-clear-text"


def test_reveal_is_the_only_way_to_the_value() -> None:
    secret = Secret(CLEAR)
    assert secret.reveal() == CLEAR
    assert str(secret) == MASK
    assert repr(secret) == f"Secret({MASK!r})"


@pytest.mark.parametrize(
    "shown",
    [
        lambda s: str(s),
        lambda s: repr(s),
        lambda s: f"{s}",
        lambda s: f"{s!r}",
        lambda s: f"{s!s:>40}",
        lambda s: format(s),
        lambda s: "%s" % s,  # noqa: UP031 (the form under test)
        lambda s: "%r" % (s,),  # noqa: UP031
        lambda s: "{} {!r}".format(s, s),  # noqa: UP032
        lambda s: str([s]),
        lambda s: str((s, "other")),
        lambda s: str({"CredentialPassword": s}),
        lambda s: repr({"nested": {"list": [s, {s}]}}),
        lambda s: json.dumps({"CredentialPassword": s}, default=str),
        lambda s: json.dumps([s], default=repr),
    ],
    ids=[
        "str", "repr", "f-string", "f-string-r", "f-string-padded", "format", "percent-s", "percent-r",
        "str.format", "list", "tuple", "dict", "nested", "json-default-str", "json-default-repr",
    ],
)  # fmt: skip
def test_no_text_form_shows_the_value(shown: Callable[[Secret], str]) -> None:
    text = shown(Secret(CLEAR))
    assert CLEAR not in text
    assert MASK in text


def test_json_without_a_default_refuses_rather_than_leaks() -> None:
    with pytest.raises(TypeError) as info:
        json.dumps({"p": Secret(CLEAR)})
    assert CLEAR not in str(info.value)


def test_log_records_with_percent_arguments_show_the_mask(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pswrap.test-secrets")
    log = logging.getLogger("pswrap.test-secrets")
    secret = Secret(CLEAR)
    log.debug("password %s", secret)
    log.info("password %r", secret)
    log.warning("params %s", {"CredentialPassword": secret})
    log.error("args %s and %r", [secret], (secret,))
    formatted = [logging.Formatter("%(levelname)s %(message)s").format(r) for r in caplog.records]
    assert len(formatted) == 4
    assert all(CLEAR not in line and MASK in line for line in formatted), formatted
    assert CLEAR not in caplog.text


def test_exception_messages_and_tracebacks_show_the_mask() -> None:
    secret = Secret(CLEAR)
    try:
        raise PswrapError(f"could not use {secret}", hint=f"check {secret!r}")
    except PswrapError as err:
        shown = str(err) + " " + (err.hint or "") + "".join(traceback.format_exception(err))
    assert CLEAR not in shown
    assert shown.count(MASK) >= 2
    with pytest.raises(ValueError) as info:
        raise ValueError("bad value", {"CredentialPassword": secret})
    assert CLEAR not in str(info.value) and CLEAR not in repr(info.value)


def test_objects_carrying_a_secret_do_not_show_it() -> None:
    source = SecretSource("value", value=Secret(CLEAR))
    assert CLEAR not in repr(source) and CLEAR not in str(source)
    assert CLEAR not in source.describe()
    assert source.resolve().reveal() == CLEAR


def test_equality_and_hash_compare_values_without_showing_them() -> None:
    assert Secret(CLEAR) == Secret(CLEAR)
    assert Secret(CLEAR) != Secret("other")
    assert Secret(CLEAR) != CLEAR  # never equal to the bare text: no accidental unwrapping
    assert len({Secret(CLEAR), Secret(CLEAR)}) == 1
    assert bool(Secret("")) is False and bool(Secret(CLEAR)) is True


def test_a_secret_reaching_the_journal_is_stored_masked(tmp_path: Path) -> None:
    """The journal turns what it cannot encode into text (`default=str`): a Secret in a step summary or
    error is stored as the mask, and the file on disk never holds the clear text."""
    journal = Journal(tmp_path / "journal.sqlite3")
    op = journal.start("mailbox.create", {"alias": "room1"}, target="lab", identity="room1|room1")
    seq = journal.step_started(op, "ad/new-user")
    journal.step_ended(op, seq, "failed", summary={"CredentialPassword": Secret(CLEAR)},
                       error=f"rejected {Secret(CLEAR)}")  # fmt: skip
    [step] = journal.steps(op)
    assert step.output_summary == {"CredentialPassword": MASK}
    assert step.error == f"rejected {MASK}"
    assert CLEAR.encode() not in (tmp_path / "journal.sqlite3").read_bytes()
