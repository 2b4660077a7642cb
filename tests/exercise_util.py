"""What the exercise tests share: the committed notebook's scaffold, and a reference solution from solutions/.

The scaffold is read from the chapter's notebook (the code cell tagged
``scaffold``), so the tests check the very class a learner starts from. The
reference solutions are loaded from their files by path: ``solutions/`` is not
a package, and nothing in the course imports it.
"""

import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def scaffold_source(chapter):
    """The source of the one code cell tagged ``scaffold`` in ``chapter``'s notebook."""
    notebook = json.loads((ROOT / "notebooks" / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    cells = [c for c in notebook["cells"] if "scaffold" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"{chapter} should have exactly one cell tagged 'scaffold', not {len(cells)}"
    return "".join(cells[0]["source"])


def scaffold(exercise):
    """The class the learner starts from, as the chapter's scaffold cell defines it."""
    namespace = {"__name__": f"scaffold_{exercise.number}"}
    exec(compile(scaffold_source(exercise.chapter), f"<scaffold of exercise {exercise.number}>", "exec"), namespace)
    return namespace[exercise.writes]


def solution(exercise):
    """The class of ``solutions/xNN_<name>.py``."""
    path = ROOT / exercise.solution
    spec = importlib.util.spec_from_file_location(f"solution_{exercise.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, exercise.writes)
