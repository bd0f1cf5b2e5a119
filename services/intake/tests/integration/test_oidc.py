"""Sign-in with the national identity against the real OpenID provider of
`deploy/local/oidc` (oidc-provider on Node.js), intake on the real PostgreSQL, RabbitMQ
and object store: the browser goes through the provider's login and consent forms, the
code comes back to intake's callback and intake's own token opens the citizen's profile.

Refusals: the provider's `error=access_denied`, a replayed or expired state, another
browser's callback, an ID token for another attempt (nonce), and ID tokens tampered with
on their way (a proxy in front of the provider rewrites the token endpoint's answer).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intake.adapters.tables import (
    accounts,
    oidc_attempts,
    oidc_link_tickets,
    oidc_links,
    one_time_codes,
)
from services.intake.tests.conftest import StartIntake
from services.intake.tests.integration.support import (
    ID_NUMBER,
    PASSWORD,
    other_than,
    otp_sent,
    register_and_verify,
)
from shared.testing.infra import eventually, free_port
from shared.testing.oidc import (
    ProviderAccount,
    citizen_account,
    oidc_provider,
    through_provider,
)
from shared.testing.service import ServiceUnderTest

pytestmark = pytest.mark.integration

CALLBACK = "/api/v1/auth/oidc/callback"
PORTAL = "https://portal.example.vn/dang-nhap/vneid"


def new_id_number() -> str:
    return f"001{uuid.uuid4().int % 10**9:09d}"


@dataclass
class World:
    intake: ServiceUnderTest
    provider_issuer: str

    async def login(self, browser: httpx.AsyncClient, **params: str) -> httpx.Response:
        return await browser.get("/api/v1/auth/oidc/login", params=params)

    async def sign_in(
        self, browser: httpx.AsyncClient, account: ProviderAccount, **params: str
    ) -> httpx.Response:
        """The whole journey; the callback's answer."""
        back = await through_provider(browser, await self.login(browser, **params), account)
        assert back.path == CALLBACK, back
        return await browser.get(back)


StartWorld = Callable[..., Awaitable[World]]


