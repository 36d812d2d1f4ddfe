"""The generic converters: every input either converts or raises FieldError, never crashes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.content import specs
from ai4artsed_desktop.content.fields import FieldError, child, integer, record, text
from ai4artsed_desktop.content.schema import Category, Text

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
keys = st.sampled_from(
    ["id", "name", "llm", "outputs", "loras", "audience", "media", "mapping", "roles", "de", "en"]
)
record_like = st.dictionaries(keys, json_values, max_size=8)


@pytest.mark.parametrize(
    "convert",
    [specs.INTERCEPTION, specs.OUTPUT, specs.PRESET, specs.CATEGORY, specs.PROVIDER, specs.ROLE],
)
@settings(max_examples=60, deadline=None, derandomize=True)
@given(value=json_values | record_like)
def test_converters_raise_only_field_errors(convert: Any, value: Any) -> None:
    try:
        convert(value, "")
    except FieldError as exc:
        problem = exc.problem
    else:
        problem = "Converted."
    assert problem.endswith(".")


def test_child_paths() -> None:
    assert child("", "llm") == "llm"
    assert child("llm", "top_p") == "llm.top_p"
    assert child("loras", 0) == "loras[0]"
    assert child("[3]", "id") == "[3].id"
    assert child("[3]", "") == "[3]"


def test_text_strips_and_checks_both_languages() -> None:
    convert = text()
    assert convert({"de": " Hallo ", "en": "Hello"}, "name") == Text("Hallo", "Hello")
    with pytest.raises(FieldError) as info:
        convert({"de": "Hallo", "en": 3}, "name")
    assert info.value.field == "name.en"


def test_record_rejects_unknown_fields_in_its_table() -> None:
    with pytest.raises(TypeError):
        record(Category, {"colour": text()})


def test_nan_and_infinity_are_not_numbers() -> None:
    for value in (float("nan"), float("inf")):
        with pytest.raises(FieldError) as info:
            specs.LLM({"temperature": value}, "llm")
        assert info.value.field == "llm.temperature"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 2.5, "3", True])
def test_integer_refuses_what_is_not_a_whole_number(value: Any) -> None:
    # JSON's Infinity once raised OverflowError out of the loader instead of a FieldError.
    with pytest.raises(FieldError, match="whole number"):
        integer(0, 100)(value, "order")
