"""What each official form says and who signs it, from a case and its audit trail (the
data the PDF is rendered from, and the rendered text)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader

import workflow.adapters.forms as pdf
from workflow.domain.lifecycle import Action, Recorded
from workflow.services.forms import ACTIONS, form_data

T0 = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)
RECEIVER = "Hoàng Thị Lan"
PROCESSOR = "Nông Văn Minh"
APPROVER = "Triệu Đức Thắng"


def _case(**changes: Any) -> dict[str, Any]:
    return {
        "code": "G01.306.000.000-250310-0001", "status": "in_progress",
        "procedure_code": "1.004194", "procedure_name": "Đăng ký tạm trú",
        "agency_name": "Công an tỉnh Bắc Kạn", "applicant_name": "Nguyễn Thị Bích",
        "applicant": {"kind": "citizen", "full_name": "Nguyễn Thị Bích"},
        "recipient": {"full_name": "Nguyễn Thị Bích", "phone": "0912345678"},
        "result_delivery": {"method": "in_person"}, "attachments": [],
        "submitted_at": T0, "received_at": T0, "due_at": T0, "original_due_at": T0,
        "extended_at": T0, "received_by": RECEIVER,
        **changes,
    }  # fmt: skip


def _entry(action: str, name: str | None, role: str | None, note: str | None = None) -> Any:
    return {
        "at": T0, "actor_kind": "officer" if name else "citizen", "actor_name": name,
        "actor_role": role, "action": action, "from_status": "submitted",
        "to_status": "received", "note": note,
    }  # fmt: skip


TRAIL = [
    _entry("submit", None, None),
    _entry("receive", RECEIVER, "receiver"),
    _entry("request-supplement", PROCESSOR, "processor"),
    _entry("extend-deadline", APPROVER, "approver", "Chờ kết quả xác minh"),
    _entry("reject", APPROVER, "approver", "Không thuộc địa bàn"),
]
ROUNDS = [{"round": 1, "items": [{"description": "Thiếu ảnh"}], "supplement_due_at": T0}]


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.mark.parametrize(
    ("form", "signer"),
    [
        # Hard case first: the apology is the leader's who set the new date, never the
        # desk's that received the dossier.
        ("apology", APPROVER),
        # The supplement request is signed by whoever asked for it (here the processor).
        ("supplement-request", PROCESSOR),
        ("rejection", APPROVER),
        ("receipt", RECEIVER),
        # Signed by hand by the unit's leader: no name printed.
        ("control-sheet", None),
    ],
)
def test_each_form_carries_its_own_signer(form: str, signer: str | None) -> None:
    data = form_data(form, _case(), TRAIL, ROUNDS, [], "https://dvc.example/{code}")
    assert data.signer_name == signer


def test_the_apology_letter_prints_the_approver_under_the_head_of_the_agency() -> None:
    data = form_data("apology", _case(), TRAIL, ROUNDS, [], "https://dvc.example/{code}")
    text = _text(pdf.render("apology", data))
    assert "THỦ TRƯỞNG CƠ QUAN" in text
    assert text.index(APPROVER) > text.index("THỦ TRƯỞNG CƠ QUAN")
    assert RECEIVER not in text


def test_the_last_of_several_requests_signs_the_supplement_request() -> None:
    trail = [*TRAIL, _entry("request-supplement", RECEIVER, "receiver")]
    data = form_data("supplement-request", _case(), trail, ROUNDS, [], "https://x/{code}")
    assert data.signer_name == RECEIVER


def test_a_receipt_from_before_the_trail_named_the_signer_falls_back_to_the_case() -> None:
    data = form_data("receipt", _case(), TRAIL[:1], ROUNDS, [], "https://x/{code}")
    assert data.signer_name == RECEIVER


PROXY = {
    "kind": "proxy", "full_name": "Trần Văn Cường", "id_number": "001099000001",
    "relationship": "Con", "address": "Tổ 5, phường Đức Xuân",
    "declarant": {"full_name": "Nguyễn Thị Bích", "id_number": "001190012345"},
}  # fmt: skip
ORGANISATION = {
    "kind": "organisation", "full_name": "Công ty TNHH An Bình",
    "organisation_name": "Công ty TNHH An Bình", "tax_code": "4700123456",
    "address": "Số 1, phường Đức Xuân", "legal_representative": "Lê Văn Dũng",
    "declarant": {"full_name": "Nguyễn Thị Bích", "id_number": "001190012345"},
}  # fmt: skip


def _receipt(applicant: dict[str, Any], **changes: Any) -> tuple[pdf.FormDossier, str]:
    case = _case(applicant=applicant, applicant_name=applicant["full_name"], **changes)
    data = form_data("receipt", case, TRAIL, ROUNDS, [], "https://x/{code}")
    return data, _text(pdf.render("receipt", data))


def test_a_receipt_for_someone_declared_on_their_behalf_names_the_declarant() -> None:
    data, text = _receipt(PROXY)
    assert data.applicant_name == "Trần Văn Cường"
    assert data.declarant_name == "Nguyễn Thị Bích"
    assert data.relationship == "Con"
    assert "Người khai hộ: Nguyễn Thị Bích" in text
    assert "Quan hệ với người được khai hộ: Con" in text
    assert "Địa chỉ: Tổ 5, phường Đức Xuân" in text


def test_an_organisations_receipt_has_its_address_and_legal_representative() -> None:
    # Hard case: the result goes by post elsewhere; the receipt names the organisation's
    # registered address, not the delivery address.
    data, text = _receipt(
        ORGANISATION, result_delivery={"method": "post", "address": "Hộp thư 12, Bưu điện"}
    )
    assert data.applicant_address == "Số 1, phường Đức Xuân"
    assert data.legal_representative == "Lê Văn Dũng"
    assert "Người đại diện theo pháp luật: Lê Văn Dũng" in text
    assert "Mã số thuế: 4700123456" in text
    assert "Địa chỉ: Số 1, phường Đức Xuân" in text
    assert "Người nộp hồ sơ: Nguyễn Thị Bích" in text


def test_the_holders_own_receipt_says_nothing_of_a_declarant() -> None:
    data, text = _receipt({"kind": "citizen", "full_name": "Nguyễn Thị Bích"})
    assert (data.declarant_name, data.relationship, data.legal_representative) == (None,) * 3
    assert "khai hộ" not in text
    assert "đại diện" not in text


def test_the_control_sheet_names_every_step_in_words() -> None:
    assert set(Action) | set(Recorded) <= set(ACTIONS)
