"""Citizen ID numbers, phone numbers, passwords, one-time codes and masking."""

from __future__ import annotations

from datetime import date

import pytest

from intake.domain.identity import (
    PROVINCE_CODES,
    check_date_of_birth,
    check_id_number,
    check_password,
    id_number_warnings,
    mask_id_number,
    mask_phone,
    new_otp,
    normalise_phone,
)


def test_a_twelve_digit_id_number_is_kept_as_typed() -> None:
    assert check_id_number("001099012345") == "001099012345"
    assert check_id_number("  092078001325 ") == "092078001325"


@pytest.mark.parametrize(
    "value",
    ["", "00109901234", "0010990123456", "00109901234a", "001 099 012345", "001099-12345",
     "٠٠١٠٩٩٠١٢٣٤٥"],  # Arabic-Indic digits are digits to Python, not on an ID card
)  # fmt: skip
def test_anything_but_twelve_digits_is_refused_in_vietnamese(value: str) -> None:
    with pytest.raises(ValueError, match="phải gồm đúng 12 chữ số"):
        check_id_number(value)


def test_the_portal_guide_example_matches_its_date_of_birth() -> None:
    # Seed 004: 092078001325, born 29/10/1978 in Cần Thơ (092), male, 20th century.
    assert id_number_warnings("092078001325", date(1978, 10, 29)) == []
    assert id_number_warnings("001099012345", date(1999, 1, 1)) == []
    assert id_number_warnings("079305001234", date(2005, 3, 2)) == []  # woman born 2005


def test_a_birth_year_the_number_contradicts_is_only_a_warning() -> None:
    warnings = id_number_warnings("001099012345", date(1989, 5, 17))
    assert len(warnings) == 1
    assert "năm sinh 1999" in warnings[0]
    assert "17/05/1989" in warnings[0]
    # The century digit counts: 2 means born in the 2000s.
    assert len(id_number_warnings("001299012345", date(1999, 5, 17))) == 1


def test_an_unknown_province_code_is_only_a_warning() -> None:
    assert "003" not in PROVINCE_CODES
    assert "097" not in PROVINCE_CODES
    assert len(PROVINCE_CODES) == 63
    (warning,) = id_number_warnings("003099012345", date(1999, 1, 1))
    assert "(003)" in warning
    assert len(id_number_warnings("000899012345", date(1999, 1, 1))) == 2


@pytest.mark.parametrize(
    "value",
    [
        "0912345678",
        "+84912345678",
        "84912345678",
        "0912 345 678",
        "091.234.5678",
        "+84 91 234 5678",
    ],
)
def test_phone_numbers_are_stored_in_the_national_form(value: str) -> None:
    assert normalise_phone(value) == "0912345678"


@pytest.mark.parametrize("prefix", ["03", "05", "07", "08", "09"])
def test_every_mobile_prefix_is_accepted(prefix: str) -> None:
    assert normalise_phone(f"{prefix}12345678") == f"{prefix}12345678"


@pytest.mark.parametrize(
    "value",
    ["", "091234567", "09123456789", "0212345678", "0112345678", "+8412345678", "+1 912345678",
     "09123456a8", "8491234567", "0084912345678"],
)  # fmt: skip
def test_other_phone_numbers_are_refused_in_vietnamese(value: str) -> None:
    with pytest.raises(ValueError, match="Số điện thoại di động không hợp lệ"):
        normalise_phone(value)


@pytest.mark.parametrize("password", ["matkhau1", "Mật khẩu 2024", "12345678a"])
def test_passwords_with_letters_and_digits_of_eight_characters_pass(password: str) -> None:
    assert check_password(password) == password


@pytest.mark.parametrize(
    ("password", "message"),
    [("abc123", "ít nhất 8 ký tự"), ("matkhaumoi", "cả chữ cái và chữ số"),
     ("12345678", "cả chữ cái và chữ số"), ("a1" * 65, "không được dài quá 128")],
)  # fmt: skip
def test_weak_passwords_are_refused_in_vietnamese(password: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_password(password)


def test_a_date_of_birth_is_not_in_the_future() -> None:
    today = date(2025, 6, 1)
    assert check_date_of_birth(today, today) == today
    with pytest.raises(ValueError, match="không được sau ngày hôm nay"):
        check_date_of_birth(date(2025, 6, 2), today)
    with pytest.raises(ValueError, match="Ngày sinh không hợp lệ"):
        check_date_of_birth(date(1899, 12, 31), today)


def test_one_time_codes_are_six_random_digits() -> None:
    codes = [new_otp() for _ in range(2000)]
    assert all(len(c) == 6 and c.isascii() and c.isdigit() for c in codes)
    assert len(set(codes)) > 1900
    # Leading zeros are kept: every digit position takes every value.
    assert all({c[i] for c in codes} == set("0123456789") for i in range(6))


def test_masks_keep_enough_to_recognise_and_too_little_to_use() -> None:
    assert mask_id_number("001099012345") == "00109******5"
    assert mask_phone("0912345678") == "091****678"
    assert mask_id_number("123") == "***"
    assert mask_phone("12345") == "*****"
