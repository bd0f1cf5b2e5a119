from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from shared.config import BaseServiceSettings


class WorkflowSettings(BaseServiceSettings):
    service_name: ClassVar[str] = "workflow"
    model_config = SettingsConfigDict(env_prefix="WORKFLOW_")

    port: int = 8002
    metrics_port: int = 9102
