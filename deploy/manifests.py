"""What the Kubernetes manifests of `deploy/k8s/` and the compose file start each process
with, read as the cluster (or compose) would, so that tests hold these files and the
settings' checks together.

`environments(service)` gives, per workload (a Deployment's or Job's container), the
environment variables its process sees: the ConfigMaps it takes with `envFrom`, then its own
`env`, each value from a Secret replaced by a placeholder of the right shape (the real ones
live in the vault); `settings_with` loads such an environment into a settings class.
`problems(service, settings_class)` lists what is not production-shaped in the manifests
themselves: a credential written in a ConfigMap or a container's env, a value Kubernetes
would refuse (not a string), a probe on the wrong path or port, a container without
resource requests and limits, an API behind the ingress without its trusted proxies.
`compose_problems` says where a container of the compose stack would look for another
service on itself instead of by its service name.
"""

from __future__ import annotations

import ipaddress
import json
import os
import typing
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock
from urllib.parse import urlsplit

import yaml
from pydantic import SecretStr
from pydantic_settings import BaseSettings

K8S = Path(__file__).parent / "k8s"
COMPOSE = Path(__file__).parent.parent / "docker-compose.yml"

# Settings that carry a password though their type is a plain string.
CREDENTIALS = ("database_url", "amqp_url", "s3_access_key")

Settings = TypeVar("Settings", bound=BaseSettings)


def placeholder(service: str, key: str) -> str:
    """A stand-in for the Secret's value `key`, shaped like the real one: the production
    checks look into URLs (their host, their credentials), so a URL gets a URL."""
    if key.endswith("database-url"):
        return (
            f"postgresql+asyncpg://{service}:placeholder@db.placeholder.invalid:5432/dvc_{service}"
        )
    if key.endswith("amqp-url"):
        return f"amqp://{service}:placeholder@mq.placeholder.invalid:5672/"
    return f"placeholder-{key}"


@cache
def _documents() -> tuple[dict[str, Any], ...]:
    found: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        found.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return tuple(found)


def _config_maps() -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc.get("data") or {}
        for doc in _documents()
        if doc["kind"] == "ConfigMap"
    }


