"""The public list of results waiting to be collected: applicants' names masked unless
the service is set to show them, read a page at a time."""

from __future__ import annotations


def mask_name(name: str) -> str:
    """ "Nguyễn Thị Bích" → "Nguyễn T*** B***": the family name, initials of the rest."""
    words = name.split()
    if len(words) <= 1:
        return (name[:1] + "***") if name else ""
    return " ".join([words[0], *(w[:1] + "***" for w in words[1:])])


def shown_name(name: str | None, *, full: bool) -> str | None:
    return name if full else mask_name(name or "")
