"""ASGI entry for servers that import an app (`uvicorn stats.main:app`): every role."""

from shared.runtime import Role, Runtime, create_app
from stats.bootstrap import build

app = create_app(Runtime(build()), {Role.API, Role.CONSUME, Role.RELAY})
