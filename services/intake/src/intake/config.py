from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import SignInSettings, TrackingLinkSettings, is_local


class IntakeSettings(TrackingLinkSettings, SignInSettings):
    service_name: ClassVar[str] = "intake"
    model_config = SettingsConfigDict(env_prefix="INTAKE_")
    _SECRETS: ClassVar[tuple[str, ...]] = (
        *TrackingLinkSettings._SECRETS,
        "oidc_client_secret",
        "gateway_hash_secret",
    )

    port: int = 8001
    metrics_port: int = 9101

    # Procedures and agencies are kept in memory; a catalogue published by another process
    # (a replica, the next version) is seen by this one within this many seconds.
    catalogue_cache_seconds: float = 10.0
    # One-time codes sent by SMS (phone verification, unlocking).
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    # A registration not verified within this time may be replaced by a new one for its
    # ID number; until then no other phone or password can take it over.
    pending_registration_seconds: int = 24 * 3600
    # Sign-in (SignInSettings): an account locked from all addresses together is lifted
    # by its owner with a code sent to the phone.

    # Attachments: per file, per dossier (answered with 413 before reading the body).
    max_file_bytes: int = 10 * 1024 * 1024
    max_dossier_bytes: int = 50 * 1024 * 1024
    # An object of the attachments bucket without a row (its upload cut between the store
    # and the database) is removed once older than this, checked every `orphan_sweep_seconds`.
    orphan_objects_after_hours: float = Field(default=6.0, gt=0)
    orphan_sweep_seconds: float = Field(default=3600.0, gt=0)

    # Abuse limits where the real portal shows a captcha: hits per window.
    limit_register_per_ip_hour: int = 20
    limit_login_per_ip_minute: int = 30
    limit_otp_per_account_hour: int = 5
    # Guesses of one-time codes (verification, unlocking), per ID number and per address.
    limit_otp_guesses_per_id_hour: int = 10
    limit_otp_guesses_per_ip_hour: int = 30
    # Guesses of update codes (`X-Update-Code`), per dossier code, address and account.
    limit_update_code_per_dossier_hour: int = 10
    limit_update_code_per_ip_hour: int = 30
    limit_update_code_per_account_hour: int = 30
    limit_submit_per_account_hour: int = 30
    limit_submit_per_ip_hour: int = 120

    # Sign-in with the national identity (VNeID) as an OpenID Connect relying party
    # (services/oidc.py). The issuer's discovery document names every other endpoint;
    # the default is the local stand-in that `make up` runs (deploy/local/oidc).
    oidc_issuer: str = "http://127.0.0.1:9400"
    oidc_client_id: str = "dvc-intake"
    oidc_client_secret: SecretStr | None = None
    # intake's own callback, as registered with the provider.
    oidc_redirect_uri: str = "http://127.0.0.1:8001/api/v1/auth/oidc/callback"
    # Where the callback may send the browser back with the token: exact URLs only, so
    # that nobody can have a token delivered to a page of their own (open redirect).
    oidc_portal_redirect_uris: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:3000/dang-nhap/vneid"]
    )
    oidc_scopes: str = "openid profile phone national_id"
    # The claim of the ID token that carries the 12-digit personal ID number.
    oidc_id_number_claim: str = "so_dinh_danh"
    # A sign-in attempt (state, nonce, PKCE verifier) must come back within this time;
    # a link ticket (an existing account awaiting its password) lives this long.
    oidc_attempt_seconds: int = 600
    oidc_link_ticket_seconds: int = 300
    # Discovery document and keys are kept this long; an unknown key id fetches the keys
    # again at most once per `oidc_jwks_refresh_seconds`.
    oidc_metadata_seconds: int = 3600
    oidc_jwks_refresh_seconds: int = 30
    oidc_http_timeout_seconds: float = 5.0
    # Clock skew tolerated on the ID token's `exp` and `iat`.
    oidc_leeway_seconds: int = 60
    limit_oidc_login_per_ip_minute: int = 30

    # Fees paid online (services/payments.py, docs/PAYMENTS.md): the payment gateway's
    # signed-redirect protocol. The default is the sandbox that `make up` runs.
    gateway_url: str = "http://127.0.0.1:8096"
    # The merchant's terminal code and hash secret, as the gateway issued them.
    gateway_tmn_code: str = "DVCBCA01"
    gateway_hash_secret: SecretStr | None = None
    # The portal's page where the gateway sends the citizen's browser back.
    gateway_return_url: str = "http://127.0.0.1:3000/thanh-toan/ket-qua"
    # A payment link not used within this time is refused by the gateway (vnp_ExpireDate).
    gateway_payment_minutes: int = 15
    gateway_http_timeout_seconds: float = 10.0
    # Payment attempts a citizen may start per hour (each is a row and a gateway order).
    limit_payment_per_account_hour: int = 30

    def production_problems(self) -> list[str]:
        """Beyond the common checks: the national identity's and the gateway's addresses."""
        problems = super().production_problems()
        # The national identity, the payment gateway, intake's callback and the portal's
        # pages: a token, a code or a payment sent over http or to this machine would be
        # readable or lost.
        for name in (
            "oidc_issuer",
            "oidc_redirect_uri",
            "oidc_portal_redirect_uris",
            "gateway_url",
            "gateway_return_url",
        ):
            values = getattr(self, name)
            for value in values if isinstance(values, list) else [values]:
                if urlsplit(value).scheme != "https" or is_local(value):
                    problems.append(
                        f"{self.env_name(name)} must be https on a public host, not {value!r}"
                    )
        if not self.oidc_portal_redirect_uris:
            problems.append(f"{self.env_name('oidc_portal_redirect_uris')} must list the portal")
        return problems
