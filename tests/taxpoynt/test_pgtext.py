"""What PostgreSQL text and jsonb cannot hold, found with its JSONPath."""

import json

import pytest

from taxpoynt.lib import pgtext


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('{"a": "ok", "b": ["x", "y\\u0000"]}', "NUL at $.b[1]"),
        ('[{"note": "\\ud83d"}]', "lone surrogate U+D83D at $[0].note"),
        ('{"odd key": {"x": "\\udfff!"}}', 'lone surrogate U+DFFF at $["odd key"].x'),
        ('{"k\\u0000": 1}', 'NUL in the key $["k\\u0000"]'),
        # The first in document order.
        ('{"a": ["\\u0000"], "b": "\\ud800"}', "NUL at $.a[0]"),
    ],
)
def test_the_first_unstorable_string_is_named_with_its_path(body, problem):
    assert pgtext.json_problem(json.loads(body)) == problem


@pytest.mark.parametrize(
    "body",
    [
        '{"emoji": "\\ud83d\\ude00", "naira": "\\u20a6", "n": 1, "f": 1.5, "z": null}',
        '["\\u0001 control characters other than NUL are fine", true]',
        '"plain"',
    ],
)
def test_storable_documents_have_no_problem(body):
    assert pgtext.json_problem(json.loads(body)) is None


def test_a_deep_document_is_walked_without_recursion():
    document = "\u0000"
    for _ in range(50_000):
        document = [document]

    problem = pgtext.json_problem(document)

    assert problem.startswith("NUL at $[0][0]")
    assert len(problem) < 200


def test_storable_writes_what_postgresql_refuses_as_escapes():
    assert pgtext.storable("a\u0000b\ud800c\u20a6") == "a\\u0000b\\ud800c\u20a6"
