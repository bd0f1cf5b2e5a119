"""The dossier as the National Public Service Portal records it (Decision 31/2021 art. 30):
its status code 1–10, its dates as `yyyyMMddHHmmss` in Vietnam time, and the process log.

Pure data in, pure data out: services/sync.py reads the case and its audit trail and
stores what `record` returns; the worker sends it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.contracts.events import VIETNAM
from shared.contracts.events import DossierStatus as S

# TrangThaiHoSo, the national portal's status codes (DOMAIN.md).
REGISTERED = 1
RECEIVED = 2
NOT_RECEIVED = 3
IN_PROGRESS = 4
SUPPLEMENT_REQUESTED = 5
FINANCIAL_OBLIGATION = 6
WITHDRAWN = 7
STOPPED = 8
PROCESSED = 9
RESULT_RETURNED = 10

# KenhThucHien: 1 at the desk, 2 online, 3 by post, by the case's `channel` (online
# through intake; in_person or post when a receiver registered the paper dossier).
IN_PERSON, ONLINE, POST = 1, 2, 3
CHANNELS = {"in_person": IN_PERSON, "online": ONLINE, "post": POST}

_DIRECT = {
    S.SUBMITTED: REGISTERED,
    S.SUPPLEMENT_REQUESTED: SUPPLEMENT_REQUESTED,
    S.IN_PROGRESS: IN_PROGRESS,
    S.PENDING_APPROVAL: IN_PROGRESS,
    S.AWAITING_FEE: FINANCIAL_OBLIGATION,
    S.RESULT_READY: PROCESSED,
    S.RETURNED: RESULT_RETURNED,
    S.WITHDRAWN: WITHDRAWN,
    S.STOPPED: STOPPED,
}


def status_code(status: S, *, received: bool, resumed: bool) -> int | None:
    """The national code of an internal status; None for a status the portal has no code
    for (a draft).

    `received`: the dossier was accepted at the desk. A refusal before that is "not
    received" (3); after it, the processing ended with a refusal (9, with NgayTuChoi).
    `resumed`: the dossier came back from a supplement. Code 2 marks the reception
    itself; a received dossier resumed after a supplement is back in processing (4).
    """
    if status is S.RECEIVED:
        return IN_PROGRESS if resumed else RECEIVED
    if status is S.REJECTED:
        return PROCESSED if received else NOT_RECEIVED
    return _DIRECT.get(status)


def portal_time(at: datetime | None) -> str | None:
    """`yyyyMMddHHmmss` in Vietnam time, as the portal reads its dates."""
    return None if at is None else at.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


@dataclass(frozen=True)
class Step:
    """One entry of the audit trail, as the process log shows it."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str
    officer_name: str | None
    officer_role: str | None


# The process log's wording of each action (NoiDungXuLy). Officers' free-text notes are
# not sent: they may hold the citizen's personal data beyond what the record needs.
ACTION_NAMES = {
    "submit": "Nộp hồ sơ trực tuyến",
    "register": "Tiếp nhận hồ sơ giấy tại Bộ phận Một cửa",
    "receive": "Tiếp nhận hồ sơ",
    "request-supplement": "Yêu cầu bổ sung hồ sơ",
    "supplement": "Công dân bổ sung hồ sơ",
    "reject": "Từ chối hồ sơ",
    "assign": "Phân công xử lý",
    "result": "Ghi nhận kết quả xử lý",
    "submit-for-approval": "Trình phê duyệt",
    "send-back": "Trả lại để xử lý tiếp",
    "approve": "Phê duyệt kết quả",
    "return-result": "Trả kết quả",
    "extend-deadline": "Gia hạn thời hạn giải quyết",
    "withdraw": "Công dân rút hồ sơ",
    "stop": "Dừng xử lý hồ sơ",
    "payment": "Nộp phí, lệ phí",
    "fee": "Nộp phí, lệ phí tại Bộ phận Một cửa",
}


def _last(steps: Sequence[Step], *actions: str) -> datetime | None:
    times = [s.at for s in steps if s.action in actions]
    return max(times) if times else None


def record_id(dossier_code: str, sequence: int) -> str:
    """The record's stable id: the same record sent twice carries the same id, so the
    portal recognises the second as a duplicate."""
    return f"{dossier_code}#{sequence}"


def record(
    case: Mapping[str, Any], steps: Sequence[Step], *, code: int, sequence: int
) -> dict[str, Any]:
    """The national portal's record of the dossier with status `code`, the `sequence`-th
    sent about it. `case` is workflow's case row; `steps` its audit trail, oldest first."""
    applicant = case["applicant"]
    fee = int(case.get("fee_vnd") or 0)
    processed = _last(steps, "approve") or case.get("resolved_at")
    return {
        "MaBanGhi": record_id(case["code"], sequence),
        "SoThuTu": sequence,
        "MaHoSo": case["code"],
        "MaTTHC": case["procedure_code"],
        "TenTTHC": case["procedure_name"],
        "KenhThucHien": CHANNELS[case.get("channel") or "online"],
        "ChuHoSo": applicant.get("organisation_name") or applicant.get("full_name"),
        # Personal data: only in the record itself, never in a log or a metric.
        "SoGiayToChuHoSo": applicant.get("id_number") or applicant.get("tax_code"),
        "NgayNopHoSo": portal_time(case["submitted_at"]),
        "NgayTiepNhan": portal_time(case.get("received_at")),
        "NgayHenTra": portal_time(case.get("due_at")),
        "NgayYeuCauBoSung": portal_time(_last(steps, "request-supplement")),
        "NgayKetThucXuLy": portal_time(processed),
        "NgayTra": portal_time(_last(steps, "return-result")),
        "NgayTuChoi": portal_time(_last(steps, "reject")),
        "TrangThaiHoSo": code,
        "DonViXuLy": case["agency_name"],
        "MaDonViXuLy": case["agency_code"],
        "PhiLePhi": [{"TenPhiLePhi": "Lệ phí", "MucPhi": fee}] if fee > 0 else [],
        "QuaTrinhXuLy": [
            {
                "ThoiDiemXuLy": portal_time(s.at),
                "NoiDungXuLy": ACTION_NAMES.get(s.action, s.action),
                "NguoiXuLy": s.officer_name,
                "ChucDanh": s.officer_role,
                "TrangThaiTruoc": s.from_status,
                "TrangThaiSau": s.to_status,
            }
            for s in steps
        ],
    }


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base, 2·base, 4·base … up to cap."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))
