"""The declaration form checked against the procedure's JSON Schema, with one Vietnamese
message per field the citizen must correct."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


def _field(error: ValidationError, schema: dict[str, Any]) -> tuple[str, str]:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    name = ".".join(path) or "form"
    return name, _title(schema, path) or name


def _title(schema: dict[str, Any], path: list[str]) -> str | None:
    """The title of the field at `path`, through nested objects and arrays."""
    node: dict[str, Any] = schema
    for step in path:
        if step.isdigit() and "items" in node:
            node = node["items"]
            continue
        node = node.get("properties", {}).get(step, {})
    title = node.get("title")
    return str(title) if title else None


def _message(error: ValidationError, title: str) -> str:
    kind = error.validator
    if kind == "required":
        return f"Vui lòng nhập {title}."
    if kind == "additionalProperties":
        return "Biểu mẫu có trường không thuộc tờ khai này."
    if kind in {"pattern", "format"}:
        return f"{title} không đúng định dạng."
    if kind in {"maxLength", "maximum"}:
        return f"{title} vượt quá giới hạn cho phép."
    if kind in {"minLength", "minimum"}:
        return f"{title} chưa đạt giá trị tối thiểu."
    if kind == "enum":
        return f"{title} phải là một trong các lựa chọn cho phép."
    if kind == "type":
        return f"{title} không đúng kiểu dữ liệu."
    return f"{title} không hợp lệ."


# Validators of the schemas seen last, by the schema object they were built for (kept with
# them, so that its id is not reused while the entry lives): a procedure's row is kept in
# memory (services/reference.py), so a draft and its submission check against one object,
# and building a validator (its schema's resources, its format checkers) cost as much
# as the check itself.
_VALIDATORS: OrderedDict[int, tuple[dict[str, Any], Draft202012Validator]] = OrderedDict()
_KEPT = 64


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    kept = _VALIDATORS.get(id(schema))
    if kept is not None and kept[0] is schema:
        _VALIDATORS.move_to_end(id(schema))
        return kept[1]
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    _VALIDATORS[id(schema)] = (schema, validator)
    while len(_VALIDATORS) > _KEPT:
        _VALIDATORS.popitem(last=False)
    return validator


def form_errors(schema: dict[str, Any], form: dict[str, Any]) -> list[dict[str, str]]:
    """`[{field, message}]` for every problem in `form`, in field order; [] when valid."""
    validator = _validator(schema)
    out = []
    for error in sorted(validator.iter_errors(form), key=lambda e: list(map(str, e.absolute_path))):
        name, title = _field(error, schema)
        out.append({"field": f"form.{name}", "message": _message(error, title)})
    return out