@pytest.fixture
async def start_world(start_intake: StartIntake, tmp_path: Path) -> AsyncIterator[StartWorld]:
    """The provider with the given accounts, intake as its client. `issuer` puts a proxy
    in front: the provider names it as its address, intake and the browser reach it."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        async def start(
            accounts_: list[ProviderAccount], *, issuer: str | None = None, port: int | None = None,
            keys: Path | None = None, **settings: Any,
        ) -> World:  # fmt: skip
            intake_port = free_port()
            callback = f"http://127.0.0.1:{intake_port}{CALLBACK}"
            provider = stack.enter_context(
                oidc_provider(
                    tmp_path, redirect_uris=[callback], accounts=accounts_, issuer=issuer,
                    port=port, keys_file=keys,
                )
            )  # fmt: skip
            intake = await start_intake(
                port=intake_port, oidc_issuer=provider.issuer, oidc_client_id=provider.client_id,
                oidc_client_secret=provider.client_secret, oidc_redirect_uri=callback,
                oidc_portal_redirect_uris=[PORTAL], **settings,
            )  # fmt: skip
            return World(intake, provider.issuer)

        yield start


def problem(answer: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["type"] == f"urn:dvc:oidc-{kind}", body
    return body


async def profile(world: World, token: str) -> dict[str, Any]:
    async with world.intake.client() as client:
        me = await client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    body: dict[str, Any] = me.json()
    return body


async def attempts_left(world: World) -> int:
    async with world.intake.runtime.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(oidc_attempts)) or 0)


async def test_a_new_citizen_signs_in_with_the_national_identity(start_world: StartWorld) -> None:
    citizen = citizen_account(new_id_number(), name="Trần  Văn Định")
    world = await start_world([citizen])
    async with world.intake.client() as browser:
        start = await world.login(browser)
        assert start.status_code == 302
        sent = httpx.URL(start.headers["location"])
        assert str(sent).startswith(f"{world.provider_issuer}/auth?")
        query = dict(sent.params)
        assert query["code_challenge_method"] == "S256"
        assert {"state", "nonce", "code_challenge"} <= query.keys()
        assert query["scope"] == "openid profile phone national_id"

        back = await through_provider(browser, start, citizen)
        assert back.path == CALLBACK
        answer = await browser.get(back)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    signed_in = answer.json()
    assert signed_in["status"] == "signed_in"
    assert signed_in["token_type"] == "bearer"

    me = await profile(world, signed_in["access_token"])
    assert me | {"id": "-", "created_at": "-"} == {
        "id": "-", "id_number": citizen.login, "full_name": "Trần Văn Định",
        "date_of_birth": "1990-10-29", "phone": "0912000111", "email": None,
        "status": "active", "created_at": "-",
    }  # fmt: skip
    assert await attempts_left(world) == 0

    # The next time the same account, linked already: signed in at once.
    async with world.intake.client() as browser:
        again = await world.sign_in(browser, citizen)
    assert again.json()["status"] == "signed_in", again.text
    assert (await profile(world, again.json()["access_token"]))["id"] == me["id"]
    # A national identity account has no password until its owner sets one.
    async with world.intake.client() as client:
        guessed = await client.post(
            "/api/v1/auth/token", data={"username": citizen.login, "password": "vneid-test-2026"}
        )
    assert guessed.status_code == 401


async def test_the_portal_page_gets_the_token_and_only_listed_pages(
    start_world: StartWorld,
) -> None:
    citizen = citizen_account(new_id_number())
    world = await start_world([citizen])
    async with world.intake.client() as browser:
        for elsewhere in ("https://evil.example/steal", f"{PORTAL}/../x", f"{PORTAL}.evil.vn"):
            refused = await world.login(browser, redirect_uri=elsewhere)
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == "redirect_uri"
            assert "location" not in refused.headers
        assert await attempts_left(world) == 0

        answer = await world.sign_in(browser, citizen, redirect_uri=PORTAL)
    assert answer.status_code == 303, answer.text
    to = httpx.URL(answer.headers["location"])
    assert str(to).startswith(f"{PORTAL}#")
    fragment = {k: v[0] for k, v in parse_qs(to.fragment).items()}
    assert fragment["status"] == "signed_in"
    assert fragment["token_type"] == "bearer"
    assert (await profile(world, fragment["access_token"]))["id_number"] == citizen.login


async def test_a_refused_consent_is_a_clear_refusal(start_world: StartWorld) -> None:
    citizen = citizen_account(new_id_number())
    world = await start_world([citizen])
    async with world.intake.client() as browser:
        start = await world.login(browser)
        back = await through_provider(browser, start, citizen, consent=False)
        assert back.params["error"] == "access_denied"
        answer = await browser.get(back)
    body = problem(answer, 400, "access-denied")
    assert "không đồng ý" in body["detail"]


async def test_a_state_is_used_once_and_expires(start_world: StartWorld) -> None:
    citizen = citizen_account(new_id_number())
    world = await start_world([citizen])
    async with world.intake.client() as browser:
        back = await through_provider(browser, await world.login(browser), citizen)
        assert (await browser.get(back)).status_code == 200
        replayed = await browser.get(back)
        assert "đã được sử dụng" in problem(replayed, 400, "state")["detail"]
        made_up = await browser.get(CALLBACK, params={"code": "x", "state": "khong-co"})
        problem(made_up, 400, "state")
        problem(await browser.get(CALLBACK, params={"code": "x"}), 400, "state")

        late = await through_provider(browser, await world.login(browser), citizen)
        async with world.intake.runtime.db.transaction() as session:
            await session.execute(
                text("UPDATE oidc_attempts SET expires_at = now() - interval '1 second'")
            )
        expired = await browser.get(late)
        assert "hết hạn" in problem(expired, 400, "state-expired")["detail"]
        # Refused once, gone: not even a retry within the time would take it.
        problem(await browser.get(late), 400, "state")


async def test_a_callback_from_another_browser_is_refused(start_world: StartWorld) -> None:
    """Login CSRF: someone's own finished sign-in, handed to a victim's browser, must not
    sign the victim in as them."""
    attacker = citizen_account(new_id_number())
    world = await start_world([attacker])
    async with world.intake.client() as theirs:
        back = await through_provider(theirs, await world.login(theirs), attacker)
    async with world.intake.client() as victims:
        answer = await victims.get(back)
    problem(answer, 400, "browser")


async def test_an_id_token_of_another_attempt_is_refused_by_its_nonce(
    start_world: StartWorld,
) -> None:
    citizen = citizen_account(new_id_number())
    world = await start_world([citizen])
    async with world.intake.client() as browser:
        back = await through_provider(browser, await world.login(browser), citizen)
        async with world.intake.runtime.db.transaction() as session:
            await session.execute(oidc_attempts.update().values(nonce="nonce-of-another-attempt"))
        answer = await browser.get(back)
    assert "không thuộc lần đăng nhập này" in problem(answer, 400, "identity")["detail"]
    async with world.intake.runtime.db.transaction() as session:
        created = await session.scalar(
            select(func.count()).select_from(accounts).where(accounts.c.id_number == citizen.login)
        )
    assert created == 0


# --- ID tokens tampered with -------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    head, body, signature = token.split(".")
    decode = lambda s: json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))  # noqa: E731
    return decode(head), decode(body), signature


def _flip_signature(token: str) -> str:
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{body}.{_b64(bytes(raw))}"


def _claims_changed(token: str) -> str:
    """Another citizen's number in the claims, the provider's signature kept."""
    head, _, signature = token.split(".")
    _, claims, _ = _segments(token)
    claims["so_dinh_danh"] = "001099999999"
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"


_FOREIGN_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _signed_by_another_key(token: str, *, same_kid: bool) -> str:
    header, claims, _ = _segments(token)
    kid = header["kid"] if same_kid else "not-a-provider-key"
    return jwt.encode(claims, _FOREIGN_KEY, algorithm="RS256", headers={"kid": kid})


def _unsigned(token: str) -> str:
    header, claims, _ = _segments(token)
    head = _b64(json.dumps({"alg": "none", "kid": header["kid"]}).encode())
    return f"{head}.{_b64(json.dumps(claims).encode())}."


def _hmac_with_public_key(token: str) -> str:
    """The old confusion: HS256 keyed by something public (here the client id)."""
    header, claims, _ = _segments(token)
    return jwt.encode(
        claims, "dvc-intake-test" * 4, algorithm="HS256", headers={"kid": header["kid"]}
    )


TAMPERINGS: dict[str, Callable[[str], str]] = {
    "signature flipped": _flip_signature,
    "claims changed": _claims_changed,
    "another key, the provider's kid": lambda t: _signed_by_another_key(t, same_kid=True),
    "another key, unknown kid": lambda t: _signed_by_another_key(t, same_kid=False),
    "alg none": _unsigned,
    "HS256": _hmac_with_public_key,
}


class TamperingProxy:
    """In front of the provider: passes everything, and rewrites the ID token of the token
    endpoint's answer with `self.tamper` (as an attacker on the way would)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.tamper: Callable[[str], str] | None = None
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=["GET", "POST"])])

    async def forward(self, request: Request) -> Response:
        # The Host is kept, as a reverse proxy does: the provider names its endpoints by it.
        headers = {k: v for k, v in request.headers.items() if k != "content-length"}
        async with httpx.AsyncClient(base_url=self.upstream) as client:
            answer = await client.request(
                request.method, request.url.path, params=request.query_params,
                content=await request.body(), headers=headers,
            )  # fmt: skip
        body = answer.content
        if request.url.path == "/token" and self.tamper is not None and answer.is_success:
            tokens = answer.json()
            tokens["id_token"] = self.tamper(tokens["id_token"])
            body = json.dumps(tokens).encode()
        passed = [
            (k, v) for k, v in answer.headers.multi_items()
            if k.lower() not in {"content-length", "content-encoding", "transfer-encoding"}
        ]  # fmt: skip
        response = Response(body, status_code=answer.status_code)
        for key, value in passed:
            response.headers.append(key, value)
        return response


