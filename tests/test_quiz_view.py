"""How questions read: numbers, lettered options and escaped text.

Pins the small helpers behind every quiz screen: numbers are parsed the way a
learner types them and printed without noise, and question text can never
inject HTML into the notebook.
"""

import pytest

from labsupport.widgets import Option, Question, quiz_view


@pytest.mark.parametrize("typed, number", [("3", 3.0), (" 2.5 ms", 2.5), ("1,000", 1000.0), ("-4", -4.0),
                                           ("", None), ("three", None), ("nan", None), ("inf", None)])
def test_parse_number_reads_what_a_learner_types(typed, number):
    assert quiz_view.parse_number(typed) == number


@pytest.mark.parametrize("value, unit, text", [(12, "ms", "12 ms"), (2.0, "", "2"), (2.5, "users", "2.5 users"),
                                               (0.125, "s", "0.125 s")])
def test_format_number_prints_no_noise(value, unit, text):
    assert quiz_view.format_number(value, unit) == text


def test_options_are_lettered_and_text_is_escaped():
    question = Question("01_stateless", "q", "single", "Is <b> safe?",
                        options=(Option("a < b", "why a", True), Option("b & c", "why b")))
    html = quiz_view.prompt_html(question)
    assert "Is &lt;b&gt; safe?" in html and "<b>A.</b> a &lt; b" in html and "<b>B.</b> b &amp; c" in html
    explained = quiz_view.explained_options_html(question.options, chosen={1})
    assert "(right answer)" in explained and "(wrong, your choice)" in explained


def test_paragraphs_and_dash_lists_become_html():
    html = quiz_view.paragraphs_html("First line\ncontinues.\n\n- one\n- two")
    assert html == "<p style='margin:4px 0'>First line continues.</p><ul style='margin:4px 0'><li>one</li><li>two</li></ul>"
