"""intake's pure rules: search folding, codes, file sniffing and names, form messages."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from intake.domain.forms import form_errors
from intake.domain.text import fold
from shared.contracts.codes import DOSSIER_CODE, dossier_code, new_update_code
from shared.storage.files import safe_filename, sniff


@pytest.mark.parametrize(
    "text",
    [
        "Đăng ký tạm trú",
        "ĐĂNG KÝ TẠM TRÚ",
        "dang ky tam tru",
        unicodedata.normalize("NFD", "Đăng ký tạm trú"),
    ],
)
def test_fold_makes_every_spelling_of_a_name_equal(text: str) -> None:
    assert fold(text) == "dang ky tam tru"


def test_dossier_code_has_the_portal_format() -> None:
    code = dossier_code("G01.308.000.000", date(2022, 6, 16), 100)
    assert code == "G01.308.000.000-220616-0100"
    assert DOSSIER_CODE.match(code)
    assert dossier_code("G01.308.000.000", date(2022, 6, 16), 12345).endswith("-12345")


@pytest.mark.parametrize("agency", ["", "G1", "g01.308", "G01.30", "G01.308.000.000-1"])
def test_dossier_code_refuses_a_malformed_agency(agency: str) -> None:
    with pytest.raises(ValueError, match="not an agency e-ID"):
        dossier_code(agency, date(2022, 6, 16), 1)


def test_update_codes_are_unambiguous_and_differ() -> None:
    codes = {new_update_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and not set(c) & set("0O1IL") for c in codes)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"<html><script>", None),
        (b"MZ\x90\x00", None),
        (b"", None),
    ],
)
def test_sniff_goes_by_content_not_name(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("giay\x00to.pdf", "giayto.pdf"),
        (unicodedata.normalize("NFD", "Giấy tờ.pdf"), "Giấy tờ.pdf"),
        ("", "tep-dinh-kem"),
        ("../..", "tep-dinh-kem"),
        (None, "tep-dinh-kem"),
    ],
)
def test_safe_filename(given: str | None, expected: str) -> None:
    result = safe_filename(given)
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)


def test_long_names_keep_their_extension() -> None:
    assert safe_filename("a" * 500 + ".pdf").endswith(".pdf")
    assert len(safe_filename("a" * 500 + ".pdf")) <= 120


SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["address", "from_date"],
    "properties": {
        "address": {"type": "string", "title": "Địa chỉ tạm trú", "maxLength": 10},
        "from_date": {"type": "string", "format": "date", "title": "Ngày bắt đầu"},
        "id_number": {"type": "string", "pattern": "^[0-9]{12}$", "title": "Số CCCD"},
    },
}


def test_nested_fields_are_named_by_their_own_title() -> None:
    schema = {
        "type": "object",
        "properties": {
            "address": {
                "type": "object", "title": "Địa chỉ", "required": ["street"],
                "properties": {"street": {"type": "string", "title": "Số nhà, đường phố"}},
            },
            "members": {
                "type": "array",
                "items": {"type": "object", "required": ["full_name"],
                          "properties": {"full_name": {"type": "string", "title": "Họ và tên"}}},
            },
        },
    }  # fmt: skip
    assert form_errors(schema, {"address": {}, "members": [{"full_name": "A"}, {}]}) == [
        {"field": "form.address.street", "message": "Vui lòng nhập Số nhà, đường phố."},
        {"field": "form.members.1.full_name", "message": "Vui lòng nhập Họ và tên."},
    ]


def test_form_errors_name_each_field_in_vietnamese() -> None:
    errors = form_errors(SCHEMA, {"address": "x" * 11, "id_number": "123", "from_date": "hôm nay"})
    assert errors == [
        {"field": "form.address", "message": "Địa chỉ tạm trú vượt quá giới hạn cho phép."},
        {"field": "form.from_date", "message": "Ngày bắt đầu không đúng định dạng."},
        {"field": "form.id_number", "message": "Số CCCD không đúng định dạng."},
    ]
    assert form_errors(SCHEMA, {}) == [
        {"field": "form.address", "message": "Vui lòng nhập Địa chỉ tạm trú."},
        {"field": "form.from_date", "message": "Vui lòng nhập Ngày bắt đầu."},
    ]
    assert form_errors(SCHEMA, {"address": "Số 1", "from_date": "2026-11-23"}) == []
