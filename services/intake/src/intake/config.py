from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import TrackingLinkSettings


class IntakeSettings(TrackingLinkSettings):
    service_name: ClassVar[str] = "intake"
    model_config = SettingsConfigDict(env_prefix="INTAKE_")

    port: int = 8001
    metrics_port: int = 9101

    token_ttl_seconds: int = 3600
    # Procedures and agencies are kept in memory; a catalogue published by another process
    # (a replica, the next version) is seen by this one within this many seconds.
    catalogue_cache_seconds: float = 10.0
    # One-time codes sent by SMS (phone verification, unlocking).
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    # A registration not verified within this time may be replaced by a new one for its
    # ID number; until then no other phone or password can take it over.
    pending_registration_seconds: int = 24 * 3600
    # This many wrong passwords in a row from one address lock that address out of the
    # account, for `lockout_seconds` doubling each time: an attacker locks only themselves.
    login_max_failures: int = 5
    # This many from all addresses together (a distributed attack) lock the account
    # everywhere, doubling as well; the owner lifts it with a code sent to the phone.
    login_max_failures_all_addresses: int = 100
    lockout_seconds: int = 300

    # Attachments: per file, per dossier (answered with 413 before reading the body).
    max_file_bytes: int = 10 * 1024 * 1024
    max_dossier_bytes: int = 50 * 1024 * 1024

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
