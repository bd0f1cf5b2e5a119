"""How a phone number and an e-mail address given to workflow are read: an officer's, and
the applicant's contact taken at the desk."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def phone(value: str | None) -> str | None:
    """`0912345678` from `0912 345 678`, `0912.345.678` or `+84912345678`; None if empty."""
    if value is None or not value.strip():
        return None
    digits = value.strip().replace(" ", "").replace(".", "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    if not (digits.isascii() and digits.isdigit() and len(digits) == 10 and digits[0] == "0"):
        raise ValueError("Số điện thoại phải gồm 10 chữ số, bắt đầu bằng 0.")
    return digits


def email(value: str | None) -> str | None:
    """The address normalised; None if empty."""
    if value is None or not value.strip():
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError("Địa chỉ email không hợp lệ.") from None
