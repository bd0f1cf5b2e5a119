"""The rules a draft meets before it is kept and before it is submitted, on plain data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from intake.domain.drafts import (
    applicant,
    case_errors,
    check_complete,
    check_file_counts,
    checked_draft,
    delivery_errors,
    submitted_applicant,
)
from shared.contracts import events as ev
from shared.errors import Invalid

HOLDER = {
    "full_name": "Nguyễn Thị Bích",
    "id_number": "001190012345",
    "date_of_birth": date(1990, 5, 17),
    "phone": "0912345678",
    "email": "bich@example.vn",
}
DECLARANT = {"full_name": "Nguyễn Thị Bích", "id_number": "001190012345"}
FORM_SCHEMA = {
    "type": "object",
    "required": ["ho_ten"],
    "properties": {"ho_ten": {"type": "string", "title": "Họ và tên"}},
}
DOCUMENTS = [
    {"code": "TP1", "name": "Tờ khai CT01", "required": True, "max_files": 2},
    {"code": "TP2", "name": "Giấy tờ chỗ ở", "required": True, "max_files": 1},
    {"code": "TP3", "name": "Ảnh chân dung", "required": False, "max_files": 1},
]
CASES = [{"code": "TH1", "name": "Có chỗ ở hợp pháp"}, {"code": "TH2", "name": "Ở nhờ"}]
KINDS = ["citizen", "proxy", "organisation"]
PROCEDURE = {
    "online_level": "full",
    "applicant_kinds": KINDS,
    "cases": [],
    "documents": DOCUMENTS,
    "form_schema": FORM_SCHEMA,
}
ORGANISATION = {
    "kind": "organisation",
    "organisation_name": "Công ty TNHH An Bình",
    "tax_code": "4700123456",
    "address": "Số 1, phường Đức Xuân",
    "legal_representative": "Trần Văn Cường",
}


def fields(errors: list[dict[str, str]]) -> list[str]:
    return [e["field"] for e in errors]


@pytest.mark.parametrize(
    ("cases", "case_code", "expected"),
    [
        (CASES, None, ["Vui lòng chọn trường hợp thực hiện thủ tục."]),
        (CASES, "TH9", ["Vui lòng chọn trường hợp thực hiện thủ tục."]),
        ([], "TH1", ["Thủ tục này không chia trường hợp."]),
        (CASES, "TH2", []),
        ([], None, []),
    ],
    ids=["cases-none-chosen", "cases-unknown-chosen", "no-cases-one-given", "chosen", "none"],
)
def test_case(cases: list[dict[str, str]], case_code: str | None, expected: list[str]) -> None:
    errors = case_errors(cases, case_code)
    assert [e["message"] for e in errors] == expected
    assert set(fields(errors)) <= {"case_code"}


@pytest.mark.parametrize(
    ("online_level", "email", "notify_via", "delivery", "expected"),
    [
        ("full", None, ["sms", "email"], {"method": "in_person"}, ["notify_via"]),
        ("full", "", ["email"], {"method": "in_person"}, ["notify_via"]),
        ("full", None, ["sms"], {"method": "post"}, ["result_delivery.address"]),
        ("full", None, ["sms"], {"method": "post", "address": "  "}, ["result_delivery.address"]),
        ("partial", None, ["sms"], {"method": "online"}, ["result_delivery.method"]),
        (
            "partial", None, ["email"], {"method": "online"},
            ["notify_via", "result_delivery.method"],
        ),
        ("full", None, ["sms"], {"method": "online"}, []),
        ("partial", "a@example.vn", ["email"], {"method": "post", "address": "Số 1"}, []),
        ("partial", None, ["sms"], {"method": "in_person", "address": None}, []),
    ],
    ids=[
        "email-without-email", "email-empty", "post-without-address", "post-blank-address",
        "online-result-partial-procedure", "both-at-once", "online-full", "post-with-address",
        "in-person",
    ],
)  # fmt: skip
def test_delivery(
    online_level: str,
    email: str | None,
    notify_via: list[str],
    delivery: dict[str, Any],
    expected: list[str],
) -> None:
    assert fields(delivery_errors(online_level, email, notify_via, delivery)) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"kind": "proxy", "full_name": "Trần Văn Cường"}, ["applicant.id_number"]),
        ({"kind": "proxy", "full_name": " ", "id_number": ""}, ["applicant.full_name", "applicant.id_number"]),
        ({**ORGANISATION, "legal_representative": None}, ["applicant.legal_representative"]),
        ({"kind": "organisation"}, ["applicant.organisation_name", "applicant.tax_code",
                                    "applicant.address", "applicant.legal_representative"]),
        ({"kind": "proxy", "full_name": "Trần Văn Cường", "id_number": "001099000001"}, []),
        (ORGANISATION, []),
    ],
    ids=[
        "proxy-without-id-number", "proxy-blank", "organisation-without-representative",
        "organisation-empty", "proxy", "organisation",
    ],
)  # fmt: skip
def test_applicant_declared_by_the_holder(given: dict[str, Any], expected: list[str]) -> None:
    kept, errors = applicant(KINDS, HOLDER, given)
    assert fields(errors) == expected
    assert {e["message"] for e in errors} <= {"Trường này là bắt buộc."}
    assert kept["declarant"] == DECLARANT
    assert None not in kept.values()


@pytest.mark.parametrize("given", [None, {"kind": "citizen"}])
def test_the_holder_as_applicant_is_prefilled(given: dict[str, Any] | None) -> None:
    assert applicant(["citizen"], HOLDER, given) == (
        {
            "kind": "citizen",
            "full_name": "Nguyễn Thị Bích",
            "id_number": "001190012345",
            "date_of_birth": "1990-05-17",
            "phone": "0912345678",
        },
        [],
    )


@pytest.mark.parametrize("kind", ["proxy", "organisation"])
def test_an_applicant_kind_the_procedure_does_not_take(kind: str) -> None:
    kept, errors = applicant(["citizen"], HOLDER, {"kind": kind})
    assert (kept, fields(errors)) == ({}, ["applicant.kind"])


def draft(**changes: Any) -> dict[str, Any]:
    return {
        "case_code": None,
        "applicant": None,
        "form": {"ho_ten": "Nguyễn Thị Bích"},
        "notify_via": ["sms"],
        "result_delivery": {"method": "online", "address": None},
        **changes,
    }


def test_a_draft_names_every_field_at_fault_at_once() -> None:
    procedure = {**PROCEDURE, "online_level": "partial", "cases": CASES}
    holder = {**HOLDER, "email": None}
    with pytest.raises(Invalid) as refused:
        checked_draft(
            procedure,
            holder,
            draft(
                form={},
                notify_via=["email"],
                applicant={"kind": "proxy", "full_name": "Trần Văn Cường"},
            ),
        )
    assert refused.value.detail == "Thông tin hồ sơ chưa hợp lệ, vui lòng kiểm tra lại."
    assert fields(refused.value.errors or []) == [
        "case_code", "notify_via", "result_delivery.method", "form.ho_ten", "applicant.id_number",
    ]  # fmt: skip


def test_a_valid_draft_keeps_its_applicant() -> None:
    given = {"kind": "proxy", "full_name": "Trần Văn Cường", "id_number": "001099000001"}
    assert checked_draft(PROCEDURE, HOLDER, draft(applicant=given)) == {
        **given,
        "declarant": DECLARANT,
    }


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        (set(), ["Tờ khai CT01", "Giấy tờ chỗ ở"]),
        ({"TP2", "TP3"}, ["Tờ khai CT01"]),
        ({"TP1", "TP3"}, ["Giấy tờ chỗ ở"]),
    ],
    ids=["nothing", "first-missing", "second-missing"],
)
def test_each_required_document_missing_is_named(present: set[str], missing: list[str]) -> None:
    with pytest.raises(Invalid) as refused:
        check_complete(PROCEDURE, {"ho_ten": "Nguyễn Thị Bích"}, present)
    assert refused.value.detail == "Hồ sơ chưa đủ thành phần, vui lòng bổ sung trước khi nộp."
    assert refused.value.errors == [
        {"field": "attachments", "message": f"Thiếu thành phần hồ sơ: {name}."} for name in missing
    ]


def test_completeness_also_checks_the_form() -> None:
    with pytest.raises(Invalid) as refused:
        check_complete(PROCEDURE, {}, {"TP2"})
    assert fields(refused.value.errors or []) == ["attachments", "form.ho_ten"]


def test_a_dossier_with_every_required_document_and_a_valid_form_is_complete() -> None:
    check_complete(PROCEDURE, {"ho_ten": "Nguyễn Thị Bích"}, {"TP1", "TP2"})


@pytest.mark.parametrize(
    ("attached", "adding", "refused"),
    [
        ({"TP1": 2}, ["TP1"], "Tờ khai CT01: tối đa 2 tệp."),
        ({}, ["TP2", "TP2"], "Giấy tờ chỗ ở: tối đa 1 tệp."),
        ({"TP3": 1}, ["TP1", "TP3"], "Ảnh chân dung: tối đa 1 tệp."),
        ({"TP1": 1}, ["TP1", "TP2"], None),
        ({"TP1": 2, "TP2": 1}, [], None),
        ({"TP9": 5}, ["TP9"], None),
    ],
    ids=[
        "over-with-those-attached", "over-within-one-request", "one-of-two-over", "at-limit",
        "nothing-added", "unknown-document-not-counted",
    ],
)  # fmt: skip
def test_files_per_document(
    attached: dict[str, int], adding: list[str], refused: str | None
) -> None:
    if refused is None:
        check_file_counts(DOCUMENTS, attached, adding)
        return
    with pytest.raises(Invalid) as error:
        check_file_counts(DOCUMENTS, attached, adding)
    assert error.value.detail == "Quá số tệp cho phép của thành phần hồ sơ."
    assert error.value.errors == [{"field": "file", "message": refused}]


@pytest.mark.parametrize(
    ("kept", "expected"),
    [
        # Hard cases first: declared on someone's behalf (khai hộ), the relationship and
        # the declarant reach the officers; an organisation's address and representative.
        (
            {"kind": "proxy", "full_name": "Trần Văn Cường", "id_number": "001099000001",
             "relationship": "Con", "address": "Tổ 5, phường Đức Xuân", "declarant": DECLARANT},
            ev.Applicant(kind="proxy", full_name="Trần Văn Cường", id_number="001099000001",
                         relationship="Con", address="Tổ 5, phường Đức Xuân",
                         declarant=ev.Declarant(**DECLARANT)),
        ),
        (
            {**ORGANISATION, "declarant": DECLARANT},
            ev.Applicant(kind="organisation", full_name="Công ty TNHH An Bình",
                         organisation_name="Công ty TNHH An Bình", tax_code="4700123456",
                         address="Số 1, phường Đức Xuân", legal_representative="Trần Văn Cường",
                         declarant=ev.Declarant(**DECLARANT)),
        ),
        # A proxy without a relationship (it is optional): none, not an empty string.
        (
            {"kind": "proxy", "full_name": "Trần Văn Cường", "id_number": "001099000001",
             "declarant": DECLARANT},
            ev.Applicant(kind="proxy", full_name="Trần Văn Cường", id_number="001099000001",
                         declarant=ev.Declarant(**DECLARANT)),
        ),
        # The holder: no declarant, their own details.
        (
            {"kind": "citizen", **DECLARANT, "date_of_birth": "1990-05-17", "phone": "0912345678"},
            ev.Applicant(kind="citizen", **DECLARANT),
        ),
    ],
    ids=["proxy", "organisation", "proxy-without-relationship", "citizen"],
)  # fmt: skip
def test_the_submitted_event_keeps_what_the_officers_need_of_the_applicant(
    kept: dict[str, Any], expected: ev.Applicant
) -> None:
    assert submitted_applicant(kept) == expected