@pytest.fixture
async def tampering_proxy() -> AsyncIterator[tuple[str, TamperingProxy, int]]:
    provider_port, port = free_port(), free_port()
    proxy = TamperingProxy(f"http://127.0.0.1:{provider_port}")
    server = uvicorn.Server(uvicorn.Config(proxy.app, host="127.0.0.1", port=port, log_config=None))
    import asyncio

    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        return bool(server.started)

    await eventually(started, timeout=15, what="the proxy")
    try:
        yield f"http://127.0.0.1:{port}", proxy, provider_port
    finally:
        server.should_exit = True
        await task


async def test_tampered_id_tokens_are_refused(
    start_world: StartWorld, tampering_proxy: tuple[str, TamperingProxy, int]
) -> None:
    address, proxy, provider_port = tampering_proxy
    citizen = citizen_account(new_id_number())
    world = await start_world([citizen], issuer=address, port=provider_port)

    async with world.intake.client() as browser:
        # Untouched, through the proxy: the journey works, so each refusal below is the
        # tampering's alone.
        assert (await world.sign_in(browser, citizen)).status_code == 200
    for name, tamper in TAMPERINGS.items():
        proxy.tamper = tamper
        async with world.intake.client() as browser:
            answer = await world.sign_in(browser, citizen)
        assert answer.status_code == 400, f"{name}: {answer.text}"
        body = problem(answer, 400, "id-token")
        assert "chữ ký" in body["detail"], name
    async with world.intake.runtime.db.transaction() as session:
        assert await session.scalar(
            select(func.count()).select_from(accounts).where(accounts.c.id_number == "001099999999")
        ) == 0  # fmt: skip


