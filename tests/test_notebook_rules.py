"""The course's own rules for notebooks: every claim has checked evidence, every chapter ends well.

COURSE_MAP's claim IDs each need a code cell tagged ``claim-<ID>`` in their
chapter, whose output nbval compares (so not ``nbval-ignore-output``); each
chapter ends with questions and leaves its servers running for the learner; committed notebooks are
executed in order, with no errors, no stderr, no skipped cells and no widget
state.
"""

import json
import pathlib

import pytest

NOTEBOOKS = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
CLAIMS = {
    "00_the_thirty_second_deploy": "I1 I2 I3",
    "01_stateless": "S1 S2 S3 S4 S5 S6 S7",
    "02_stateful": "F1 F2 F3 F4 F5 F6 F7",
    "03_side_by_side": "T1",
    "04_state_exists_somewhere": "E1 E2 E3 E4 E5 E6",
    "05_real_world_architectures": "R1 R2 R3 R4",
    "06_why_stateless_won": "W1 W2 W3 W4 W5 W6 W7 W8 W9 W12",
    "07_why_stateful_still_matters": "M1 M2 M3 M4 M5 M6 M7 M8 M9",
    "08_decision_framework": "D1 D2 D3",
    "09_questions_and_conclusion": "Q1 Q2 Q3 C1",
    "10_take_it_to_real_infrastructure": "G1 G2 G3 G4",
}


def load(chapter):
    return json.loads((NOTEBOOKS / f"{chapter}.ipynb").read_text())


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def test_there_is_one_notebook_per_chapter():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(CLAIMS)


@pytest.mark.parametrize("chapter", sorted(CLAIMS))
def test_every_claim_has_a_checked_cell_with_output(chapter):
    cells = load(chapter)["cells"]
    for claim in CLAIMS[chapter].split():
        evidence = [c for c in cells if f"claim-{claim}" in tags(c)]
        assert evidence, f"{chapter}: no cell tagged claim-{claim}"
        for cell in evidence:
            assert cell["cell_type"] == "code" and cell["outputs"], f"{chapter}: claim-{claim} cell shows nothing"
            assert "nbval-ignore-output" not in tags(cell), f"{chapter}: claim-{claim} output is not checked"


@pytest.mark.parametrize("chapter", sorted(CLAIMS))
def test_the_chapter_ends_with_questions_and_leaves_its_servers_running(chapter):
    """After Run All the dashboards must still work: no chapter ends by stopping them (the kernel's exit does)."""
    cells = load(chapter)["cells"]
    text = "\n".join("".join(c["source"]) for c in cells)
    assert "Check your understanding" in text and "Quiz(" in text and "Predict(" in text
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "shutdown_all()" not in "".join(code[-1]["source"])
    assert "shutdown_all()" in "".join(code[0]["source"])       # a re-run starts from a clean lab
    assert "Run All Cells" in text                              # what to do after Binder restarted the kernel


@pytest.mark.parametrize("chapter", sorted(CLAIMS))
def test_the_committed_notebook_is_clean(chapter):
    notebook = load(chapter)
    counts = [c["execution_count"] for c in notebook["cells"] if c["cell_type"] == "code"]
    assert None not in counts and counts == sorted(counts), "execute it top to bottom (scripts/refresh_notebooks.py)"
    assert "widgets" not in notebook["metadata"]
    for cell in notebook["cells"]:
        assert "nbval-skip" not in tags(cell) and "NBVAL_SKIP" not in "".join(cell["source"])
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error" and output.get("name") != "stderr"
    raw = (NOTEBOOKS / f"{chapter}.ipynb").read_text()
    for machine_path in ("/root/", "/tmp/", "/work/", "/home/"):
        assert machine_path not in raw, f"{chapter} contains the machine path {machine_path}"
