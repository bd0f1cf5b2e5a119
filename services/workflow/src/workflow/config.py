from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import TrackingLinkSettings


class WorkflowSettings(TrackingLinkSettings):
    service_name: ClassVar[str] = "workflow"
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_")

    port: int = 8002
    metrics_port: int = 9102

    # An officer's token lasts a working shift.
    token_ttl_seconds: int = 8 * 3600
    # Wrong passwords in a row, per officer and client address, lock sign-in from that
    # address for a while, twice as long each time (to a day).
    login_max_failures: int = 5
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

    def production_problems(self) -> list[str]:
        """Beyond the common checks: no demo officers."""
        problems = super().production_problems()
        if self.seed_demo_officers:
            problems.append(
                f"{self.env_name('seed_demo_officers')} must be false: the demo officers'"
                " password is published"
            )
        return problems
