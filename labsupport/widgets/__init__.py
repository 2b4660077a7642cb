"""What the learner sees and presses: the dashboard, diagrams, questions and saved answers.

* ``dashboard.py``: the live cluster dashboard with its buttons; ``dashboard_view.py``: how it looks.
* ``diagram.py`` and ``game_diagram.py``: Mermaid diagrams drawn from a running cluster.
* ``quiz.py`` (the questions that end a chapter), ``predict.py`` (predict, then run),
  ``quiz_view.py`` (how a question looks), ``question_bank.py`` (the questions, as data in
  ``questions/``), ``answers.py`` (your saved answers and ``progress()``).
* ``decision.py``: the article's two checklists as an interactive helper (chapter 08).
* ``hints.py``: an exercise's hints, unfolding one at a time (chapters 01 to 08).
* ``theme.py`` (colours that read in light and dark themes, for everyone), ``accessible.py``
  (a real radio group and an announced status line), ``figure.py`` (a plot with a text alternative).
"""

from .accessible import ChoiceGroup, LiveHTML
from .answers import EXERCISE_CHAPTERS, AnswerStore, ChapterProgress, Progress, exercise_key, progress, progress_path
from .dashboard import ClusterDashboard, next_version, same_cluster_again
from .decision import (
                       CHECKLIST,
                       STATEFUL_CHECKLIST,
                       STATELESS_CHECKLIST,
                       WORKED_CASES,
                       Case,
                       DecisionHelper,
                       Item,
                       Verdict,
                       decide,
                       worked_cases,
)
from .diagram import architecture_diagram, mermaid_markdown, show_mermaid, store_calls
from .figure import DescribedFigure, show_figure
from .game_diagram import game_cluster_diagram
from .hints import Hints
from .predict import Predict
from .question_bank import (
                       CHAPTERS,
                       QUESTIONS_DIR,
                       Option,
                       Question,
                       QuizFileError,
                       load_chapter,
                       load_questions,
)
from .quiz import Quiz

__all__ = [
    "ClusterDashboard", "next_version", "same_cluster_again", "ChoiceGroup", "LiveHTML",
    "architecture_diagram", "store_calls", "mermaid_markdown", "show_mermaid", "DescribedFigure", "show_figure",
    "game_cluster_diagram", "Quiz", "Predict", "CHAPTERS", "QUESTIONS_DIR", "Option", "Question", "QuizFileError",
    "load_questions", "load_chapter", "AnswerStore", "ChapterProgress", "Progress", "progress", "progress_path",
    "DecisionHelper", "decide", "worked_cases", "WORKED_CASES", "CHECKLIST", "STATELESS_CHECKLIST",
    "STATEFUL_CHECKLIST", "Item", "Verdict", "Case", "Hints", "EXERCISE_CHAPTERS", "exercise_key",
]