async def key_ids(issuer: str) -> set[str]:
    async with httpx.AsyncClient() as client:
        return {k["kid"] for k in (await client.get(f"{issuer}/jwks")).json()["keys"]}


async def test_new_provider_keys_are_fetched_when_a_token_names_one(
    start_intake: StartIntake, tmp_path: Path
) -> None:
    """The provider rotates its keys (restarted with new ones at the same address):
    intake, holding the old set, fetches the keys again for the unknown key id instead of
    refusing everyone."""
    citizen = citizen_account(new_id_number())
    provider_port, intake_port = free_port(), free_port()
    callback = f"http://127.0.0.1:{intake_port}{CALLBACK}"
    kids = []
    with oidc_provider(
        tmp_path / "before", redirect_uris=[callback], accounts=[citizen], port=provider_port
    ) as provider:
        intake = await start_intake(
            port=intake_port, oidc_issuer=provider.issuer, oidc_client_id=provider.client_id,
            oidc_client_secret=provider.client_secret, oidc_redirect_uri=callback,
            oidc_jwks_refresh_seconds=0,
        )  # fmt: skip
        world = World(intake, provider.issuer)
        async with intake.client() as browser:
            assert (await world.sign_in(browser, citizen)).status_code == 200
        kids.append(await key_ids(provider.issuer))
    with oidc_provider(
        tmp_path / "after", redirect_uris=[callback], accounts=[citizen], port=provider_port
    ) as rotated:
        kids.append(await key_ids(rotated.issuer))
        async with intake.client() as browser:
            answer = await world.sign_in(browser, citizen)
        assert answer.status_code == 200, answer.text
    assert not kids[0] & kids[1]


# --- linking an existing account ---------------------------------------------------------


async def test_an_existing_account_is_linked_only_with_its_password(
    start_world: StartWorld,
) -> None:
    citizen = citizen_account(ID_NUMBER, name="Nguyễn Văn An")
    world = await start_world([citizen])
    async with world.intake.client() as client:
        account_id = await register_and_verify(world.intake, client)

    async with world.intake.client() as browser:
        answer = await world.sign_in(browser, citizen)
    assert answer.status_code == 200, answer.text
    waiting = answer.json()
    assert waiting["status"] == "link_required"
    assert "access_token" not in waiting
    assert "mật khẩu" in waiting["detail"]
    ticket = waiting["link_ticket"]

    async with world.intake.client() as client:
        wrong = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "password": "saimatkhau99"}
        )
        assert wrong.status_code == 401, wrong.text
        made_up = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": "khong-co", "password": PASSWORD}
        )
        assert made_up.status_code == 410, made_up.text
        linked = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "password": PASSWORD}
        )
        assert linked.status_code == 200, linked.text
        assert linked.json()["status"] == "signed_in"
        again = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "password": PASSWORD}
        )
        assert again.status_code == 410, again.text
    assert (await profile(world, linked.json()["access_token"]))["id"] == account_id

    # Linked now: the national identity signs the owner in at once, into the same account,
    # and the password still works.
    async with world.intake.client() as browser:
        direct = await world.sign_in(browser, citizen)
    assert direct.json()["status"] == "signed_in", direct.text
    assert (await profile(world, direct.json()["access_token"]))["id"] == account_id
    async with world.intake.runtime.db.transaction() as session:
        links = (await session.execute(select(oidc_links))).all()
        tickets = await session.scalar(select(func.count()).select_from(oidc_link_tickets))
    assert [(str(r.account_id), r.subject) for r in links] == [(account_id, citizen.sub)]
    assert tickets == 0

    # A password change ends the sessions before it; a sign-in with the national identity
    # after it opens a session of the account as it is now.
    async with world.intake.client() as client:
        changed = await client.post(
            "/api/v1/accounts/password",
            json={"current_password": PASSWORD, "new_password": "MatKhauMoi2026x"},
            headers={"Authorization": f"Bearer {direct.json()['access_token']}"},
        )
    assert changed.status_code == 200, changed.text
    async with world.intake.client() as browser:
        after = await world.sign_in(browser, citizen)
    assert after.json()["status"] == "signed_in", after.text
    assert (await profile(world, after.json()["access_token"]))["id"] == account_id


