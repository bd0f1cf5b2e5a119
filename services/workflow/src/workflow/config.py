from typing import ClassVar

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings, is_local


class WorkflowSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "workflow"
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_")

    port: int = 8002
    metrics_port: int = 9102
    # The public tracking page of a dossier, printed as a QR code on every form.
    public_tracking_url: str = "https://dichvucong.bocongan.gov.vn/tra-cuu/{code}"

    # An officer's token lasts a working shift.
    token_ttl_seconds: int = 8 * 3600
    # Wrong passwords in a row, per officer and client address, lock sign-in from that
    # address for a while, twice as long each time (to a day); this many from all
    # addresses together lock the officer everywhere, until an admin resets the password.
    login_max_failures: int = 5
    login_max_failures_all_addresses: int = 100
    lockout_seconds: int = 300
    # Sign-in attempts per window, from one address and for one username: a whole office
    # behind one address signs in at the start of a shift.
    limit_login_per_ip_minute: int = 30
    limit_login_per_username_15min: int = 10
    # Demo officers (officers.json) with this password; only ever in development (production
    # refuses to start with it, since the password is published).
    seed_demo_officers: bool = True
    demo_password: str = "demo-officer-2026"  # noqa: S105

    # Links to the citizen's files and the e-result stay valid this long.
    download_link_seconds: int = 900
    max_result_bytes: int = 20 * 1024 * 1024

    # How often the timers look for due-soon and overdue dossiers, and how many per pass.
    timer_poll_seconds: float = 30.0
    timer_batch: int = 200

    @field_validator("public_tracking_url")
    @classmethod
    def _names_the_dossier(cls, value: str) -> str:
        # Formatted with the dossier's code only: without it every QR code shows the same
        # page, and with another field no form could be made at all.
        try:
            named = "\0" in value.format(code="\0")
        except (KeyError, IndexError, AttributeError, ValueError):
            named = False
        if not named:
            prefix = cls.model_config.get("env_prefix", "")
            raise ValueError(
                f"{prefix}PUBLIC_TRACKING_URL must contain {{code}} and no other field"
            )
        return value

    def production_problems(self) -> list[str]:
        """Beyond the common checks: no demo officers, a tracking page the public can reach."""
        problems = super().production_problems()
        if self.seed_demo_officers:
            problems.append(
                f"{self.env_name('seed_demo_officers')} must be false: the demo officers'"
                " password is published"
            )
        if is_local(self.public_tracking_url):
            problems.append(
                f"{self.env_name('public_tracking_url')} must be the portal's public address,"
                " not this machine"
            )
        return problems
