"""What a template may say and how it is rendered.

Jinja2 in a sandbox with StrictUndefined: a template names only what its event supplies
(checked when it is saved, so a typo is refused at once, not discovered when a citizen
should have been told), and cannot reach anything else.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from notify.domain.messages import FREE_TEXT, allowed_variables
from notify.domain.text import fit_sms, max_length, septets, unaccent

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def split_key(key: str) -> tuple[str, str]:
    """`dossier.received.sms` → (`dossier.received`, `sms`)."""
    event_type, _, channel = key.rpartition(".")
    return event_type, channel


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """A template's source compiled once. A version's source never changes and a new
    version has its own, so the source itself keys the cache; versions no longer in force
    fall out of it as new ones come in."""
    return ENV.from_string(source)


def render(source: str, values: dict[str, Any]) -> str:
    return _compiled(source).render(**values).strip()


def problems(key: str, subject: str | None, body: str, max_segments: int) -> list[dict[str, str]]:
    """What is wrong with a template, field by field (Vietnamese), empty when it can be saved."""
    event_type, channel = split_key(key)
    allowed = allowed_variables(event_type)
    if not allowed or channel not in ("sms", "email"):
        return [{"field": "key", "message": f"Không có sự kiện hoặc kênh gửi “{key}”."}]
    found: list[dict[str, str]] = []
    for field, source in (("subject", subject), ("body", body)):
        if source is None:
            continue
        try:
            used = meta.find_undeclared_variables(ENV.parse(source))
        except TemplateSyntaxError as exc:
            found.append({"field": field, "message": f"Mẫu sai cú pháp (dòng {exc.lineno})."})
            continue
        except RecursionError:
            # Jinja's parser descends once per nested bracket or block.
            found.append({"field": field, "message": "Mẫu lồng nhau quá nhiều tầng."})
            continue
        for name in sorted(used - allowed):
            found.append(
                {"field": field, "message": f"Sự kiện {event_type} không có trường “{name}”."}
            )
    if channel == "email" and not subject:
        found.append({"field": "subject", "message": "Thư điện tử cần có tiêu đề."})
    if channel == "sms" and not found:
        # The fixed text alone must fit; the values are shortened at send time if needed.
        literal = "".join(node.data for node in ENV.parse(body).find_all(nodes.TemplateData))
        if septets(unaccent(literal)) > max_length(max_segments):
            found.append({"field": "body", "message": "Tin nhắn quá dài so với số đoạn cho phép."})
    return found


def sms_text(source: str, values: dict[str, Any], max_segments: int) -> str:
    """The SMS, unaccented; free text shortened first so the code and dates survive."""
    values = dict(values)
    for name in FREE_TEXT:
        text = unaccent(render(source, values))
        over = septets(text) - max_length(max_segments)
        if over <= 0:
            return text
        if isinstance(values.get(name), str) and values[name]:
            keep = max(len(values[name]) - over - 3, 0)
            values[name] = values[name][:keep].rstrip() + "..."
    return fit_sms(render(source, values), max_segments)
