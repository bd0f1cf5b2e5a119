"""Every operation of a service's OpenAPI, each of its parameters in turn given text a
database cannot store: a NUL character, or an unpaired surrogate.

A NUL can come in the path, the query, a JSON or a form body; the answer must be 422
naming the field (`path` for the path). A surrogate can only come as a JSON escape
(`"\\ud800"`, what a browser's `JSON.stringify` sends for half an emoji); in a URL it is
bytes that are not UTF-8 (`%ED%A0%80`), which the server decodes to U+FFFD, storable
text, so there any answer but a 5xx is right."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

NUL = "a\x00b"
SURROGATE = "a\ud800b"
URL_NUL = "a%00b"
URL_SURROGATE = "a%ED%A0%80b"
# Not the service's own API: liveness, metrics, the document itself, the public keys.
SKIPPED = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/.well-known/jwks.json"})
PLAIN = {"uuid": "7b0c3a52-3c1e-4c7e-9a44-5f0f8f2a9d11", "date": "2026-01-01"}


@dataclass(frozen=True)
class Probe:
    method: str
    target: str  # path and query, percent-encoded as sent
    where: str  # path, query, json, form
    name: str
    content: bytes | None = None
    content_type: str | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.target} ({self.where} {self.name})"

    @property
    def fields(self) -> set[str]:
        """The names a 422 may give the field."""
        return {"path", self.name} if self.where == "path" else {self.name}


def _plain(schema: Mapping[str, Any]) -> str:
    """A value of the parameter's type, so only the probed parameter is wrong."""
    for kind in [schema, *schema.get("anyOf", [])]:
        if kind.get("format") in PLAIN:
            return PLAIN[kind["format"]]
        if kind.get("type") == "integer":
            return "2026"
    return "x"


def _schema(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for choice in schema.get("anyOf", []):  # `X | None`
        if "$ref" in choice or "properties" in choice:
            return _schema(spec, choice)
    return schema


def probes(spec: Mapping[str, Any], *, in_url: str, in_body: str) -> Iterator[Probe]:
    """One request per parameter of every operation, that parameter carrying the bad text
    (`in_url` percent-encoded, `in_body` as text), the others a plain value."""
    for template, operations in spec["paths"].items():
        if template in SKIPPED:
            continue
        for method, operation in operations.items():
            params = operation.get("parameters", [])
            plain = {p["name"]: _plain(p.get("schema", {})) for p in params if p["in"] == "path"}
            path = template.format(**plain)
            for p in params:
                if p["in"] == "path":
                    target = template.format(**{**plain, p["name"]: in_url})
                    yield Probe(method.upper(), target, "path", p["name"])
                elif p["in"] == "query":
                    target = f"{path}?{quote(p['name'])}={in_url}"
                    yield Probe(method.upper(), target, "query", p["name"])
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, body in content.items():
                for name in _schema(spec, body.get("schema", {})).get("properties", {}):
                    if media_type == "application/json":
                        # ASCII escapes, as browsers send them.
                        data = json.dumps({name: in_body}).encode()
                    elif media_type == "application/x-www-form-urlencoded":
                        data = f"{quote(name)}={quote(in_body, errors='surrogatepass')}".encode()
                    else:
                        continue
                    where = "json" if media_type == "application/json" else "form"
                    yield Probe(method.upper(), path, where, name, data, media_type)


async def send(client: httpx.AsyncClient, probe: Probe, auth: Mapping[str, str]) -> httpx.Response:
    # The target as written: an ordinary client would re-encode its escapes.
    url = client.base_url.copy_with(raw_path=probe.target.encode("ascii"))
    headers = dict(auth)
    if probe.content_type:
        headers["Content-Type"] = probe.content_type
    return await client.request(probe.method, url, content=probe.content, headers=headers)


def _fields(answer: httpx.Response) -> set[str]:
    try:
        return {e["field"] for e in answer.json().get("errors", [])}
    except (ValueError, AttributeError, TypeError):
        return set()


async def unrefused(
    client: httpx.AsyncClient, spec: Mapping[str, Any], auth: Mapping[str, str]
) -> tuple[int, list[str]]:
    """(probes sent, those not answered 422 naming their field): a NUL in every
    parameter, a surrogate in every body field."""
    sent, wrong = 0, []
    walks = [
        probes(spec, in_url=URL_NUL, in_body=NUL),
        (p for p in probes(spec, in_url=URL_NUL, in_body=SURROGATE) if p.where == "json"),
    ]
    for walk in walks:
        for probe in walk:
            answer = await send(client, probe, auth)
            sent += 1
            if answer.status_code != 422 or not _fields(answer) & probe.fields:
                wrong.append(f"{probe}: {answer.status_code} {answer.text[:160]}")
    return sent, wrong


async def faults(
    client: httpx.AsyncClient, spec: Mapping[str, Any], auth: Mapping[str, str]
) -> tuple[int, list[str]]:
    """(probes sent, those answered 5xx): surrogate bytes in every path and query
    parameter, and a surrogate in every form field."""
    sent, wrong = 0, []
    for probe in probes(spec, in_url=URL_SURROGATE, in_body=SURROGATE):
        if probe.where == "json":
            continue
        answer = await send(client, probe, auth)
        sent += 1
        if answer.status_code >= 500:
            wrong.append(f"{probe}: {answer.status_code} {answer.text[:160]}")
    return sent, wrong


async def assert_refused_everywhere(
    client: httpx.AsyncClient, auth: Mapping[str, str], *, sent: int, surrogates: int
) -> None:
    """The service's own OpenAPI walked both ways: at least `sent` probes of `unrefused`,
    every one refused naming its field, and at least `surrogates` of `faults`, none
    answered 5xx. The least counts say the walk reached the operations it must (a spec
    or an `auth` that hid them would pass with nothing sent)."""
    spec = (await client.get("/openapi.json")).json()
    probed, wrong = await unrefused(client, spec, auth)
    surrogated, failed = await faults(client, spec, auth)
    assert probed >= sent, probed
    assert wrong == [], wrong
    assert surrogated >= surrogates, surrogated
    assert failed == [], failed