async def test_an_existing_account_is_linked_with_a_code_sent_to_its_phone(
    start_world: StartWorld,
) -> None:
    """The owner who forgot the password proves the account with a code sent to its
    verified phone instead; the code is checked like every one-time code."""
    citizen = citizen_account(ID_NUMBER, name="Nguyễn Văn An")
    world = await start_world([citizen], otp_max_attempts=3)
    async with world.intake.client() as client:
        account_id = await register_and_verify(world.intake, client)
    async with world.intake.client() as browser:
        ticket = (await world.sign_in(browser, citizen)).json()["link_ticket"]

    async with world.intake.client() as client:
        made_up = await client.post("/api/v1/auth/oidc/link/otp", json={"link_ticket": "khong-co"})
        sent = await client.post("/api/v1/auth/oidc/link/otp", json={"link_ticket": ticket})
        code = await otp_sent(world.intake, account_id)
        both = await client.post(
            "/api/v1/auth/oidc/link",
            json={"link_ticket": ticket, "password": PASSWORD, "otp": code["otp"]},
        )
        neither = await client.post("/api/v1/auth/oidc/link", json={"link_ticket": ticket})
        wrong = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "otp": other_than(code["otp"])}
        )
        linked = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "otp": code["otp"]}
        )
        again = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "otp": code["otp"]}
        )
    assert made_up.status_code == 410, made_up.text
    assert sent.status_code == 202, sent.text
    assert code["purpose"] == "link_identity"
    async with world.intake.runtime.db.transaction() as session:
        phone = await session.scalar(select(accounts.c.phone).where(accounts.c.id == account_id))
    assert code["phone"] == phone  # the account's verified phone
    assert code["otp"] not in sent.text
    for refused in (both, neither):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["remaining_attempts"] == 2
    assert linked.status_code == 200, linked.text
    assert (await profile(world, linked.json()["access_token"]))["id"] == account_id
    assert again.status_code == 410, again.text
    async with world.intake.client() as browser:
        direct = await world.sign_in(browser, citizen)
    assert direct.json()["status"] == "signed_in", direct.text


async def test_a_link_code_expires_and_runs_out_of_attempts(start_world: StartWorld) -> None:
    citizen = citizen_account(ID_NUMBER)
    world = await start_world([citizen], otp_max_attempts=2)
    async with world.intake.client() as client:
        account_id = await register_and_verify(world.intake, client)
    async with world.intake.client() as browser:
        ticket = (await world.sign_in(browser, citizen)).json()["link_ticket"]

    async def attempt(otp: str) -> httpx.Response:
        async with world.intake.client() as client:
            return await client.post(
                "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "otp": otp}
            )

    async with world.intake.client() as client:
        assert (
            await client.post("/api/v1/auth/oidc/link/otp", json={"link_ticket": ticket})
        ).status_code == 202
    otp = (await otp_sent(world.intake, account_id))["otp"]
    assert (await attempt(other_than(otp))).status_code == 422
    assert (await attempt(other_than(otp))).status_code == 422
    # Out of attempts: even the right code opens nothing; a new one must be asked for.
    spent = await attempt(otp)
    assert spent.status_code == 410, spent.text
    assert spent.json()["type"] == "urn:dvc:otp-expired"

    async with world.intake.client() as client:
        assert (
            await client.post("/api/v1/auth/oidc/link/otp", json={"link_ticket": ticket})
        ).status_code == 202
    otp = (await otp_sent(world.intake, account_id))["otp"]
    async with world.intake.runtime.db.transaction() as session:
        await session.execute(
            one_time_codes.update().values(expires_at=func.now() - text("interval '1 second'"))
        )
    late = await attempt(otp)
    assert late.status_code == 410, late.text
    assert late.json()["type"] == "urn:dvc:otp-expired"
    async with world.intake.runtime.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(oidc_links)) == 0


