"""ASGI entry for servers that import an app (`uvicorn notify.main:app`): every role."""

from notify.bootstrap import build
from shared.runtime import Role, Runtime, create_app

app = create_app(Runtime(build()), {Role.API, Role.CONSUME, Role.RELAY})
