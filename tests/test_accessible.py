"""accessible.py, theme.py and figure.py: what a screen reader and a dark theme need, checked without a browser.

The radio group must share one name and keep ``index`` in step; the live
region must carry its role; every button fill must reach 4.5:1 with its white
text and every tile fill 4.5:1 with its black text (computed here with the
WCAG formula, so a paler colour fails this test); a Mermaid style must set the
text colour with the fill; a figure must carry its alt text and close itself.
The browser tests (tests/browser/) check the same things in the rendered page.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import traitlets  # noqa: E402

from labsupport import InvalidArgumentError  # noqa: E402
from labsupport.widgets import ChoiceGroup, DescribedFigure, LiveHTML, dashboard_view, show_figure, theme  # noqa: E402


def contrast(a, b):
    """WCAG 2 contrast ratio of two #RRGGBB colours."""
    def luminance(colour):
        channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_contrast_formula_matches_known_pairs():
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("tone", sorted(theme.BUTTON_FILLS))
def test_every_button_fill_reads_with_white_text(tone):
    assert contrast(theme.BUTTON_FILLS[tone], "#FFFFFF") >= 4.5
    made = theme.button("Kill shop-1", "lab-kill", tone)
    assert made.style.button_color == theme.BUTTON_FILLS[tone] and made.style.text_color == "#FFFFFF"
    assert made.button_style == ""                    # not ipywidgets' own colours (they fail with white text)


@pytest.mark.parametrize("status", ["up", "draining", "unhealthy", "stopped", "dead"])
@pytest.mark.parametrize("role", ["disposable", "holds_state"])
def test_every_tile_fill_reads_with_black_text(role, status):
    assert contrast(dashboard_view.tile_colour(role, status), theme.ON_FILL) >= 4.5


def test_a_mermaid_style_sets_the_text_colour_with_the_fill():
    line = theme.mermaid_style("shop_1", dashboard_view.DISPOSABLE)
    assert line == f"style shop_1 fill:{dashboard_view.DISPOSABLE},color:#000000,stroke:#333333"


def test_a_choice_group_keeps_its_index_and_refuses_one_out_of_range():
    group = ChoiceGroup(["A. yes", "B. no"], label="Will it survive?")
    try:
        assert group.index is None and group.options == ["A. yes", "B. no"]
        group.index = 1
        assert group.index == 1
        with pytest.raises(traitlets.TraitError, match="index must be None or 0 to 1"):
            group.index = 2
        assert repr(group) == "ChoiceGroup('Will it survive?': 2 options)"
    finally:
        group.close()


def test_the_front_end_code_makes_one_named_group_and_a_live_region():
    choice_js, live_js = ChoiceGroup._esm, LiveHTML._esm
    assert 'setAttribute("role", "radiogroup")' in choice_js and "input.name = name" in choice_js
    assert 'setAttribute("aria-live", "polite")' in live_js and 'setAttribute("role", "status")' in live_js
    assert "var(--jp-content-font-color1)" in ChoiceGroup._css


def test_a_figure_carries_its_alt_text_and_is_closed():
    figure, axes = plt.subplots(figsize=(2, 1))
    axes.plot([0, 1], [1, 0])
    shown = show_figure(figure, "the line falls from 1 to 0")
    assert isinstance(shown, DescribedFigure) and not plt.fignum_exists(figure.number)
    assert shown.png.startswith(b"\x89PNG")
    assert "alt='the line falls from 1 to 0'" in shown._repr_html_()
    assert repr(shown) == "Figure: the line falls from 1 to 0"


def test_a_figure_without_a_real_description_is_refused():
    figure, _ = plt.subplots(figsize=(2, 1))
    with pytest.raises(InvalidArgumentError, match="alt must say"):
        show_figure(figure, "plot")
    plt.close(figure)


def mermaid_blocks():
    """Every Mermaid block in the chapters' Markdown: (notebook, block text)."""
    import json
    import pathlib
    import re
    for path in sorted(pathlib.Path(__file__).resolve().parents[1].glob("notebooks/*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                for block in re.findall(r"```mermaid\n(.*?)```", "".join(cell["source"]), re.S):
                    yield path.name, block


def test_every_mermaid_diagram_in_the_chapters_reads_in_both_themes_and_has_a_title():
    blocks = list(mermaid_blocks())
    assert len(blocks) >= 10
    for name, block in blocks:
        assert "accTitle: " in block and "accDescr: " in block, name
        for line in block.splitlines():
            if "fill:" in line:
                assert "color:#000000" in line, (name, line)


def test_a_live_diagram_reads_in_both_themes_and_has_a_title():
    from labsupport.shop import Cluster
    from labsupport.widgets import architecture_diagram
    with Cluster.stateless(instances=2) as shop:
        shop.kill("shop-2")
        text = architecture_diagram(shop)
    assert "accTitle: The running stateless cluster" in text and "shop-2 (dead)" in text
    assert all("color:#000000" in line for line in text.splitlines() if "fill:" in line)
