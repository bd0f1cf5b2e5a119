"""Sign-in with the national identity (VNeID) as an OpenID Connect relying party:
authorization code flow with PKCE (S256), `state` and `nonce` per attempt.

1. `start`: a new attempt (state, nonce, code verifier, the portal page to return to)
   is stored, bound to the browser by a cookie, and the browser is sent to the provider.
2. `finish` (the provider's redirect): the attempt is taken by its state and deleted in
   the same statement (used once, whatever follows), checked for expiry and browser;
   the code is exchanged for the ID token, whose signature, issuer, audience, expiry
   and nonce are checked. The 12-digit personal ID number it carries finds the account:
   - none: an active account is created with the verified name, birth date and phone,
     and linked to the identity;
   - one linked to this identity: signed in;
   - one awaiting phone verification: nobody has proved it is theirs, while the
     identity proves the number is this citizen's: it becomes theirs, verified details,
     no password (set one with a password reset), linked;
   - an active one not linked: its owner must prove it is theirs first, a short-lived
     single-use link ticket is answered and `link` takes it with the password or with
     a code sent to the account's verified phone (`request_link_code`).
3. `link`: the ticket and the account's password, checked by the password sign-in
   itself (same lockout, same limits), or the code, checked as every one-time code is
   (`codes`: expiry, attempts; the same limits on codes sent and guessed per ID number
   and address), link the account; the citizen is signed in.

The portal gets intake's own citizen token, exactly as from a password sign-in.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.oidc import IdTokenInvalid, ProviderRefused, ProviderUnavailable
from intake.adapters.tables import accounts, oidc_attempts, oidc_link_tickets, oidc_links
from intake.domain import oidc as rules
from intake.domain.statuses import AccountStatus
from intake.services import accounts as password_sign_in
from intake.services import codes
from intake.services.context import Context
from intake.services.limits import code_guessed, codes_sent
from intake.services.sealing import keyed_digest
from shared.contracts.events import VIETNAM
from shared.errors import BadRequest, Gone, Refused, Unavailable, invalid_field

# No password can match it (not a hash the hasher reads): an account made from the
# national identity signs in with it, or sets a password by a reset.
NO_PASSWORD = "!national-identity"  # noqa: S105 (a marker, not a secret)

_AGAIN = "Vui lòng đăng nhập lại bằng tài khoản định danh điện tử."


def _refused(kind: str, detail: str) -> BadRequest:
    return BadRequest(
        detail, type_=f"urn:dvc:oidc-{kind}", title="Không đăng nhập được bằng định danh điện tử"
    )


def _unavailable() -> Unavailable:
    return Unavailable(
        "Hệ thống định danh điện tử quốc gia tạm thời không phản hồi. Vui lòng thử lại sau.",
        retry_after=30,
        type_="urn:dvc:oidc-provider-unavailable",
    )


def _digest(ctx: Context, purpose: str, value: str) -> str:
    return keyed_digest(ctx.settings.secret("jwt_secret"), f"oidc-{purpose}", value)


def new_browser_binding() -> str:
    """The value of the cookie that ties attempts to the browser that started them."""
    return secrets.token_urlsafe(32)


async def start(ctx: Context, portal_redirect: str | None, browser: str) -> str:
    """Store a new attempt; the provider's authorization URL to send the browser to."""
    settings = ctx.settings
    if portal_redirect is not None and not rules.allowed_redirect(
        portal_redirect, settings.oidc_portal_redirect_uris
    ):
        raise invalid_field(
            "redirect_uri", "Địa chỉ quay về không nằm trong danh sách được phép của cổng."
        )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters: RFC 7636 asks 43 to 128
    try:
        url = await ctx.oidc.authorization_url(
            redirect_uri=settings.oidc_redirect_uri, scope=settings.oidc_scopes, state=state,
            nonce=nonce, code_challenge=rules.pkce_challenge(verifier),
        )  # fmt: skip
    except ProviderUnavailable:
        raise _unavailable() from None
    now = datetime.now(UTC)
    async with ctx.db.transaction() as session:
        # Attempts never finished would pile up: each start clears the expired ones.
        await session.execute(delete(oidc_attempts).where(oidc_attempts.c.expires_at < now))
        await session.execute(
            oidc_attempts.insert().values(
                state_digest=_digest(ctx, "state", state),
                browser_digest=_digest(ctx, "browser", browser),
                nonce=nonce, code_verifier=verifier, portal_redirect=portal_redirect,
                expires_at=now + timedelta(seconds=settings.oidc_attempt_seconds),
            )
        )  # fmt: skip
    return url


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class LinkRequired:
    link_ticket: str
    expires_in: int


