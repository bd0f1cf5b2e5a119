"""Every event type of the system, one pydantic model each (version 1).

Events carry what their consumers need to act without calling the emitter back
(procedure, agency, times, due dates, the applicant's contact for notifications) and
no more personal data than that; personal data and secrets are marked `sensitive`.
A change that removes or renames a field is a new `version`, never an edit.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Re-exported: handlers annotate with `events.EventData` beside the event types.
from shared.contracts.envelope import EventData as EventData
from shared.contracts.envelope import sensitive

# Events carry UTC times; dates people read (due dates, reports) are in Vietnam time.
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


class DossierStatus(StrEnum):
    """The dossier statuses, the same in every service (API.md)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    IN_PROGRESS = "in_progress"
    PENDING_APPROVAL = "pending_approval"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # The citizen did not supplement in time and the receiver stopped the processing
    # (the national portal's TrangThaiHoSo 8).
    STOPPED = "stopped"
    # Approved, the result waits for the fee paid at the desk (the national portal's
    # TrangThaiHoSo 6, "chờ thực hiện nghĩa vụ tài chính").
    AWAITING_FEE = "awaiting_fee"


# The statuses in which the processing clock runs towards the due date (a supplement
# request pauses it; a decision ends it).
CLOCK_RUNNING = frozenset(
    {DossierStatus.RECEIVED, DossierStatus.IN_PROGRESS, DossierStatus.PENDING_APPROVAL}
)


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Judgement(StrEnum):
    """A resolved dossier against its (original) due date."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Declarant(_Part):
    """The account holder who submitted a dossier for someone else or for an organisation."""

    full_name: str
    id_number: str | None = None


class Recipient(_Part):
    """Who is told about a dossier, and how they chose to be told."""

    full_name: str
    phone: str | None = None
    email: str | None = None
    channels: list[Channel] = Field(default_factory=list)


class Applicant(_Part):
    kind: Literal["citizen", "proxy", "organisation"]
    full_name: str
    id_number: str | None = None
    organisation_name: str | None = None
    tax_code: str | None = None
    # What the officers need to receive the dossier (optional: older events lack them).
    relationship: str | None = Field(
        None, description="proxy (khai hộ): the declarant's relationship to the applicant."
    )
    address: str | None = Field(None, description="organisation: its registered address.")
    legal_representative: str | None = Field(
        None, description="organisation: its legal representative."
    )
    declarant: Declarant | None = Field(
        None, description="proxy, organisation: the account holder who declared the dossier."
    )


class FileRef(_Part):
    """An object in the store, named by key: the only way a service reads another's file."""

    bucket: str
    key: str
    size: int
    content_type: str
    sha256: str
    document_code: str | None = None
    filename: str | None = None


class Actor(_Part):
    """Who made a change: a named officer, the citizen, a timer or the system."""

    kind: Literal["officer", "citizen", "timer", "system"]
    id: str | None = None
    name: str | None = None
    role: str | None = None


class SupplementItem(_Part):
    document_code: str | None = None
    description: str


class ResultDelivery(_Part):
    method: Literal["in_person", "post", "online"]
    address: str | None = None


class DossierEvent(EventData):
    """Facts every dossier event carries, so consumers need no catalogue lookups."""

    procedure_code: str
    procedure_name: str
    field: str
    agency_code: str
    agency_name: str
    status: DossierStatus


class WorkflowDossierEvent(DossierEvent):
    """An officer's (or timer's) change to a case, with what notify and stats need."""

    actor: Actor
    note: str | None = None
    received_at: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    original_due_at: AwareDatetime | None = Field(
        None,
        description="The due date without the apology's extension (moved only by supplement "
        "pauses): what reports judge the dossier against.",
    )
    recipient: Recipient | None = sensitive(default=None)


# --- intake -------------------------------------------------------------------------


FeeTiming = Literal["before_submission", "on_result"]


class DossierSubmitted(DossierEvent):
    event_type = "dossier.submitted"

    dossier_id: uuid.UUID
    case_code: str | None = None
    online_level: Literal["full", "partial"]
    submitted_at: AwareDatetime
    applicant: Applicant = sensitive()
    form: dict[str, Any] = sensitive()
    attachments: list[FileRef]
    result_delivery: ResultDelivery = sensitive()
    recipient: Recipient = sensitive()
    update_code: str = sensitive(description="Secret for supplementing without an account.")
    fee_vnd: int = 0
    fee_timing: FeeTiming = Field(
        "on_result",
        description="When the fee is paid: online before submission (fully online procedures "
        "with a fixed fee), or at the desk when the result is collected.",
    )
    processing_days: int = Field(
        0, description="The procedure's processing time in working days when submitted."
    )
    cutoff_time: str = Field(
        "15:00", description="Receipts after this local time count from the next working day."
    )
    supplement_days: int | None = Field(
        None,
        description="Working days the citizen has to supplement (ThoiHanBoSung); none: the "
        "default of the rules the dossier is handled under.",
    )


