"""What a dossier must satisfy before it is kept as a draft and before it is submitted,
checked on plain data (the procedure's terms, the account holder's details, what the
citizen declared): the case, who the applicant is, the channels and delivery of the
result, the declaration form, the required documents and the files per document.

Each check names every field at fault at once, so the citizen corrects them in one go.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from intake.domain.forms import form_errors
from shared.contracts import events as ev
from shared.errors import Invalid, field_error

FieldErrors = list[dict[str, str]]
Row = Mapping[str, Any]


def case_errors(cases: Sequence[Row], case_code: str | None) -> FieldErrors:
    """A procedure split into cases needs one of them; one that is not, none."""
    codes = {c["code"] for c in cases}
    if codes and case_code not in codes:
        return [field_error("case_code", "Vui lòng chọn trường hợp thực hiện thủ tục.")]
    if not codes and case_code is not None:
        return [field_error("case_code", "Thủ tục này không chia trường hợp.")]
    return []


def delivery_errors(
    online_level: str, account_email: str | None, notify_via: Sequence[str], delivery: Row
) -> FieldErrors:
    """Notification by email needs an email on the account; delivery by post needs an
    address; an electronic result only from a procedure offered fully online."""
    errors = []
    if "email" in notify_via and not account_email:
        errors.append(field_error("notify_via", "Tài khoản chưa có thư điện tử để nhận thông báo."))
    if delivery["method"] == "post" and not (delivery.get("address") or "").strip():
        errors.append(field_error("result_delivery.address", "Vui lòng nhập địa chỉ nhận kết quả."))
    if delivery["method"] == "online" and online_level != "full":
        errors.append(
            field_error(
                "result_delivery.method", "Thủ tục này trả kết quả trực tiếp hoặc qua bưu chính."
            )
        )
    return errors


def applicant(
    kinds: Collection[str], holder: Row, given: Row | None
) -> tuple[dict[str, Any], FieldErrors]:
    """Who the dossier is for, as kept with it: the account holder (prefilled from the
    profile), a person declared on their behalf ("khai hộ") or an organisation, both of
    which keep the holder as the declarant."""
    given = given or {"kind": "citizen"}
    kind = given.get("kind", "citizen")
    if kind not in kinds:
        return {}, [field_error("applicant.kind", "Thủ tục này không áp dụng cho người nộp này.")]
    declarant = {"full_name": holder["full_name"], "id_number": holder["id_number"]}
    if kind == "citizen":
        return {
            "kind": kind,
            **declarant,
            "date_of_birth": holder["date_of_birth"].isoformat(),
            "phone": holder["phone"],
        }, []
    required = (
        ("full_name", "id_number")
        if kind == "proxy"
        else ("organisation_name", "tax_code", "address", "legal_representative")
    )
    errors = [
        field_error(f"applicant.{name}", "Trường này là bắt buộc.")
        for name in required
        if not str(given.get(name) or "").strip()
    ]
    return {**{k: v for k, v in given.items() if v is not None}, "declarant": declarant}, errors


def submitted_applicant(kept: Row) -> ev.Applicant:
    """The applicant as `dossier.submitted` tells workflow: what the desk needs to receive
    the dossier and fill in the receipt (for khai hộ the relationship and the declarant,
    for an organisation its address and legal representative)."""

    def given(name: str) -> str | None:
        value = str(kept.get(name) or "").strip()
        return value or None

    declarant = kept.get("declarant")
    return ev.Applicant(
        kind=kept["kind"],
        full_name=given("full_name") or given("organisation_name") or "",
        id_number=given("id_number"),
        organisation_name=given("organisation_name"),
        tax_code=given("tax_code"),
        relationship=given("relationship") if kept["kind"] == "proxy" else None,
        address=given("address") if kept["kind"] != "citizen" else None,
        legal_representative=(
            given("legal_representative") if kept["kind"] == "organisation" else None
        ),
        declarant=ev.Declarant(**declarant) if declarant else None,
    )


def checked_draft(procedure: Row, holder: Row, draft: Row) -> dict[str, Any]:
    """The applicant to keep with a valid draft; `Invalid` naming every field at fault."""
    kept, applicant_errors = applicant(procedure["applicant_kinds"], holder, draft.get("applicant"))
    errors = [
        *case_errors(procedure["cases"], draft.get("case_code")),
        *delivery_errors(
            procedure["online_level"], holder["email"], draft["notify_via"],
            draft["result_delivery"],
        ),
        *form_errors(procedure["form_schema"], draft["form"]),
        *applicant_errors,
    ]  # fmt: skip
    if errors:
        raise Invalid("Thông tin hồ sơ chưa hợp lệ, vui lòng kiểm tra lại.", errors=errors)
    return kept


def missing_documents(documents: Sequence[Row], present: Collection[str]) -> FieldErrors:
    """One error per required document of which no file is `present`."""
    return [
        field_error("attachments", f"Thiếu thành phần hồ sơ: {d['name']}.")
        for d in documents
        if d["required"] and d["code"] not in present
    ]


def check_complete(procedure: Row, form: dict[str, Any], present: Collection[str]) -> None:
    """A dossier is submitted with every required document and a valid form."""
    errors = missing_documents(procedure["documents"], present) + form_errors(
        procedure["form_schema"], form
    )
    if errors:
        raise Invalid("Hồ sơ chưa đủ thành phần, vui lòng bổ sung trước khi nộp.", errors=errors)


def check_file_counts(
    documents: Sequence[Row], attached: Mapping[str, int], adding: Iterable[str]
) -> None:
    """No document may take more files than the procedure allows, counting those already
    attached (`attached`, per document code) and those being added."""
    counts = dict(attached)
    for code in adding:
        counts[code] = counts.get(code, 0) + 1
    for document in documents:
        if counts.get(document["code"], 0) > document["max_files"]:
            raise Invalid(
                "Quá số tệp cho phép của thành phần hồ sơ.",
                errors=[
                    field_error("file", f"{document['name']}: tối đa {document['max_files']} tệp.")
                ],
            )
