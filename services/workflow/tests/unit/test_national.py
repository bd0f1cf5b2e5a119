"""The national portal's view of a dossier: status codes, dates, the record, back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.contracts.events import DossierStatus as S
from workflow.domain import national
from workflow.domain.national import Step

SUBMITTED_AT = datetime(2026, 11, 30, 17, 5, 9, tzinfo=UTC)  # 01/12 00:05:09 in Vietnam


@pytest.mark.parametrize(
    ("status", "received", "resumed", "code"),
    [
        (S.SUBMITTED, False, False, 1),
        (S.RECEIVED, True, False, 2),
        # Back from a supplement, a received dossier is in processing again.
        (S.RECEIVED, True, True, 4),
        (S.REJECTED, False, False, 3),
        # Refused after reception: processed, with a refusal date.
        (S.REJECTED, True, False, 9),
        (S.IN_PROGRESS, True, False, 4),
        (S.PENDING_APPROVAL, True, False, 4),
        (S.SUPPLEMENT_REQUESTED, False, False, 5),
        (S.SUPPLEMENT_REQUESTED, True, True, 5),
        (S.WITHDRAWN, True, False, 7),
        (S.STOPPED, True, False, 8),
        # Approved, the fee to be paid at the desk: "awaiting a financial obligation".
        (S.AWAITING_FEE, True, False, 6),
        (S.RESULT_READY, True, False, 9),
        (S.RETURNED, True, True, 10),
        (S.DRAFT, False, False, None),
    ],
)  # fmt: skip
def test_each_status_has_its_national_code(
    status: S, received: bool, resumed: bool, code: int | None
) -> None:
    assert national.status_code(status, received=received, resumed=resumed) == code


def test_every_status_but_the_draft_has_a_code_from_1_to_10() -> None:
    for status in set(S) - {S.DRAFT}:
        for received in (False, True):
            code = national.status_code(status, received=received, resumed=False)
            assert code is not None
            assert 1 <= code <= 10


def test_dates_are_vietnam_time_without_separators() -> None:
    assert national.portal_time(SUBMITTED_AT) == "20261201000509"
    assert national.portal_time(None) is None


def _case(**over: object) -> dict[str, object]:
    return {
        "code": "G01.306.000.000-261201-0001", "procedure_code": "1.004194",
        "procedure_name": "Đăng ký tạm trú", "agency_code": "G01.306.000.000",
        "agency_name": "Công an tỉnh Bắc Kạn", "fee_vnd": 15000,
        "applicant": {"kind": "citizen", "full_name": "Nguyễn Thị Bích", "id_number": "001190012345"},
        "submitted_at": SUBMITTED_AT, "received_at": None, "due_at": None, "resolved_at": None,
        **over,
    }  # fmt: skip


def _step(action: str, minutes: int, to: str) -> Step:
    at = SUBMITTED_AT + timedelta(minutes=minutes)
    return Step(at, action, None, to, "Hoàng Thị Lan", "receiver")


def test_the_record_carries_the_dates_of_its_steps_and_the_process_log() -> None:
    received_at = SUBMITTED_AT + timedelta(minutes=10)
    steps = [
        _step("submit", 0, "submitted"), _step("receive", 10, "received"),
        _step("request-supplement", 20, "supplement_requested"),
        _step("supplement", 30, "received"), _step("approve", 40, "result_ready"),
        _step("return-result", 50, "returned"),
    ]  # fmt: skip
    record = national.record(
        _case(received_at=received_at, due_at=received_at + timedelta(days=3)),
        steps, code=10, sequence=6,
    )  # fmt: skip
    assert record["MaBanGhi"] == "G01.306.000.000-261201-0001#6"
    assert record["TrangThaiHoSo"] == 10
    assert record["NgayNopHoSo"] == "20261201000509"
    assert record["NgayTiepNhan"] == "20261201001509"
    assert record["NgayHenTra"] == "20261204001509"
    assert record["NgayYeuCauBoSung"] == "20261201002509"
    assert record["NgayKetThucXuLy"] == "20261201004509"
    assert record["NgayTra"] == "20261201005509"
    assert record["NgayTuChoi"] is None
    assert record["SoGiayToChuHoSo"] == "001190012345"
    assert record["PhiLePhi"] == [{"TenPhiLePhi": "Lệ phí", "MucPhi": 15000}]
    assert [s["NoiDungXuLy"] for s in record["QuaTrinhXuLy"]][:2] == [
        "Nộp hồ sơ trực tuyến", "Tiếp nhận hồ sơ",
    ]  # fmt: skip


def test_a_free_procedure_has_no_fee_and_a_company_is_named_by_its_tax_code() -> None:
    applicant = {"kind": "organisation", "full_name": "Trần Văn An",
                 "organisation_name": "Công ty TNHH Bình Minh", "tax_code": "4700123456"}  # fmt: skip
    record = national.record(_case(fee_vnd=0, applicant=applicant), [], code=1, sequence=1)
    assert record["PhiLePhi"] == []
    assert record["ChuHoSo"] == "Công ty TNHH Bình Minh"
    assert record["SoGiayToChuHoSo"] == "4700123456"


def test_the_same_record_has_the_same_id() -> None:
    first = national.record(_case(), [], code=1, sequence=1)
    assert first == national.record(_case(), [], code=1, sequence=1)
    assert first["MaBanGhi"] != national.record(_case(), [], code=2, sequence=2)["MaBanGhi"]


def test_back_off_doubles_up_to_the_cap() -> None:
    waits = [national.backoff(n, base=2.0, cap=60.0).total_seconds() for n in range(1, 8)]
    assert waits == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


@pytest.mark.parametrize(
    ("channel", "kenh"), [(None, 2), ("online", 2), ("in_person", 1), ("post", 3)]
)
def test_the_channel_is_the_one_the_dossier_came_by(channel: str | None, kenh: int) -> None:
    case = _case() if channel is None else _case(channel=channel)
    assert national.record(case, [], code=1, sequence=1)["KenhThucHien"] == kenh