class DossierSupplemented(DossierEvent):
    event_type = "dossier.supplemented"

    dossier_id: uuid.UUID
    attachments: list[FileRef]
    note: str | None = sensitive(default=None)
    supplemented_at: AwareDatetime


class DossierWithdrawn(DossierEvent):
    event_type = "dossier.withdrawn"

    dossier_id: uuid.UUID
    reason: str = sensitive()
    withdrawn_at: AwareDatetime
    recipient: Recipient | None = sensitive(default=None)


class DocumentName(_Part):
    code: str
    name: str
    required: bool = False


class ProcedureTerms(_Part):
    """What other services need to know of a procedure: its name and its deadline terms."""

    code: str
    name: str
    field: str
    online_level: Literal["full", "partial"]
    processing_days: int
    cutoff_time: str = "15:00"
    fee_vnd: int = 0
    fee_timing: FeeTiming = Field(
        "on_result",
        description="When the fee is paid: online before submission (fully online procedures "
        "with a fixed fee), or at the desk when the result is collected.",
    )
    documents: list[DocumentName] = Field(default_factory=list)
    supplement_days: int | None = Field(
        None,
        description="Working days the citizen has to supplement (ThoiHanBoSung); none: the "
        "default of the rules.",
    )


class AgencyRef(_Part):
    code: str
    name: str
    level: Literal["province", "district", "commune"]
    parent_code: str | None = None


class CataloguePublished(EventData):
    """The catalogue in force, published when intake starts with a new version of it, so
    workflow can answer appointment previews for procedures no dossier has used yet."""

    event_type = "catalogue.published"

    catalogue_version: str
    procedures: list[ProcedureTerms]
    agencies: list[AgencyRef]


class CalendarDay(_Part):
    """One entry of a year's working-day calendar (an agency's applies to its units too)."""

    day: date
    kind: Literal["holiday", "compensatory_day_off", "swapped_working_day", "half_day"]
    name: str
    half: Literal["morning", "afternoon"] | None = Field(
        None, description="half_day: the half that is off."
    )
    agency_code: str | None = None


class CalendarYear(_Part):
    year: int
    revision: int = Field(description="Grows with every edit of the year: the newest wins.")
    entries: list[CalendarDay]


class CalendarPublished(EventData):
    """The working-day calendars in force, published by workflow when it starts and after
    every edit of a year, so intake can tell the citizen the working days left."""

    event_type = "calendar.published"

    years: list[CalendarYear]


class AccountOtpRequested(EventData):
    event_type = "account.otp_requested"

    account_id: uuid.UUID
    # `unlock`: the code lifts a lockout caused by wrong passwords from many addresses;
    # `link_identity`: the owner proves the account is theirs to link the national identity.
    purpose: Literal["register", "reset_password", "unlock", "link_identity"]
    phone: str = sensitive()
    otp: str = sensitive()
    expires_at: AwareDatetime


class AccountRegistrationAttempted(EventData):
    """Someone registered again with the ID number of an active account: its owner is
    told on the verified phone (the registration itself is answered as any other)."""

    event_type = "account.registration_attempted"

    account_id: uuid.UUID
    phone: str = sensitive()
    attempted_at: AwareDatetime


class AccountPasswordChanged(EventData):
    """A citizen's password was reset with a code sent to the phone, or changed while
    signed in: every other session has ended, and the owner is told on the verified phone
    (and by e-mail, if given), so that a change they did not make does not go unseen."""

    event_type = "account.password_changed"

    account_id: uuid.UUID
    how: Literal["reset", "change"]
    phone: str = sensitive()
    email: str | None = sensitive(default=None)
    full_name: str = sensitive()
    changed_at: AwareDatetime


class FeedbackSubmitted(EventData):
    event_type = "feedback.submitted"

    procedure_code: str
    agency_code: str
    rating: int = Field(ge=1, le=5)
    complaint: bool = False
    comment: str | None = sensitive(default=None)
    submitted_at: AwareDatetime


class PaymentCompleted(DossierEvent):
    event_type = "payment.completed"

    amount_vnd: int
    method: Literal["online", "in_person"]
    reference: str
    paid_at: AwareDatetime


# --- workflow -----------------------------------------------------------------------


class DossierRegistered(DossierSubmitted):
    """A paper dossier taken at the one-stop desk (in person, or arrived by post) for an
    applicant who may have no account: workflow gives it its code and update code (from
    the desk range, shared/contracts/codes.py) and opens the case in the transaction that
    emits this. Everything a submission carries, so every consumer treats it as one
    (intake projects it as a dossier without an owner, notify sends the receipt with the
    update code to the contact given at the desk, stats counts it as submitted), plus
    the channel and the receiver. Received at once, `dossier.received` follows with
    channel `direct`."""

    event_type = "dossier.registered"

    channel: Literal["in_person", "post"] = Field(
        description="How the paper dossier came: at the desk (KenhThucHien 1) or by post (3)."
    )
    registered_by: Actor


