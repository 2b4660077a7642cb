"""How a question looks: the HTML and small helpers shared by ``Quiz`` and ``Predict``.

Widgets only hold state and react to buttons; everything a learner reads
(the prompt, a verdict, the explanation of every option) is built here as
plain HTML strings, so it is easy to read and to test without a browser.
Options are lettered "A. ...", "B. ..."; a single-choice question lists them
as a real radio group (``accessible.ChoiceGroup``), the other kinds in the
prompt. Text takes the theme's colours (light or dark); a verdict is told by
a tick or cross and words, with a coloured bar beside it (see theme.py).
Used by the "Check your understanding" section of every chapter.
"""

import html
import math

from .theme import BAD, GOOD, MUTED, TEXT

__all__ = ["GREEN", "RED", "GREY", "LETTERS", "prompt_html", "option_labels", "verdict_html", "hint_html",
           "explained_options_html", "paragraphs_html", "mark", "format_number", "parse_number",
           "close_tree"]

GREEN, RED, GREY = GOOD, BAD, MUTED          # right (bars only), wrong (bars only), hints (text)
LETTERS = "ABCDEFGH"
_BOX = "border-left:4px solid {colour};padding:2px 10px;margin:6px 0;color:" + TEXT


def prompt_html(question, list_options=True):
    """The question, then its options as a lettered list (if it has options and ``list_options``)."""
    parts = [f"<div style='font-weight:600;margin:6px 0;color:{TEXT}'>{html.escape(question.prompt)}</div>"]
    if question.options and list_options:
        items = "".join(f"<div style='margin:2px 0 2px 12px;color:{TEXT}'><b>{LETTERS[i]}.</b> "
                        f"{html.escape(option.text)}</div>"
                        for i, option in enumerate(question.options))
        parts.append(items)
    return "".join(parts)


def option_labels(question):
    """Each option as one radio label: "A. the option's text"."""
    return [f"{LETTERS[i]}. {option.text}" for i, option in enumerate(question.options)]


def verdict_html(correct, text):
    """A tick or a cross and a short sentence, with a green or vermillion bar (the sign says it too)."""
    colour, sign = (GREEN, "\u2714") if correct else (RED, "\u2718")
    return (f"<div class='lab-verdict' style='{_BOX.format(colour=colour)};font-weight:600'>"
            f"{sign} {html.escape(text)}</div>")


def hint_html(text):
    """A neutral grey note (nothing to grade yet)."""
    return f"<div style='color:{MUTED};margin:6px 0'>{html.escape(text)}</div>"


def explained_options_html(options, chosen):
    """Every option with its letter, whether it is right, whether you chose it, and why."""
    rows = []
    for index, option in enumerate(options):
        colour = GREEN if option.correct else RED
        tags = ["right answer" if option.correct else "wrong"] + (["your choice"] if index in chosen else [])
        rows.append(f"<div class='lab-quiz-explanation' style='{_BOX.format(colour=colour)}'>"
                    f"<b>{LETTERS[index]}. {html.escape(option.text)}</b> "
                    f"<span>({', '.join(tags)})</span><br>"
                    f"{html.escape(option.explanation)}</div>")
    return "".join(rows)


def paragraphs_html(text):
    """Plain text to HTML: blank lines separate paragraphs, lines starting "- " become a list."""
    blocks = []
    for block in text.split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if lines and all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{html.escape(line[2:])}</li>" for line in lines)
            blocks.append(f"<ul style='margin:4px 0'>{items}</ul>")
        elif lines:
            blocks.append(f"<p style='margin:4px 0'>{html.escape(' '.join(lines))}</p>")
    return "".join(blocks)


def mark(widget, correct):
    """Give ``widget`` the CSS class lab-quiz-correct or lab-quiz-wrong (or neither, for None)."""
    widget.remove_class("lab-quiz-correct")
    widget.remove_class("lab-quiz-wrong")
    if correct is not None:
        widget.add_class("lab-quiz-correct" if correct else "lab-quiz-wrong")


def format_number(value, unit=""):
    """12 -> "12", 2.50 -> "2.5", with the unit after it when there is one."""
    number = f"{value:g}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"
    return f"{number} {unit}".strip()


def parse_number(text):
    """The number at the start of ``text`` ("12", "2.5 ms", "1,000"), or None if there is none."""
    words = text.strip().split()
    if not words:
        return None
    try:
        value = float(words[0].replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def close_tree(widget):
    """Close ``widget``'s descendants (and their layouts), so nothing stays registered."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
        child.close()
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if part is not None:
            part.close()
