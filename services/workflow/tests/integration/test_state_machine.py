"""The state machine as a whole: hypothesis drives random sequences of officers' actions
(by random roles) and citizens' events against the real service, and compares every
answer and every dossier's status with a model written independently here from
ARCHITECTURE.md and API.md."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from services.workflow.tests.integration.support import (
    Desk,
    arrived,
    case_status,
    emitted,
    submitted,
    supplemented,
    withdrawn,
)
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

OPEN = {"submitted", "received", "supplement_requested", "in_progress", "pending_approval"}
# action: (statuses it is taken from, roles that may take it, status it leads to or None)
MODEL: dict[str, tuple[set[str], set[str], str | None]] = {
    "receive": ({"submitted"}, {"receiver"}, "received"),
    "request-supplement": (
        {"submitted", "received", "in_progress"}, {"receiver", "processor"},
        "supplement_requested",
    ),
    "reject": (OPEN, {"receiver", "approver"}, "rejected"),
    "assign": ({"received", "in_progress"}, {"receiver", "approver"}, "in_progress"),
    "result": ({"in_progress"}, {"processor"}, None),
    "submit-for-approval": ({"in_progress"}, {"processor"}, "pending_approval"),
    "send-back": ({"pending_approval"}, {"approver"}, "in_progress"),
    "approve": ({"pending_approval"}, {"approver"}, "result_ready"),
    "return-result": ({"result_ready"}, {"receiver"}, "returned"),
}  # fmt: skip
BODIES: dict[str, dict[str, Any]] = {
    "request-supplement": {"json": {"items": [{"description": "Thiếu giấy tờ"}]}},
    "reject": {"json": {"reason": "Không đủ điều kiện"}},
    "assign": {"json": {"officer": "bk.xuly"}},
    "result": {"files": {"summary": (None, "Đã xử lý xong")}},
    "send-back": {"json": {"note": "Xem lại"}},
    "return-result": {"json": {"originals_verified": True}},
}
ROLES = ("receiver", "processor", "approver", "admin")


@dataclass
class Dossier:
    envelope: Any
    status: str = "submitted"
    has_result: bool = False
    resume_to: str | None = None

    @property
    def code(self) -> str:
        return str(self.envelope.dossier_code)


def expected_answer(dossier: Dossier, action: str, role: str) -> int:
    sources, roles, _ = MODEL[action]
    if role not in roles:
        return 403
    if dossier.status not in sources:
        return 409
    if action == "submit-for-approval" and not dossier.has_result:
        return 409
    return 200


def apply(dossier: Dossier, action: str) -> None:
    target = MODEL[action][2]
    if action == "request-supplement":
        dossier.resume_to = dossier.status
    if action == "result":
        dossier.has_result = True
    if target is not None:
        dossier.status = target


class Workflow(RuleBasedStateMachine):
    service: ServiceUnderTest
    desk: Desk
    loop: asyncio.AbstractEventLoop

    dossiers = Bundle("dossiers")

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def __init__(self) -> None:
        super().__init__()
        self.known: list[Dossier] = []

    @rule(target=dossiers)
    def citizen_submits(self) -> Dossier:
        dossier = Dossier(submitted())
        self.run(arrived(self.service, dossier.envelope))
        self.known.append(dossier)
        return dossier

    @rule(dossier=dossiers, action=st.sampled_from(sorted(MODEL)), role=st.sampled_from(ROLES))
    def officer_acts(self, dossier: Dossier, action: str, role: str) -> None:
        answer = self.run(self.desk.act(role, dossier.code, action, **BODIES.get(action, {})))
        expected = expected_answer(dossier, action, role)
        assert answer.status_code == expected, (action, role, dossier.status, answer.text)
        if expected == 200:
            apply(dossier, action)

    @rule(dossier=dossiers)
    def citizen_supplements(self, dossier: Dossier) -> None:
        if dossier.status != "supplement_requested":
            return  # intake only offers a supplement to a dossier waiting for one
        assert dossier.resume_to is not None
        dossier.status, dossier.resume_to = dossier.resume_to, None
        self.run(arrived(self.service, supplemented(dossier.envelope), dossier.status))

    @rule(dossier=consumes(dossiers))
    def citizen_withdraws(self, dossier: Dossier) -> None:
        if dossier.status not in OPEN:
            return  # intake refuses a withdrawal once there is a result
        dossier.status = "withdrawn"
        self.run(arrived(self.service, withdrawn(dossier.envelope), "withdrawn"))

    @invariant()
    def every_status_is_the_models(self) -> None:
        for dossier in self.known:
            assert self.run(case_status(self.service, dossier.code)) == dossier.status

    def teardown(self) -> None:
        for dossier in self.known:
            events = self.run(emitted(self.service, dossier.code))
            # Sequences grow by one per event, whatever happened.
            assert [e.sequence for e in events] == list(range(1, len(events) + 1))


async def test_random_sequences_of_actions_follow_the_model(workflow: ServiceUnderTest) -> None:
    Workflow.service = workflow
    Workflow.desk = await Desk(workflow).sign_in()
    Workflow.loop = asyncio.get_running_loop()
    await asyncio.to_thread(
        run_state_machine_as_test,
        Workflow,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