class DossierReceived(WorkflowDossierEvent):
    event_type = "dossier.received"

    channel: Literal["online", "direct"]
    counted_from: AwareDatetime
    rule_set: str = Field(description="The legal rule set in force at receipt.")


class DossierSupplementRequested(WorkflowDossierEvent):
    event_type = "dossier.supplement_requested"

    items: list[SupplementItem]
    requested_at: AwareDatetime
    supplement_due_at: AwareDatetime | None = None
    round: int = Field(1, description="1 for the first request on this dossier, 2 for the next…")


class DossierSupplementDueSoon(WorkflowDossierEvent):
    """One working day is left of the citizen's deadline to supplement: the citizen is
    reminded; once it has passed the receiver may stop the dossier."""

    event_type = "dossier.supplement_due_soon"

    round: int
    supplement_due_at: AwareDatetime
    working_hours_left: float


class DossierResumed(WorkflowDossierEvent):
    """The citizen supplemented: the clock runs again, the due date moved by the pause."""

    event_type = "dossier.resumed"

    round: int
    resumed_at: AwareDatetime
    paused_working_hours: float = Field(
        description="Working time the clock stood still (0 before receipt)."
    )
    previous_due_at: AwareDatetime | None = None


class DossierRejected(WorkflowDossierEvent):
    event_type = "dossier.rejected"

    reason: str
    rejected_at: AwareDatetime
    stage: Literal["intake", "processing"]


class DossierStopped(WorkflowDossierEvent):
    """The supplement deadline passed without a supplement: the receiver stopped the
    processing. Final, like a rejection; counted apart in the report."""

    event_type = "dossier.stopped"

    reason: str
    stopped_at: AwareDatetime


class DossierAssigned(WorkflowDossierEvent):
    event_type = "dossier.assigned"

    assignee: Actor


class DossierSubmittedForApproval(WorkflowDossierEvent):
    event_type = "dossier.submitted_for_approval"


class DossierSentBack(WorkflowDossierEvent):
    event_type = "dossier.sent_back"


class DossierApproved(WorkflowDossierEvent):
    event_type = "dossier.approved"

    approved_at: AwareDatetime


class DossierAwaitingFee(WorkflowDossierEvent):
    """Approved, with a fee not yet paid: the result is handed over once the receiver has
    recorded the fee paid at the desk (then `payment.completed` and `dossier.result_ready`)."""

    event_type = "dossier.awaiting_fee"

    amount_vnd: int
    awaiting_since: AwareDatetime


class DossierResultReady(WorkflowDossierEvent):
    event_type = "dossier.result_ready"

    resolved_at: AwareDatetime
    judgement: Judgement
    processing_working_hours: float | None = Field(
        None, description="Working time from the clock's start to the result, pauses excluded."
    )
    result_summary: str
    result_file: FileRef | None = None
    delivery: ResultDelivery | None = sensitive(default=None)


class DossierReturned(WorkflowDossierEvent):
    event_type = "dossier.returned"

    returned_at: AwareDatetime
    originals_verified: bool


class DossierDeadlineExtended(WorkflowDossierEvent):
    event_type = "dossier.deadline_extended"

    new_due_at: AwareDatetime
    reason: str


class DossierDueSoon(WorkflowDossierEvent):
    event_type = "dossier.due_soon"

    working_hours_left: float
    officers: list[Actor] = Field(default_factory=list)
    officer_contacts: list[Recipient] = sensitive(
        default_factory=list, description="How to reach the officers named in `officers`."
    )


class DossierOverdue(WorkflowDossierEvent):
    event_type = "dossier.overdue"

    officers: list[Actor] = Field(default_factory=list)
    officer_contacts: list[Recipient] = sensitive(
        default_factory=list, description="How to reach the officers named in `officers`."
    )


class DossierSyncQueued(DossierEvent):
    """The dossier's status for the national portal changed: a record waits to be sent
    (Decision 766's synchronisation rate counts a dossier synced once the portal has
    accepted its latest record)."""

    event_type = "dossier.sync_queued"

    status_code: int = Field(description="The national portal's TrangThaiHoSo, 1-10.")
    record_sequence: int = Field(description="The record's number among the dossier's, from 1.")
    queued_at: AwareDatetime


class DossierSynced(DossierEvent):
    """The national portal accepted one of the dossier's records."""

    event_type = "dossier.synced"

    status_code: int = Field(description="The national portal's TrangThaiHoSo, 1-10.")
    record_sequence: int = Field(description="The record's number among the dossier's, from 1.")
    sent_at: AwareDatetime


# --- notify -------------------------------------------------------------------------


class _NotificationOutcome(EventData):
    delivery_id: uuid.UUID
    source_event_id: uuid.UUID
    channel: Channel
    template: str
    template_version: int
    dossier_code: str | None = None
    attempts: int


class NotificationSent(_NotificationOutcome):
    event_type = "notification.sent"

    sent_at: AwareDatetime


class NotificationFailed(_NotificationOutcome):
    event_type = "notification.failed"

    permanent: bool
    error: str