@dataclass(frozen=True)
class Finished:
    outcome: SignedIn | LinkRequired
    # The portal page the attempt was started for; None: answer in JSON.
    portal_redirect: str | None


@dataclass(frozen=True)
class Callback:
    state: str | None
    code: str | None
    error: str | None
    issuer: str | None
    browser: str | None


async def finish(ctx: Context, callback: Callback) -> Finished:
    """End an attempt with the provider's answer."""
    attempt = await _take_attempt(ctx, callback)
    if callback.error is not None:
        if callback.error == "access_denied":
            raise _refused(
                "access-denied",
                "Bạn đã hủy hoặc không đồng ý chia sẻ thông tin định danh điện tử. " + _AGAIN,
            )
        raise _refused(
            "provider-error",
            f"Hệ thống định danh điện tử từ chối đăng nhập ({callback.error[:64]}). " + _AGAIN,
        )
    # RFC 9207: a provider that names itself must be ours (an answer mixed up from another).
    if callback.issuer is not None and callback.issuer.rstrip("/") != ctx.oidc.issuer:
        raise _refused("issuer", "Kết quả xác thực đến từ một hệ thống khác. " + _AGAIN)
    if not callback.code:
        raise _refused("code", "Thiếu mã xác thực từ hệ thống định danh điện tử. " + _AGAIN)
    try:
        id_token = await ctx.oidc.exchange(
            code=callback.code, redirect_uri=ctx.settings.oidc_redirect_uri,
            code_verifier=attempt.code_verifier,
        )  # fmt: skip
        claims = await ctx.oidc.verify_id_token(id_token)
    except ProviderUnavailable:
        raise _unavailable() from None
    except ProviderRefused:
        raise _refused(
            "code", "Mã xác thực không hợp lệ, đã hết hạn hoặc đã được sử dụng. " + _AGAIN
        ) from None
    except IdTokenInvalid:
        raise _refused(
            "id-token",
            "Không xác minh được chữ ký của kết quả xác thực định danh điện tử. " + _AGAIN,
        ) from None
    try:
        rules.check_claims(claims, nonce=attempt.nonce, client_id=ctx.oidc.client_id)
        person = rules.identity_of(
            claims,
            id_number_claim=ctx.settings.oidc_id_number_claim,
            today=datetime.now(VIETNAM).date(),
        )
    except rules.IdentityRefused as exc:
        raise _refused("identity", str(exc)) from None
    outcome = await _sign_in(ctx, person)
    return Finished(outcome, attempt.portal_redirect)


async def _take_attempt(ctx: Context, callback: Callback) -> Any:
    if not callback.state:
        raise _refused("state", "Thiếu tham số state của lần đăng nhập. " + _AGAIN)
    async with ctx.db.transaction() as session:
        # Deleted as it is read: a replayed or concurrent callback finds nothing.
        attempt = (
            await session.execute(
                delete(oidc_attempts)
                .where(oidc_attempts.c.state_digest == _digest(ctx, "state", callback.state))
                .returning(oidc_attempts)
            )
        ).first()
    if attempt is None:
        raise _refused("state", "Lần đăng nhập không tồn tại hoặc đã được sử dụng. " + _AGAIN)
    if attempt.expires_at <= datetime.now(UTC):
        raise _refused("state-expired", "Lần đăng nhập đã hết hạn. " + _AGAIN)
    browser = _digest(ctx, "browser", callback.browser or "")
    if not hmac.compare_digest(browser, attempt.browser_digest):
        # Someone else's callback link (login CSRF): it would sign this browser in as them.
        raise _refused("browser", "Lần đăng nhập được bắt đầu từ một trình duyệt khác. " + _AGAIN)
    return attempt


