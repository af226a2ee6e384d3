"""The colours axe-core cannot judge (borders, large text): WCAG contrast of the stylesheet's own tokens."""

import re
from pathlib import Path

import pytest
from django.conf import settings

CSS = (Path(settings.BASE_DIR) / "static" / "css" / "portal.css").read_text()
TOKENS = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6});", CSS))


def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize(("foreground", "background", "needed"), [
    ("ok", "ok-soft", 4.5),            # green status pills: text
    ("bad", "bad-soft", 4.5),          # red status pills: text
    ("muted", "surface", 4.5),
    ("input-border", "surface", 3),    # a field's edge is a component's boundary
    ("error-code", "surface", 3),      # the large 403/404 numbers
])
def test_colour_pairs_meet_wcag_contrast(foreground, background, needed):
    assert contrast(TOKENS[foreground], TOKENS[background]) >= needed


def test_inputs_and_the_error_numbers_use_those_tokens():
    assert "border: 1px solid var(--input-border)" in CSS
    assert re.search(r"\.error-code \{[^}]*color: var\(--error-code\)", CSS)
