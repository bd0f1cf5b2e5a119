from typing import ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings, SignInSettings, TrackingLinkSettings, is_local


class WorkflowSettings(TrackingLinkSettings, SignInSettings):
    service_name: ClassVar[str] = "workflow"
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_")
    _SECRETS: ClassVar[tuple[str, ...]] = (
        *BaseServiceSettings._SECRETS,
        "national_client_secret",
    )

    port: int = 8002
    metrics_port: int = 9102

    # An officer's token lasts a working shift.
    token_ttl_seconds: int = 8 * 3600
    # Sign-in (SignInSettings): an officer locked from all addresses together stays locked
    # until an admin resets the password.
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
    # The scans of a paper dossier registered at the desk: each file, and all together
    # (intake's limits for online attachments).
    max_desk_file_bytes: int = 10 * 1024 * 1024
    max_desk_dossier_bytes: int = 50 * 1024 * 1024

    # How often the timers look for due-soon and overdue dossiers, and how many per pass.
    timer_poll_seconds: float = 30.0
    timer_batch: int = 200

    # The National Public Service Portal's synchronisation endpoint (OAuth2 client
    # credentials at `<url>/oauth/token`, records to `<url>/hoso`); by default the local
    # stand-in that `make up` starts; empty: records are kept and not sent (refused in
    # production).
    national_url: str = "http://127.0.0.1:8095"
    national_client_id: str = "dvc-bca"
    national_client_secret: SecretStr | None = None
    # One attempt's limit; a record whose answer does not come in time is sent again
    # (the portal knows it by its MaBanGhi).
    national_timeout_seconds: float = 10.0
    # After a failed attempt the dossier's next record waits base, 2·base, 4·base … cap.
    national_retry_base_seconds: float = 2.0
    national_retry_max_seconds: float = 600.0
    national_poll_seconds: float = 1.0
    national_batch: int = 50
    # How often the backlog and sync-rate gauges are counted (a scan of the sync table).
    national_measure_seconds: float = 30.0

    def production_problems(self) -> list[str]:
        """Beyond the common checks: no demo officers, the real national portal."""
        problems = super().production_problems()
        if not self.national_url or is_local(self.national_url):
            problems.append(
                f"{self.env_name('national_url')} must be the national portal's address,"
                " not this machine"
            )
        if self.seed_demo_officers:
            problems.append(
                f"{self.env_name('seed_demo_officers')} must be false: the demo officers'"
                " password is published"
            )
        return problems
