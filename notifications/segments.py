"""SMS segment counting, exactly as the network will bill it.

GSM-7 (GSM 03.38 basic set): 160 characters in a single message, 153 per part once it is split
(the rest of each part carries the concatenation header). The extension characters
``€ [ ] { } \\ ^ ~ |`` (and form feed) are sent as an escape plus a character, so they count
double, and a part never ends between the two. Any character outside GSM-7 (an emoji, a curly
quote, "ç" in lower case is fine but "ê" is not...) switches the whole message to UCS-2: 70 UTF-16
code units in one message, 67 per part, an emoji taking two units that are never split.
"""

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("€[]{}\\^~|\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    per_segment: int  # the capacity of one part in this message's encoding


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _pack(widths: list[int], single: int, part: int) -> int:
    """Parts needed for characters of the given widths, never splitting one character."""
    total = sum(widths)
    if total == 0:
        return 0
    if total <= single:
        return 1
    parts, used = 1, 0
    for width in widths:
        if used + width > part:
            parts += 1
            used = 0
        used += width
    return parts


def count_segments(text: str) -> SegmentCount:
    if is_gsm7(text):
        widths = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SegmentCount("GSM-7", sum(widths), _pack(widths, GSM7_SINGLE, GSM7_PART), GSM7_PART)
    widths = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SegmentCount("UCS-2", sum(widths), _pack(widths, UCS2_SINGLE, UCS2_PART), UCS2_PART)
