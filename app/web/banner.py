"""A notice on top of every page of a city's site (maintenance, a pinned announcement)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class SiteBanner:
    text: str
    link: str | None = None
    link_text: str | None = None