async def _sign_in(ctx: Context, person: rules.NationalIdentity) -> SignedIn | LinkRequired:
    issuer = ctx.oidc.issuer
    async with ctx.db.transaction() as session:
        account = await _account_of(session, person.id_number)
        created = await _create(session, person) if account is None else None
        if created is None and account is None:
            # Registered by another request meanwhile: that account is the one.
            account = await _account_of(session, person.id_number)
        if created is not None:
            account_id = created
        elif account is None:
            raise _refused("identity", "Vui lòng thử lại.")
        elif account.status != AccountStatus.ACTIVE:
            account_id = account.id
            await _take_over(session, account_id, person)
        elif await _linked(session, account.id, issuer, person.subject):
            account_id = account.id
        else:
            ticket = secrets.token_urlsafe(32)
            seconds = ctx.settings.oidc_link_ticket_seconds
            now = datetime.now(UTC)
            # Tickets never used would pile up: each new one clears the expired ones.
            await session.execute(
                delete(oidc_link_tickets).where(oidc_link_tickets.c.expires_at < now)
            )
            await session.execute(
                oidc_link_tickets.insert().values(
                    ticket_digest=_digest(ctx, "link", ticket), account_id=account.id,
                    issuer=issuer, subject=person.subject,
                    expires_at=now + timedelta(seconds=seconds),
                )
            )  # fmt: skip
            return LinkRequired(ticket, seconds)
        await _link(session, account_id, issuer, person.subject)
        return await _signed_in(ctx, session, account_id)


async def _signed_in(ctx: Context, session: AsyncSession, account_id: uuid.UUID) -> SignedIn:
    """intake's own token for the account, of its current session (a reset or change of
    the password ends the sessions before it: shared/security/sessions.py)."""
    version = await session.scalar(
        select(accounts.c.session_version).where(accounts.c.id == account_id)
    )
    token, expires_in = ctx.tokens.issue(str(account_id), "citizen", sv=version or 0)
    return SignedIn(token, expires_in)


async def _account_of(session: AsyncSession, id_number: str) -> Any:
    return (
        await session.execute(
            select(accounts.c.id, accounts.c.status)
            .where(accounts.c.id_number == id_number)
            .with_for_update()
        )
    ).first()


async def _linked(session: AsyncSession, account_id: uuid.UUID, issuer: str, subject: str) -> bool:
    found = await session.scalar(
        select(oidc_links.c.account_id).where(
            oidc_links.c.account_id == account_id,
            oidc_links.c.issuer == issuer,
            oidc_links.c.subject == subject,
        )
    )
    return found is not None


def _verified_details(person: rules.NationalIdentity) -> dict[str, Any]:
    if person.date_of_birth is None or person.phone is None:
        raise _refused(
            "identity",
            "Tài khoản định danh điện tử chưa cung cấp ngày sinh hoặc số điện thoại di động"
            " hợp lệ, cần có để tạo tài khoản trên cổng dịch vụ công.",
        )
    return {
        "full_name": person.full_name,
        "date_of_birth": person.date_of_birth,
        "phone": person.phone,
        "password_hash": NO_PASSWORD,
        "status": AccountStatus.ACTIVE,
    }


