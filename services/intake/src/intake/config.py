from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class IntakeSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "intake"
    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    port: int = 8001
    metrics_port: int = 9101
    # Where the portal shows a dossier's public tracking page; put in QR codes and messages.
    public_tracking_url: str = "https://dichvucong.bocongan.gov.vn/tra-cuu/{code}"

    token_ttl_seconds: int = 3600
    # Phone verification codes.
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    # Repeated wrong passwords lock the account for a while (doubling each time).
    login_max_failures: int = 5
    lockout_seconds: int = 300

    # Attachments: per file, per dossier (answered with 413 before reading the body).
    max_file_bytes: int = 10 * 1024 * 1024
    max_dossier_bytes: int = 50 * 1024 * 1024

    # Abuse limits where the real portal shows a captcha: hits per window.
    limit_register_per_ip_hour: int = 20
    limit_login_per_ip_minute: int = 30
    limit_login_per_account_15min: int = 10
    limit_otp_per_account_hour: int = 5
    limit_submit_per_account_hour: int = 30
    limit_submit_per_ip_hour: int = 120
