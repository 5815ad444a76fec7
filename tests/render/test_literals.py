"""The literal encoder keeps arbitrary text a single PowerShell literal.

Checked against `psmodel_tokenizer`, a model of PowerShell's tokenizer written from the language
specification (chapter 2, §2.3.5.2), since no PowerShell engine exists here; tree-sitter's grammar is
secondary evidence only.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pswrap.errors import BadInput
from pswrap.render.literals import quote_string, to_literal
from pswrap.secrets import Secret
from tests.render import psmodel_tokenizer as ps

# --- the model reads the specification's own examples as the specification says -----------------

SPEC_EXAMPLES = [
    # (source, kind, value) — examples quoted in §2.3.5.2 and §2.3.7 of the specification.
    ("''", "verbatim-string", ""),
    ("'red'", "verbatim-string", "red"),
    ('""', "expandable-string", ""),
    ('"red"', "expandable-string", "red"),
    ("'What''s the time?'", "verbatim-string", "What's the time?"),
    ('"I said, ""Hello""."', "expandable-string", 'I said, "Hello".'),
    ("@'\n'@", "verbatim-here-string", ""),
    ("@'\nline 1\n'@", "verbatim-here-string", "line 1"),
    ("@'\nline 1\nline 2\n'@", "verbatim-here-string", "line 1\nline 2"),
    ('@"\n"@', "expandable-here-string", ""),
    ('@"\nline 1\n"@', "expandable-here-string", "line 1"),
    ('@"\nline 1\nline 2\n"@', "expandable-here-string", "line 1\nline 2"),
    ("@'\nThat's it!\n2 * 3 = $(2*3)\n'@", "verbatim-here-string", "That's it!\n2 * 3 = $(2*3)"),
    (
        '"column1`tcolumn2`nsecond line, `"Hello`", ```Q`5`!"',
        "expandable-string",
        'column1\tcolumn2\nsecond line, "Hello", `Q5!',
    ),
    # about_Quoting_Rules: "expressions in single-quoted strings are not evaluated".
    ("'The value of $(2+3) is 5.'", "verbatim-string", "The value of $(2+3) is 5."),
    # §2.3.5.2: every single-quote-character delimits; a double-quote-character is ordinary inside.
    ("\u2018red\u2019", "verbatim-string", "red"),
    ("\u201ared\u201b", "verbatim-string", "red"),
    ("'a\u201cb\u201dc\"d'", "verbatim-string", 'a\u201cb\u201dc"d'),
    ("\u201cred\u201d", "expandable-string", "red"),
    ("@\u2019\nline 1\n\u2018@", "verbatim-here-string", "line 1"),
]


@pytest.mark.parametrize(("source", "kind", "value"), SPEC_EXAMPLES)
def test_model_reads_spec_examples(source: str, kind: str, value: str) -> None:
    token = ps.single_string_token(source)
    assert (token.kind, token.value) == (kind, value)


@pytest.mark.parametrize(
    "source",
    [
        '"The value of `$count is $count"',  # §2.3.5.2: variable substitution
        '"$count + 5 is $($count + 5)"',  # sub-expression expansion
        '"${Maximum_Count_26}"',  # braced variable
    ],
)
def test_model_sees_substitution_in_expandable_strings(source: str) -> None:
    token = ps.single_string_token(source)
    assert token.kind == "expandable-string" and token.value is None


def test_model_ends_a_verbatim_string_at_an_undoubled_quote() -> None:
    tokens = ps.tokenize("'a''b' 'c'")
    assert [t.value for t in tokens] == ["a'b", "c"]
    with pytest.raises(ps.ModelError):
        ps.single_string_token("'unterminated''")


# --- the encoder, on cases taken from the specification ----------------------------------------

ENCODER_TABLE = [
    ("", "''"),
    ("red", "'red'"),
    ("What's the time?", "'What''s the time?'"),
    ('I said, "Hello".', "'I said, \"Hello\".'"),
    ("2 * 3 = $(2*3)", "'2 * 3 = $(2*3)'"),
    ("The value of $i is $i.", "'The value of $i is $i.'"),
    ("`t is a tab only between double quotes", "'`t is a tab only between double quotes'"),
    ("\u2018left\u2019", "'\u2018\u2018left\u2019\u2019'"),
    ("low\u201a high\u201b", "'low\u201a\u201a high\u201b\u201b'"),
    ("line 1\nline 2", "'line 1\nline 2'"),
]


@pytest.mark.parametrize(("value", "literal"), ENCODER_TABLE)
def test_encoder_table(value: str, literal: str) -> None:
    assert to_literal(value) == literal
    assert ps.single_string_token(literal).value == value


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "$null"),
        (True, "$true"),
        (False, "$false"),
        (0, "0"),
        (-42, "-42"),
        ([], "@()"),
        (["one"], "@('one')"),
        (["a", 1], "@('a', 1)"),
        ([[1, 2]], "@(,@(1, 2))"),
        ({}, "@{}"),
        ({"Name": "x", "Count": 2}, "@{ 'Name' = 'x'; 'Count' = 2 }"),
        (uuid.UUID("35918bc9-196d-40ea-9779-889d79b753f0"), "'35918bc9-196d-40ea-9779-889d79b753f0'"),
        (datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc), "'2026-11-27T10:00:00+00:00'"),
    ],
)
def test_encoder_values(value: object, literal: str) -> None:
    assert to_literal(value) == literal


def test_one_element_list_stays_an_array() -> None:
    # @() always yields an array (§7.1.7); a nested one-element list needs the unary comma.
    assert ps.evaluate(to_literal(["only"])) == ["only"]
    assert ps.evaluate(to_literal([["a", "b"]])) == [["a", "b"]]
    assert ps.evaluate("@(@(1, 2))") == [1, 2]  # the flattening the unary comma avoids


@pytest.mark.parametrize(
    "value",
    [
        "a\x00b",
        "\ud800",
        1.5,
        float("nan"),
        2**63,
        -(2**63) - 1,
        b"bytes",
        Secret("hunter2"),
        {"a": 1, "A": 2},
        {1: "x"},
        object(),
    ],
    ids=repr,
)
def test_encoder_refuses_what_it_cannot_represent(value: object) -> None:
    with pytest.raises(BadInput) as caught:
        to_literal(value)
    assert "hunter2" not in str(caught.value)


# --- hypothesis: arbitrary text stays one literal ----------------------------------------------

SPECIAL = [
    *"'\u2018\u2019\u201a\u201b",  # single-quote-character
    *'"\u201c\u201d\u201e',  # double-quote-character
    *"$`@#(){};|&<>,=+-.[]:",
    *"\n\r\u0085\u2028\u2029",  # new lines, NEL, line/paragraph separators
    *"\u2013\u2014\u2015",  # dash variants
    *" \t\x0b\x0c\u00a0\u3000\u200b",  # white space incl. NBSP
    "\r\n",
    "''",
    "'@",
    "@'\n",
    '"@',
    "$(",
    "${",
    "#>",
    "<#",
]

printable = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
text = st.lists(st.one_of(st.sampled_from(SPECIAL), printable.map(str)), max_size=40).map("".join)


@settings(max_examples=500)
@given(text)
def test_any_text_is_one_verbatim_token_equal_to_itself(value: str) -> None:
    literal = quote_string(value)
    token = ps.single_string_token(literal)
    assert token.kind == "verbatim-string"
    assert token.value == value


@settings(max_examples=200)
@given(text, text)
def test_a_literal_ends_where_it_should_inside_a_statement(a: str, b: str) -> None:
    tokens = ps.tokenize(f"$x = {to_literal(a)}; $y = {to_literal(b)}")
    kinds = [(t.kind, t.value) for t in tokens]
    assert kinds == [
        ("variable", "x"),
        ("punct", "="),
        ("verbatim-string", a),
        ("punct", ";"),
        ("variable", "y"),
        ("punct", "="),
        ("verbatim-string", b),
    ]


keys = text.filter(bool)
values: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        text,
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4).filter(lambda d: len({k.casefold() for k in d}) == len(d)),
    ),
    max_leaves=12,
)


@settings(max_examples=300)
@given(values)
def test_nested_values_read_back_equal(value: Any) -> None:
    assert ps.evaluate(to_literal(value)) == value


# --- secondary evidence: tree-sitter's grammar sees one string ---------------------------------


def _string_nodes(node: Any) -> list[Any]:
    found = []
    if node.type in ("string_literal", "expandable_string_literal", "verbatim_string_literal"):
        return [node]
    for child in node.children:
        found.extend(_string_nodes(child))
    return found


@settings(max_examples=200)
@given(text)
def test_tree_sitter_parses_the_literal_as_one_string(value: str) -> None:
    ts = pytest.importorskip("tree_sitter_language_pack")
    parser = ts.get_parser("powershell")
    literal = quote_string(value)
    source = f"$x = {literal}".encode()
    tree = parser.parse(source)
    assert not tree.root_node.has_error
    nodes = _string_nodes(tree.root_node)
    assert len(nodes) == 1
    assert source[nodes[0].start_byte : nodes[0].end_byte].decode() == literal
