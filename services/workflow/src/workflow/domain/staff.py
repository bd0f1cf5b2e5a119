"""Rules of a unit's staff: an officer's roles, the passwords officers choose, the
temporary passwords administrators hand out, and which units an administrator runs.

An administrator runs their own unit and every unit under it, never another branch of
the tree: a district's admin cannot see the province's officers nor a sibling district's.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable, Mapping

from shared.errors import Invalid, field_error
from workflow.domain.lifecycle import Role

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128
# A temporary password is read off a screen and typed: no 0/O, 1/l/I.
_TEMPORARY_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
_TEMPORARY_LENGTH = 14
# The role a token names first (and notify reads): the widest an officer holds.
_PRECEDENCE = (Role.ADMIN, Role.APPROVER, Role.PROCESSOR, Role.RECEIVER)


def check_roles(roles: Iterable[str]) -> list[Role]:
    """The roles as stored (known, each once, in a fixed order); Invalid if none."""
    chosen = set()
    for role in roles:
        if role not in set(Role):
            raise Invalid(
                f"Vai trò “{role}” không tồn tại.",
                errors=[
                    field_error(
                        "roles", "Vai trò phải là receiver, processor, approver hoặc admin."
                    )
                ],
            )
        chosen.add(Role(role))
    if not chosen:
        raise Invalid(
            "Cán bộ phải có ít nhất một vai trò.",
            errors=[field_error("roles", "Chọn ít nhất một vai trò.")],
        )
    return [role for role in _PRECEDENCE if role in chosen]


def primary_role(roles: Iterable[str]) -> Role:
    """The widest of the roles: the one a token names as `role`."""
    held = set(roles)
    return next(role for role in _PRECEDENCE if role in held)


def password_problems(password: str, *, username: str, current: str | None = None) -> list[str]:
    """Why an officer may not choose `password` (empty: they may)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(f"Mật khẩu phải có ít nhất {PASSWORD_MIN_LENGTH} ký tự.")
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(f"Mật khẩu không được dài quá {PASSWORD_MAX_LENGTH} ký tự.")
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append("Mật khẩu phải có cả chữ cái và chữ số.")
    if username.casefold() in password.casefold():
        problems.append("Mật khẩu không được chứa tên đăng nhập.")
    if current is not None and password == current:
        problems.append("Mật khẩu mới phải khác mật khẩu hiện tại.")
    return problems


def check_password(password: str, *, username: str, current: str | None = None) -> None:
    problems = password_problems(password, username=username, current=current)
    if problems:
        raise Invalid(
            problems[0], errors=[field_error("new_password", problem) for problem in problems]
        )


def temporary_password() -> str:
    """A random password that meets the policy, to be changed at first sign-in."""
    while True:
        candidate = "".join(secrets.choice(_TEMPORARY_ALPHABET) for _ in range(_TEMPORARY_LENGTH))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def runs(parents: Mapping[str, str | None], admin_unit: str, unit: str) -> bool:
    """Whether the administrator of `admin_unit` runs `unit`: the same unit or one under
    it (`parents`: each unit's parent; a unit not in it is under nobody)."""
    seen = set()
    current: str | None = unit
    while current is not None and current not in seen:
        if current == admin_unit:
            return True
        seen.add(current)
        current = parents.get(current)
    return False
