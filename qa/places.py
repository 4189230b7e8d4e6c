"""Places the reports are about: names, adjectives, capitals and leaders of each.

Used twice: to tell which country a chapter of a report is about (ingest/structure.py), and
to tell whether a passage is about the place a question names (answer.py: "Kazakhstan's
referendum" is not answered by a sentence on Uzbekistan's).
"""
from __future__ import annotations

import re
from collections import Counter

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
_GAZ_RE = {
    place: re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")(?:'s|’s|s)?\b")
    for place, names in GAZETTEER.items()
}


def place_votes(text: str) -> Counter[str]:
    """How often each place of the gazetteer is mentioned in ``text``."""
    return Counter({p: n for p, rx in _GAZ_RE.items() if (n := len(rx.findall(text)))})