async def _create(session: AsyncSession, person: rules.NationalIdentity) -> uuid.UUID | None:
    """The new account's id; None if the ID number has one already."""
    created = await session.scalar(
        insert(accounts)
        .values(id=uuid.uuid4(), id_number=person.id_number, **_verified_details(person))
        .on_conflict_do_nothing(index_elements=[accounts.c.id_number])
        .returning(accounts.c.id)
    )
    return None if created is None else uuid.UUID(str(created))


async def _take_over(
    session: AsyncSession, account_id: uuid.UUID, person: rules.NationalIdentity
) -> None:
    await session.execute(
        accounts.update()
        .where(accounts.c.id == account_id)
        .values(**_verified_details(person), email=None)
    )


async def _link(session: AsyncSession, account_id: uuid.UUID, issuer: str, subject: str) -> None:
    # One identity per account and one account per identity: the latest link wins.
    await session.execute(
        delete(oidc_links).where(
            (oidc_links.c.account_id == account_id)
            | ((oidc_links.c.issuer == issuer) & (oidc_links.c.subject == subject))
        )
    )
    await session.execute(
        oidc_links.insert().values(account_id=account_id, issuer=issuer, subject=subject)
    )


async def _ticket(ctx: Context, digest: str) -> Any:
    """The unexpired ticket of that digest, with the account's ID number and phone."""
    async with ctx.db.transaction() as session:
        found = (
            await session.execute(
                select(oidc_link_tickets, accounts.c.id_number, accounts.c.phone)
                .join(accounts, accounts.c.id == oidc_link_tickets.c.account_id)
                .where(oidc_link_tickets.c.ticket_digest == digest)
            )
        ).first()
    if found is None or found.expires_at <= datetime.now(UTC):
        raise _expired_ticket()
    return found


async def request_link_code(ctx: Context, ticket: str) -> None:
    """Send a code to the verified phone of the ticket's account, to link it with it."""
    found = await _ticket(ctx, _digest(ctx, "link", ticket))
    await codes_sent(ctx, found.id_number)
    code = await codes.new_code()
    async with ctx.db.transaction() as session:
        await codes.issue(
            ctx, session, found.id_number, codes.LINK, code, (found.account_id, found.phone)
        )


async def link(
    ctx: Context, ticket: str, address: str, *, password: str | None = None,
    otp: str | None = None,
) -> SignedIn:  # fmt: skip
    """Link the account of a ticket once its owner proved it is theirs, with its password
    or the code sent to its phone (exactly one of them); the citizen's token."""
    digest = _digest(ctx, "link", ticket)
    found = await _ticket(ctx, digest)
    if password is not None:
        # The password sign-in itself: its lockout and its answers (401, 423) apply.
        await password_sign_in.authenticate(ctx, found.id_number, password, address)
    elif otp is not None:
        await code_guessed(ctx, found.id_number, address)
        async with ctx.db.transaction() as session:
            opened = await codes.check(ctx, session, found.id_number, codes.LINK, otp)
        # Raised after the block: the counted attempt must commit, not roll back.
        if not isinstance(opened, uuid.UUID):
            raise opened
        if opened != found.account_id:
            raise _expired_ticket()  # the code was sent for another account of the number
    else:
        raise invalid_field("password", "Vui lòng nhập mật khẩu hoặc mã xác thực.")
    async with ctx.db.transaction() as session:
        taken = await session.scalar(
            delete(oidc_link_tickets)
            .where(oidc_link_tickets.c.ticket_digest == digest)
            .returning(oidc_link_tickets.c.account_id)
        )
        if taken is None:
            raise _expired_ticket()  # used by a concurrent request meanwhile
        await _link(session, found.account_id, found.issuer, found.subject)
        return await _signed_in(ctx, session, found.account_id)


def _expired_ticket() -> Refused:
    return Gone(
        "Phiếu liên kết tài khoản không hợp lệ hoặc đã hết hạn. " + _AGAIN,
        type_="urn:dvc:oidc-link-ticket",
    )
