"""Who a citizen says they are: citizen ID numbers, phone numbers, passwords, one-time
codes, and how personal data is masked in views other than the owner's (DOMAIN.md,
"Account" and "Citizen ID")."""

from __future__ import annotations

import re
import secrets
from datetime import date

_ID_NUMBER = re.compile(r"[0-9]{12}")

# Province-of-birth codes of the citizen ID (Circular 07/2016/TT-BCA): the 63 provinces
# as they were when the numbering began; IDs already issued keep them after mergers.
PROVINCE_CODES = frozenset(
    f"{n:03d}"
    for n in (
        1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34,
        35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67,
        68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
    )
)  # fmt: skip

# The fourth digit gives sex and century of birth: even male, odd female.
_CENTURY = {"0": 1900, "1": 1900, "2": 2000, "3": 2000, "4": 2100, "5": 2100,
            "6": 2200, "7": 2200, "8": 1800, "9": 1800}  # fmt: skip

# Viettel 03x, Vietnamobile/Reddi 05x, Mobifone 07x, Vinaphone/iTel 08x, all 09x.
_MOBILE = re.compile(r"0[35789][0-9]{8}")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]")

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
OTP_DIGITS = 6
EARLIEST_BIRTH = date(1900, 1, 1)


def check_id_number(value: str) -> str:
    """The ID number as stored; `ValueError` with the citizen's message if not 12 digits."""
    number = value.strip()
    if not _ID_NUMBER.fullmatch(number):
        raise ValueError("Số định danh cá nhân (số CCCD) phải gồm đúng 12 chữ số.")
    return number


def id_number_warnings(id_number: str, date_of_birth: date) -> list[str]:
    """Doubts about a well-formed ID number; never a reason to refuse it.

    The structure `PPP G YY NNNNNN` is checked against the date of birth only: old
    numbers and data-entry quirks exist, and the national population database, not this
    portal, is the authority on a citizen's number.
    """
    warnings = []
    if id_number[:3] not in PROVINCE_CODES:
        warnings.append(
            f"Ba chữ số đầu ({id_number[:3]}) không phải mã tỉnh, thành phố nơi đăng ký "
            "khai sinh; vui lòng kiểm tra lại số định danh."
        )
    year = _CENTURY[id_number[3]] + int(id_number[4:6])
    if year != date_of_birth.year:
        warnings.append(
            f"Số định danh cho thấy năm sinh {year}, khác với ngày sinh đã khai "
            f"({date_of_birth:%d/%m/%Y}); vui lòng kiểm tra lại."
        )
    return warnings


def check_date_of_birth(value: date, today: date) -> date:
    if value > today:
        raise ValueError("Ngày sinh không được sau ngày hôm nay.")
    if value < EARLIEST_BIRTH:
        raise ValueError("Ngày sinh không hợp lệ.")
    return value


def normalise_phone(value: str) -> str:
    """A Vietnamese mobile number as `0912345678`, from `0912…`, `+84912…` or `84912…`."""
    digits = _PHONE_SEPARATORS.sub("", value)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _MOBILE.fullmatch(digits):
        raise ValueError(
            "Số điện thoại di động không hợp lệ: cần 10 chữ số, bắt đầu bằng "
            "03, 05, 07, 08 hoặc 09 (có thể viết +84 thay cho số 0 đầu)."
        )
    return digits


def check_password(value: str) -> str:
    if len(value) < PASSWORD_MIN_LENGTH:
        raise ValueError(f"Mật khẩu phải có ít nhất {PASSWORD_MIN_LENGTH} ký tự.")
    if len(value) > PASSWORD_MAX_LENGTH:
        raise ValueError(f"Mật khẩu không được dài quá {PASSWORD_MAX_LENGTH} ký tự.")
    if not any(c.isalpha() for c in value) or not any(c.isdigit() for c in value):
        raise ValueError("Mật khẩu phải có cả chữ cái và chữ số.")
    return value


def new_otp() -> str:
    """A phone verification code: 6 digits, uniformly random."""
    return f"{secrets.randbelow(10**OTP_DIGITS):0{OTP_DIGITS}d}"


def mask_id_number(id_number: str) -> str:
    """`001099012345` → `00109******5`: enough to recognise one's own, not to use it."""
    if len(id_number) < 6:
        return "*" * len(id_number)
    return id_number[:5] + "*" * (len(id_number) - 6) + id_number[-1]


def mask_phone(phone: str) -> str:
    """`0912345678` → `091****678`."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]
