"""Colour contrast of a city's colours against the site's own (WCAG 2.2 AA): checked before a
colour is saved, and shown with its ratios in the console."""
import math
import re
from dataclasses import dataclass

from app.branding import BrandingError

WHITE = "#ffffff"
INK = "#1a1a1a"  # the site's text colour (site.css --text)
TEXT_CONTRAST = 4.5  # WCAG 2.2 SC 1.4.3, normal text
NON_TEXT_CONTRAST = 3.0  # WCAG 2.2 SC 1.4.11, focus indicators and graphics

_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def normalize_color(value: str, what: str = "colour") -> str:
    """'#1B5E20', '1b5e20' or '#1b5' -> '#1b5e20'; anything else is refused."""
    match = _HEX.match((value or "").strip())
    if not match:
        raise BrandingError(f"{what} {value!r} is not a colour: give a hex colour such as "
                            "#1b5e20")
    digits = match.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return f"#{digits}"


def relative_luminance(color: str) -> float:
    """WCAG 2.2 relative luminance of an sRGB hex colour (0 black .. 1 white)."""
    color = normalize_color(color)
    channels = []
    for i in (1, 3, 5):
        c = int(color[i:i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    r, g_, b = channels
    return 0.2126 * r + 0.7152 * g_ + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), the lighter colour's luminance as L1: 1 .. 21."""
    a, b = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# The colour pairs checked, by what they are: the console names the field to change.
TEXT_ON_PRIMARY, TEXT_ON_ACCENT, ACCENT_ON_PRIMARY = (
    "text_on_primary", "text_on_accent", "accent_on_primary")


@dataclass(frozen=True)
class ContrastProblem:
    pair: str
    ratio: float
    minimum: float
    advice: str
    kind: str = ""

    @property
    def passes(self) -> bool:
        return self.ratio >= self.minimum

    @property
    def shown_ratio(self) -> float:
        return math.floor(self.ratio * 100) / 100  # never round 4.496 up to "4.5"

    def __str__(self) -> str:
        return (f"{self.pair}: contrast {self.shown_ratio:.2f}:1, WCAG 2.2 AA needs at least "
                f"{self.minimum:g}:1; {self.advice}")


def contrast_problems(primary: str, accent: str) -> list[ContrastProblem]:
    """Every colour pair the site's stylesheet uses with the city's colours, checked:

    - white text on the primary colour (header, hero, buttons, footer), which is also the
      pair of primary-coloured links and headings on the white page;
    - the site's dark text on the accent colour (announcement banner, focus highlight);
    - the accent against the primary colour (accent stripes and the focus highlight on the
      city-coloured header, hero and footer: a non-text contrast of 3:1).
    """
    return [check for check in contrast_checks(primary, accent) if not check.passes]


def contrast_checks(primary: str, accent: str) -> list[ContrastProblem]:
    """The pairs of `contrast_problems` with their ratios, whether they pass or not (the
    console shows them all)."""
    primary, accent = normalize_color(primary), normalize_color(accent)
    return [
        ContrastProblem(
            f"white text on the primary colour {primary} (and {primary} links on white)",
            contrast_ratio(WHITE, primary), TEXT_CONTRAST, "choose a darker primary colour",
            TEXT_ON_PRIMARY),
        ContrastProblem(f"dark text ({INK}) on the accent colour {accent}",
                        contrast_ratio(INK, accent), TEXT_CONTRAST,
                        "choose a lighter accent colour", TEXT_ON_ACCENT),
        ContrastProblem(f"the accent colour {accent} on the primary colour {primary}",
                        contrast_ratio(accent, primary), NON_TEXT_CONTRAST,
                        "choose a lighter accent colour or a darker primary colour",
                        ACCENT_ON_PRIMARY),
    ]


def check_contrast(primary: str, accent: str) -> None:
    problems = contrast_problems(primary, accent)
    if problems:
        raise BrandingError("colours refused, too little contrast:\n"
                            + "\n".join(f"  - {problem}" for problem in problems))