def workloads(service: str) -> dict[str, dict[str, Any]]:
    """The service's containers by workload (`intake-api`, `intake-migrate`, ...), each with
    the kind and the pod's annotations of its workload."""
    found = {}
    for doc in _documents():
        if doc["kind"] not in ("Deployment", "Job"):
            continue
        name = doc["metadata"]["name"]
        if not name.startswith(f"{service}-"):
            continue
        pod = doc["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        annotations = pod.get("metadata", {}).get("annotations", {})
        found[name] = {"kind": doc["kind"], "annotations": annotations, **container}
    return found


def _environment(service: str, container: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Each variable's value and where it comes from: `literal`, `configmap` or `secret`.
    Values are as written: Kubernetes takes only strings, `problems` says where one is not."""
    maps = _config_maps()
    env: dict[str, tuple[Any, str]] = {}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        env.update({name: (value, "configmap") for name, value in maps[ref].items()})
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = (variable["value"], "literal")
        else:
            key = variable["valueFrom"]["secretKeyRef"]["key"]
            env[variable["name"]] = (placeholder(service, key), "secret")
    return env


def environments(service: str) -> dict[str, dict[str, str]]:
    """Per workload, the environment its process starts with (Secrets as placeholders)."""
    return {
        name: {k: str(value) for k, (value, _) in _environment(service, container).items()}
        for name, container in workloads(service).items()
    }


def settings_with(settings_class: type[Settings], env: dict[str, str]) -> Settings:
    """The settings of a process whose variables of this class's prefix are exactly `env`
    (whatever the calling shell has set is left out, and put back after)."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    others = {k: v for k, v in os.environ.items() if not k.upper().startswith(prefix)}
    with mock.patch.dict(os.environ, {**others, **env}, clear=True):
        return settings_class()


def _is_secret(settings_class: type[BaseSettings], field: str) -> bool:
    annotation = settings_class.model_fields[field].annotation
    return field in CREDENTIALS or SecretStr in (annotation, *typing.get_args(annotation))


def _http_get(probe: dict[str, Any] | None) -> tuple[str, int] | None:
    if not probe or "httpGet" not in probe:
        return None
    return probe["httpGet"]["path"], int(probe["httpGet"]["port"])


def problems(service: str, settings_class: type[BaseSettings]) -> list[str]:
    """What is not production-shaped in the service's ConfigMap entries and workloads, each
    naming where it is."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    fields = settings_class.model_fields
    secrets = {f"{prefix}{f.upper()}" for f in fields if _is_secret(settings_class, f)}
    found = []
    for map_name, data in _config_maps().items():
        for variable, value in sorted(data.items()):
            if not variable.startswith(prefix):
                continue
            if variable in secrets:
                found.append(f"ConfigMap {map_name}: {variable} belongs in a Secret")
            if not isinstance(value, str):
                found.append(f"ConfigMap {map_name}: {variable} is {value!r}, not a string")
    chosen = workloads(service)
    if not chosen:
        found.append(f"no workload of {service} in {K8S}")
    for name, container in chosen.items():
        problems_here = _workload_problems(service, container, prefix, secrets)
        found.extend(f"{name}: {p}" for p in problems_here)
    return found


def _workload_problems(
    service: str, container: dict[str, Any], prefix: str, secrets: set[str]
) -> list[str]:
    env = _environment(service, container)
    found = []
    for variable in sorted(env):
        value, source = env[variable]
        if source == "literal" and not isinstance(value, str):
            found.append(f"{variable} is {value!r}, not a string")
        if variable in secrets and source != "secret":
            found.append(f"{variable} is written in a manifest, not taken from a Secret")
    resources = container.get("resources", {})
    for resource in ("cpu", "memory"):
        if not all(resource in resources.get(kind, {}) for kind in ("requests", "limits")):
            found.append(f"no {resource} request and limit")
    if container["kind"] != "Deployment":
        return found
    # The process listens on its port if it serves the API, else on its metrics port.
    process = container["args"][-1]
    variable = f"{prefix}PORT" if process == "api" else f"{prefix}METRICS_PORT"
    port = int(env[variable][0]) if variable in env else None
    if _http_get(container.get("readinessProbe")) != ("/readyz", port):
        found.append(f"readiness must be GET /readyz on {variable} ({port})")
    if _http_get(container.get("livenessProbe")) != ("/healthz", port):
        found.append(f"liveness must be GET /healthz on {variable} ({port})")
    annotations = container.get("annotations", {})
    if annotations.get("prometheus.io/port") != str(port):
        found.append(f"prometheus.io/port must be {variable} ({port})")
    if process == "api":
        found.extend(_proxy_problems(env, f"{prefix}TRUSTED_PROXIES"))
    return found


def _proxy_problems(env: dict[str, tuple[Any, str]], variable: str) -> list[str]:
    """The ingress's addresses, as networks uvicorn understands; never everyone."""
    if variable not in env:
        return [f"{variable} must name the ingress's network"]
    try:
        networks = [ipaddress.ip_network(n) for n in json.loads(env[variable][0])]
    except (TypeError, ValueError):
        return [f"{variable} must be a JSON list of IP networks"]
    if not networks or any(n.prefixlen == 0 for n in networks):
        return [f"{variable} must name the ingress's network, not every address"]
    return []


def compose_environments(service: str) -> dict[str, dict[str, str]]:
    """Per container of the compose stack running `service`, its environment."""
    stack = yaml.safe_load(COMPOSE.read_text())["services"]
    return {
        name: {k: str(v) for k, v in (spec.get("environment") or {}).items()}
        for name, spec in stack.items()
        if (spec.get("command") or [None])[0] == service
    }


def compose_problems(
    service: str, settings_class: type[BaseSettings], addresses: tuple[str, ...]
) -> list[str]:
    """Where a container of `service` in the compose stack would reach another service by
    anything but its compose service name (in a container, 127.0.0.1 is the container)."""
    names = set(yaml.safe_load(COMPOSE.read_text())["services"])
    containers = compose_environments(service)
    found = [] if containers else [f"no container of {service} in {COMPOSE.name}"]
    for name, env in containers.items():
        settings = settings_with(settings_class, env)
        for field in addresses:
            value = str(getattr(settings, field) or "")
            parsed = urlsplit(value if "//" in value else f"//{value}")
            if parsed.hostname not in names:
                found.append(f"{name}: {field} is {value!r}, not a service of the stack")
    return found
