"""The cleaner's rules, each on real lines of the report."""
from __future__ import annotations

import pytest

from qa.ingest.clean import clean_text
from qa.ingest.structure import assign_sections


def _cleaned(report_text: str):
    return clean_text(report_text)


def test_hard_wraps_become_paragraphs(report_text: str) -> None:
    c = _cleaned(report_text)
    assert "condemning the invasion of Ukraine back in Spring 2022. This has led many analysts" in c.text
    # Real paragraph breaks survive.
    assert "in the region.\n\nMost of the five Central Asian countries" in c.text


def test_line_end_hyphens_of_compounds_are_kept(report_text: str) -> None:
    t = _cleaned(report_text).text
    for word in ("Mazar-i-Sharif", "anti-Taliban", "oil-producing", "non-governmental", "Prosecutor-General", "case-to-case"):
        assert word in t, word
    assert "Mazar-i- Sharif" not in t and "oil- producing" not in t


def test_hyphen_dropped_only_for_attested_words() -> None:
    raw = "The government said so.\n\nThe govern-\nment of the day and the anti-\nTaliban fighters met.\n"
    t = clean_text(raw).text
    assert "The government of the day" in t
    assert "anti-Taliban" in t


def test_page_furniture_is_dropped(report_text: str) -> None:
    c = _cleaned(report_text)
    assert "PEACE & SECURITY MONITOR" not in c.text
    assert "\n\n24\n\n" not in c.text
    assert c.stats["headers_removed"] >= 1 and c.stats["page_numbers_removed"] >= 1
    assert "[AM20]" not in c.text  # an editor's mark, not a footnote


def test_captions_are_blocks_of_their_own(report_text: str) -> None:
    c = _cleaned(report_text)
    captions = [c.text[s:e] for k, s, e in c.blocks if k == "caption"]
    assert any(x.startswith("Russia’ President and Tajikistan’s President Emomali Rahmon") and x.endswith("(Kremlin.ru, 2022)") for x in captions)
    assert "Protests on 1 July in Nukus, via Eurasianet" in captions
    bodies = [c.text[s:e] for k, s, e in c.blocks if k == "paragraph"]
    # The caption that sat mid-page never lands inside the sentence it interrupted.
    assert any("Uzbek security services had arrested a “21-year-old" in b for b in bodies)
    assert not any("Kremlin.ru" in b or "via Eurasianet services" in b for b in bodies)

@pytest.mark.parametrize(
    "paragraph",
    [
        # Several sentences that happen to end in a parenthesis (XQuAD, Warsaw).
        "Warsaw's first stock exchange was established in 1817 and continued trading until World War II. "
        "It was re-established in April 1991. From 1991 until 2000, the stock exchange was located in the "
        "building previously used as the headquarters of the Polish United Workers' Party (PZPR).",
        # One sentence closing on an acronym.
        "The party was known as the Polish United Workers' Party (PZPR).",
        # One sentence closing on an aside, not a credit.
        "Neither Tesla nor Edison won the prize (although Edison did receive one of 38 possible bids in 1915).",
    ],
)
def test_body_text_ending_in_a_parenthesis_is_not_a_caption(paragraph: str) -> None:
    c = clean_text(paragraph + "\n")
    assert [k for k, _, _ in c.blocks] == ["paragraph"]


def test_short_credit_lines_are_captions() -> None:
    for caption in ("A Bishkek demonstration (Ayzirek Imanaliyeva)", "CSTO troops are seen in Almaty (Reuters, January 6)",
                    "Officials meet on May 24. (Uzbek government handout via Eurasianet 25 May 2022)"):
        c = clean_text(f"Body text of the report goes here and is long enough.\n\n{caption}\n\nMore body text follows here.\n")
        assert [c.text[s:e] for k, s, e in c.blocks if k == "caption"] == [caption]



def test_headings_are_recognised(report_text: str) -> None:
    c = _cleaned(report_text)
    heads = {c.text[s:e] for k, s, e in c.blocks if k == "heading"}
    for h in ("Economic Opportunities", "Terrorism", "Key takeaways", "Domestic", "International", "Conclusion", "Recommendations"):
        assert h in heads, h
    # A line cut mid-sentence by a caption is not a heading.
    assert not any(h.startswith("On 7 January, Eurasianet reported") for h in heads)
    # A wrapped title whose last line is long is still a heading: it is in title case.
    assert "Many Kyrgyz in Russian have Two Passports: Kyrgyz and Russian" in heads


def test_wrapped_running_text_is_not_a_title() -> None:
    body = "\n".join(["The committee met again on Friday to discuss the", "border and the water sharing agreement once more"])
    c = clean_text(body + "\n\nNext paragraph ends here.\n")
    assert all(k != "heading" for k, _, _ in c.blocks)


def test_chapters_are_named_after_their_country(report_text: str) -> None:
    c = _cleaned(report_text)
    blocks, sections = assign_sections(c.text, c.blocks, c.page_starts)
    paths = {s.path for s in sections}
    assert "Kazakhstan › International › Kazakhstan’s Reactions To Russian Aggression" in paths
    chapters = {p.split(" › ")[0] for p in paths}
    assert {"Afghanistan", "Uzbekistan", "Tajikistan", "Kazakhstan", "Kyrgyzstan"} <= chapters

    def section_of(needle: str) -> str:
        i = c.text.index(needle)
        return next(b.section for b in blocks if b.start <= i < b.end)

    assert section_of("On 1 January, Kazakhstan withdrew its price cap").startswith("Kazakhstan")
    assert section_of("Chinese tech giant Huawei").startswith("Uzbekistan")
    assert section_of("Zamir Nazrishoev, was killed").startswith("Tajikistan › Domestic")


def test_footnote_markers_stay_in_the_text(report_text: str) -> None:
    t = _cleaned(report_text).text
    assert "imposing sharia law.[2] The movements capture" in t


def test_control_characters_and_ligatures() -> None:
    t = clean_text("The e\ufb03cient\u00a0state\x07 works.\n").text
    assert t == "The efficient state works."


def test_offsets_of_blocks_are_exact(report_text: str) -> None:
    c = _cleaned(report_text)
    for k, s, e in c.blocks:
        assert c.text[s:e].strip() == c.text[s:e] and c.text[s:e]


def test_dash_continuing_a_sentence_is_not_a_bullet() -> None:
    raw = (
        "Protests in Karakalpakstan by ethnic Karakalpaks were the most significant\n"
        "domestic flashpoints this year so far,\n"
        "motivated by government – later abandoned\n"
        "– plans to curtail the region’s autonomy.\n"
        "Lists still split:\n"
        "– first item\n"
        "– second item\n"
    )
    text = clean_text(raw).text
    assert "later abandoned – plans to curtail the region’s autonomy." in text
    assert "\nfirst item" in text and "\nsecond item" in text and "– first" not in text