async def test_link_codes_are_limited_per_id_number(start_world: StartWorld) -> None:
    citizen = citizen_account(ID_NUMBER)
    world = await start_world([citizen], limit_otp_per_account_hour=3)
    async with world.intake.client() as client:
        await register_and_verify(world.intake, client)  # the first code of the hour
    async with world.intake.client() as browser:
        ticket = (await world.sign_in(browser, citizen)).json()["link_ticket"]
    async with world.intake.client() as client:
        answers = [
            (await client.post("/api/v1/auth/oidc/link/otp", json={"link_ticket": ticket}))
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert "Retry-After" in answers[-1].headers


async def test_a_link_ticket_expires(start_world: StartWorld) -> None:
    citizen = citizen_account(ID_NUMBER)
    world = await start_world([citizen])
    async with world.intake.client() as client:
        await register_and_verify(world.intake, client)
    async with world.intake.client() as browser:
        ticket = (await world.sign_in(browser, citizen)).json()["link_ticket"]
    async with world.intake.runtime.db.transaction() as session:
        await session.execute(
            oidc_link_tickets.update().values(expires_at=func.now() - text("interval '1 second'"))
        )
    async with world.intake.client() as client:
        late = await client.post(
            "/api/v1/auth/oidc/link", json={"link_ticket": ticket, "password": PASSWORD}
        )
    assert late.status_code == 410, late.text
    # The next ticket clears the expired ones: they do not pile up.
    async with world.intake.client() as browser:
        assert (await world.sign_in(browser, citizen)).json()["status"] == "link_required"
    async with world.intake.runtime.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(oidc_link_tickets)) == 1


async def test_a_registration_awaiting_its_code_is_taken_over_by_the_national_identity(
    start_world: StartWorld,
) -> None:
    """Whoever registered the number did not prove the phone; the national identity
    proves the number is this citizen's: the account becomes theirs, with the verified
    details and without the password the registration chose."""
    citizen = citizen_account(ID_NUMBER, name="Nguyễn Văn An")
    world = await start_world([citizen])
    async with world.intake.client() as client:
        registered = await client.post(
            "/api/v1/accounts",
            json={
                "id_number": ID_NUMBER, "full_name": "Kẻ Mạo Danh", "date_of_birth": "1999-05-17",
                "phone": "0987654321", "password": PASSWORD,
            },
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
    async with world.intake.client() as browser:
        answer = await world.sign_in(browser, citizen)
    assert answer.json()["status"] == "signed_in", answer.text
    me = await profile(world, answer.json()["access_token"])
    assert (me["id"], me["full_name"], me["phone"], me["status"]) == (
        registered.json()["id"], "Nguyễn Văn An", "0912000111", "active",
    )  # fmt: skip
    async with world.intake.client() as client:
        theirs = await client.post(
            "/api/v1/auth/token", data={"username": ID_NUMBER, "password": PASSWORD}
        )
    assert theirs.status_code == 401


async def test_a_provider_that_does_not_answer_is_a_503_with_retry_after(
    start_intake: StartIntake,
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    intake = await start_intake(oidc_issuer=nobody)
    async with intake.client() as browser:
        for _ in range(2):  # the second within the back-off, refused without waiting again
            answer = await browser.get("/api/v1/auth/oidc/login")
            assert answer.status_code == 503, answer.text
            assert answer.json()["type"] == "urn:dvc:oidc-provider-unavailable"
            assert answer.headers["retry-after"] == "30"


async def test_a_garbled_binding_cookie_is_replaced_not_refused(start_world: StartWorld) -> None:
    citizen = citizen_account(new_id_number())
    world = await start_world([citizen])
    async with world.intake.client(cookies={"dvc_oidc_browser": "x;" * 300}) as browser:
        start = await world.login(browser)
        assert start.status_code == 302, start.text
        assert "dvc_oidc_browser=" in start.headers["set-cookie"]
        browser.cookies.delete("dvc_oidc_browser", domain="")
        browser.cookies.extract_cookies(start)
        back = await through_provider(browser, start, citizen)
        assert (await browser.get(back)).json()["status"] == "signed_in"
