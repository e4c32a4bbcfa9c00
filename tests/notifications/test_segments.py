"""SMS parts, counted as the network bills them."""

import pytest

from notifications.segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("é" * 160, "GSM-7", 160, 1),  # é, è, à... are in the basic set
        ("€" * 80, "GSM-7", 160, 1),  # extension characters count double
        ("€" * 81, "GSM-7", 162, 2),
        ("[]{}\\^~|" * 20, "GSM-7", 320, 3),
        ("ê" * 70, "UCS-2", 70, 1),  # ê is not GSM-7: the whole message switches
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("a" * 68 + "😀", "UCS-2", 70, 1),  # an emoji takes two UTF-16 units
        ("a" * 69 + "😀", "UCS-2", 71, 2),
        ("Tests: RDV le 27/11 à 15:30 \u2019", "UCS-2", 29, 1),  # a curly quote is enough
    ],
)
def test_it_counts_parts_exactly(text, encoding, units, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)


def test_it_never_splits_an_escaped_character_across_parts():
    # 152 + "€" does not fit in 153: the euro sign starts the second part.
    text = "a" * 152 + "€" + "a" * 152
    assert count_segments(text).units == 306
    assert count_segments(text).segments == 3


def test_it_never_splits_an_emoji_across_parts():
    text = "ê" * 66 + "😀" + "ê" * 66
    assert count_segments(text).units == 134
    assert count_segments(text).segments == 3
