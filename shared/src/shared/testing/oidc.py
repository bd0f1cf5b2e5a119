"""The stand-in for the national identity (VNeID) in tests: the real `oidc-provider` of
`deploy/local/oidc` (the script `make up` runs) in a Node.js process on a free port, with
the test's own accounts, and a browser that goes through its login and consent forms."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.testing.infra import free_port, server_process

PROVIDER_DIR = Path(
    os.environ.get(
        "DVC_OIDC_PROVIDER_DIR", Path(__file__).resolve().parents[4] / "deploy/local/oidc"
    )
)
CLIENT_ID = "dvc-intake-test"
CLIENT_SECRET = "dvc-test-oidc-client-secret"  # noqa: S105 (the test provider's own)
ID_NUMBER_CLAIM = "so_dinh_danh"


@dataclass(frozen=True)
class ProviderAccount:
    """An account of the provider's user store: the citizen as VNeID knows them."""

    login: str
    password: str
    sub: str
    claims: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"login": self.login, "password": self.password, "sub": self.sub,
                "claims": self.claims}  # fmt: skip


def citizen_account(
    id_number: str, *, name: str = "Trần Văn Định", **claims: Any
) -> ProviderAccount:
    return ProviderAccount(
        login=id_number,
        password="vneid-test-2026",  # noqa: S106 (the test provider's user store)
        sub=f"vneid-{id_number}",
        claims={
            ID_NUMBER_CLAIM: id_number, "name": name, "birthdate": "1990-10-29",
            "phone_number": "+84912000111", "phone_number_verified": True, **claims,
        },
    )  # fmt: skip


@dataclass(frozen=True)
class OidcProviderServer:
    issuer: str
    port: int
    client_id: str
    client_secret: str
    keys_file: Path


def node_binary() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node not found: the identity provider needs Node.js 20 or later")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"oidc-provider is not installed: npm ci --prefix {PROVIDER_DIR}")
    return found


@contextmanager
def oidc_provider(
    data_dir: Path,
    *,
    redirect_uris: list[str],
    accounts: list[ProviderAccount],
    port: int | None = None,
    issuer: str | None = None,
    keys_file: Path | None = None,
) -> Iterator[OidcProviderServer]:
    """The provider on `port` (a free one by default) until the block ends. `issuer` is
    where clients reach it (a proxy in front, say); `keys_file` is made on first start and
    reused, so a restart with another file is a key rotation."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    server = OidcProviderServer(
        issuer=issuer or f"http://127.0.0.1:{port}", port=port, client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET, keys_file=keys_file or data_dir / "keys.json",
    )  # fmt: skip
    users = data_dir / f"users-{port}.json"
    users.write_text(json.dumps([a.as_json() for a in accounts], ensure_ascii=False))
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_ISSUER": server.issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "OIDC_USERS_FILE": str(users),
        "OIDC_KEYS_FILE": str(server.keys_file),
        "OIDC_ID_NUMBER_CLAIM": ID_NUMBER_CLAIM,
    }
    with server_process(
        [node_binary(), "server.js"], data_dir / f"oidc-{port}.log",
        f"http://127.0.0.1:{port}/.well-known/openid-configuration", "the identity provider",
        cwd=PROVIDER_DIR, env=env,
    ):  # fmt: skip
        yield server


_FORM_ACTION = re.compile(r'<form method="post" action="([^"]+/(?:login|confirm|abort))"')


def _action(page: httpx.Response, kind: str) -> str:
    for action in _FORM_ACTION.findall(page.text):
        if action.endswith(f"/{kind}"):
            return str(action)
    raise AssertionError(f"no {kind} form on the provider's page: {page.text[:500]}")


async def through_provider(
    browser: httpx.AsyncClient,
    start: httpx.Response,
    account: ProviderAccount,
    *,
    password: str | None = None,
    consent: bool = True,
    max_steps: int = 12,
) -> httpx.URL:
    """Follow a sign-in as a browser would from intake's 302 to the provider: the login
    form, the consent form (accepted or refused), until the provider sends the browser
    back to the relying party; that URL, not followed."""
    assert start.status_code == 302, start.text
    url = httpx.URL(start.headers["location"])
    provider = url.copy_with(path="/", query=None)
    for _ in range(max_steps):
        if url.host != provider.host or url.port != provider.port:
            return url
        page = await browser.get(url)
        if page.is_redirect:
            url = url.join(page.headers["location"])
            continue
        assert page.status_code == 200, page.text
        if 'action="' in page.text and "/login" in page.text and 'name="login"' in page.text:
            answer = await browser.post(
                url.join(_action(page, "login")),
                data={"login": account.login, "password": password or account.password},
            )
        else:
            answer = await browser.post(url.join(_action(page, "confirm" if consent else "abort")))
        if not answer.is_redirect:
            raise AssertionError(f"the provider answered {answer.status_code}: {answer.text[:300]}")
        url = url.join(answer.headers["location"])
    raise AssertionError("the provider never sent the browser back")


def relying_party_env(provider: OidcProviderServer, intake_url: str) -> dict[str, str]:
    """intake's settings (for `service_env`) as the client of `provider`, its callback at
    `intake_url`."""
    return {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": provider.client_id,
        "oidc_client_secret": provider.client_secret,
        "oidc_redirect_uri": f"{intake_url}/api/v1/auth/oidc/callback",
    }
