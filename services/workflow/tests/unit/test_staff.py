"""A unit's staff: roles, the password policy, temporary passwords, the units an admin runs."""

from __future__ import annotations

import pytest

from shared.errors import Invalid
from workflow.domain.lifecycle import Role
from workflow.domain.staff import (
    check_password,
    check_roles,
    password_problems,
    primary_role,
    runs,
    temporary_password,
)

PROVINCE, DISTRICT, COMMUNE, OTHER_DISTRICT = "P", "D", "C", "D2"
PARENTS = {PROVINCE: None, DISTRICT: PROVINCE, COMMUNE: DISTRICT, OTHER_DISTRICT: PROVINCE}


def test_roles_are_known_each_once_in_a_fixed_order_and_at_least_one() -> None:
    assert check_roles(["receiver", "admin", "receiver"]) == [Role.ADMIN, Role.RECEIVER]
    with pytest.raises(Invalid):
        check_roles([])
    with pytest.raises(Invalid):
        check_roles(["superuser"])


def test_the_primary_role_is_the_widest() -> None:
    assert primary_role(["receiver", "processor"]) == Role.PROCESSOR
    assert primary_role(["receiver", "admin"]) == Role.ADMIN


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("ngan1", "ít nhất"),
        ("chicochuthoiday", "chữ số"),
        ("1234567890123", "chữ cái"),
        ("bk.quantri2026x", "tên đăng nhập"),
    ],
)
def test_weak_passwords_are_refused_saying_why(password: str, why: str) -> None:
    problems = password_problems(password, username="bk.quantri")
    assert any(why in p for p in problems), problems


def test_the_new_password_differs_from_the_current_one() -> None:
    with pytest.raises(Invalid) as refused:
        check_password("matkhau2026moi", username="bk.xuly", current="matkhau2026moi")
    assert refused.value.errors is not None
    assert refused.value.errors[0]["field"] == "new_password"
    check_password("matkhau2026moi", username="bk.xuly", current="cu-2025-abc")


def test_temporary_passwords_meet_the_policy_and_differ() -> None:
    made = {temporary_password() for _ in range(50)}
    assert len(made) == 50
    assert all(password_problems(p, username="x.y") == [] for p in made)


def test_an_admin_runs_their_unit_and_those_under_it_never_another_branch() -> None:
    assert runs(PARENTS, PROVINCE, COMMUNE)
    assert runs(PARENTS, DISTRICT, COMMUNE)
    assert runs(PARENTS, DISTRICT, DISTRICT)
    assert not runs(PARENTS, DISTRICT, PROVINCE)
    assert not runs(PARENTS, OTHER_DISTRICT, COMMUNE)
    assert not runs(PARENTS, DISTRICT, "unknown")
    assert not runs({"A": "B", "B": "A"}, "X", "A")  # a cycle ends the walk
