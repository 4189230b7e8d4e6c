"""Places the reports are about: names, adjectives, capitals and leaders of each.

Used twice: to tell which country a chapter of a report is about (ingest/structure.py), and
to tell whether a passage is about the place a question names (answer.py: "Kazakhstan's
referendum" is not answered by a sentence on Uzbekistan's).
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

# Mentions that tell which place a chapter is about. Extend for other regions.
GAZETTEER: dict[str, tuple[str, ...]] = {
    "Afghanistan": ("Afghanistan", "Afghan", "Taliban", "Kabul"),
    "Kazakhstan": ("Kazakhstan", "Kazakh", "Kazakhstani", "Astana", "Almaty", "Tokayev", "Nazarbayev"),
    "Kyrgyzstan": ("Kyrgyzstan", "Kyrgyz", "Kyrgyzstani", "Bishkek", "Japarov"),
    "Tajikistan": ("Tajikistan", "Tajik", "Dushanbe", "Rahmon", "GBAO"),
    "Turkmenistan": ("Turkmenistan", "Turkmen", "Ashgabat", "Berdimuhamedov"),
    "Uzbekistan": ("Uzbekistan", "Uzbek", "Tashkent", "Mirziyoyev", "Karakalpakstan"),
    "Russia": ("Russia", "Russian", "Moscow", "Kremlin", "Putin"),
    "China": ("China", "Chinese", "Beijing", "Xi Jinping"),
    "Ukraine": ("Ukraine", "Ukrainian", "Kyiv", "Zelensky"),
    "Iran": ("Iran", "Iranian", "Tehran"),
    "Pakistan": ("Pakistan", "Pakistani", "Islamabad"),
    "India": ("India", "Indian", "New Delhi"),
    "Mongolia": ("Mongolia", "Mongolian", "Ulaanbaatar"),
    "Azerbaijan": ("Azerbaijan", "Azerbaijani", "Baku"),
    "Georgia": ("Georgia", "Georgian", "Tbilisi"),
    "Armenia": ("Armenia", "Armenian", "Yerevan"),
    "Turkey": ("Turkey", "Türkiye", "Turkish", "Ankara", "Erdogan"),
}


# Leaders in the gazetteer: a mention votes for their country, but the word is a person's name.
LEADER_NAMES = frozenset({"Tokayev", "Nazarbayev", "Japarov", "Rahmon", "Berdimuhamedov", "Mirziyoyev", "Putin",
                          "Xi Jinping", "Zelensky", "Erdogan"})

# One pattern for every name, so a text is scanned once, not once per place.
_NAME_TO_PLACE = {name: place for place, names in GAZETTEER.items() for name in names}
_ALL_RE = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(_NAME_TO_PLACE, key=len, reverse=True)) + r")(?:'s|’s|s)?\b",
)


def place_votes(text: str) -> Counter[str]:
    """How often each place of the gazetteer is mentioned in ``text``."""
    return Counter(_NAME_TO_PLACE[m.group(1)] for m in _ALL_RE.finditer(text))


@lru_cache(maxsize=65536)
def places_in(text: str) -> frozenset[str]:
    """The places ``text`` mentions (cached: the answer selector asks about the same sentences)."""
    return frozenset(place_votes(text))
