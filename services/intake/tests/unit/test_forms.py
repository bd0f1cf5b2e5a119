"""The declaration form's check: one validator per schema object, built once."""

from __future__ import annotations

import copy
from typing import Any

from intake.domain import forms

SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": {"type": "string", "title": "Họ tên", "maxLength": 5}},
}


def test_a_schema_object_is_checked_by_the_validator_built_for_it() -> None:
    schema = copy.deepcopy(SCHEMA)
    first = forms._validator(schema)
    assert forms._validator(schema) is first
    # An equal schema in another object (a catalogue read again) gets its own.
    assert forms._validator(copy.deepcopy(SCHEMA)) is not first


def test_a_kept_validator_gives_the_same_answers_as_a_new_one() -> None:
    schema = copy.deepcopy(SCHEMA)
    for _ in range(2):
        assert forms.form_errors(schema, {"name": "An"}) == []
        assert forms.form_errors(schema, {"name": "Nguyễn Văn An"}) == [
            {"field": "form.name", "message": "Họ tên vượt quá giới hạn cho phép."}
        ]
        assert forms.form_errors(schema, {}) == [
            {"field": "form.name", "message": "Vui lòng nhập Họ tên."}
        ]


def test_validators_kept_are_bounded() -> None:
    schemas = [copy.deepcopy(SCHEMA) for _ in range(forms._KEPT + 10)]
    for schema in schemas:
        forms._validator(schema)
    assert len(forms._VALIDATORS) <= forms._KEPT
