"""SMS text rules, masking and template checks: pure functions, nothing running."""

from __future__ import annotations

from notify.domain.privacy import mask
from notify.domain.templates import problems, sms_text
from notify.domain.text import fit_sms, segments, unaccent


def test_vietnamese_is_sent_unaccented_in_gsm7() -> None:
    assert unaccent("Đăng ký tạm trú – Công an phường Đức Xuân") == (
        "Dang ky tam tru - Cong an phuong Duc Xuan"
    )
    assert unaccent("Hồ sơ “G01” đã có kết quả…") == 'Ho so "G01" da co ket qua...'


def test_segments_follow_gsm7_lengths() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("[" * 80) == 1
    assert segments("[" * 81) == 2


def test_a_long_sms_loses_free_text_never_the_code() -> None:
    source = "Ho so {{ code }} can bo sung: {{ items_text }}. Han: {{ supplement_due_date }}."
    values = {"code": "G01.306.000.000-261123-0001", "items_text": "Giấy tờ " * 200,
              "supplement_due_date": "07/12/2026"}  # fmt: skip
    text = sms_text(source, values, 2)
    assert segments(text) <= 2
    assert "G01.306.000.000-261123-0001" in text
    assert text.endswith("Han: 07/12/2026.")
    assert segments(fit_sms("x" * 1000, 3)) == 3


def test_addresses_are_masked() -> None:
    assert mask("0912345678") == "09******78"
    assert mask("bich@example.vn") == "b***@example.vn"


def test_a_template_may_only_name_what_its_event_supplies() -> None:
    assert problems("dossier.received.sms", None, "Ho so {{ code }} hen {{ due_date }}", 3) == []
    found = problems("dossier.received.sms", None, "{{ ngay_hen }}", 3)
    assert found
    assert "ngay_hen" in found[0]["message"]
    assert problems("dossier.received.email", None, "{{ code }}", 3)[0]["field"] == "subject"
    assert problems("dossier.unknown.sms", None, "x", 3)[0]["field"] == "key"
    assert problems("dossier.received.sms", None, "{% if %}", 3)[0]["message"].startswith("Mẫu")
    assert problems("dossier.received.sms", None, "x" * 500, 3)
