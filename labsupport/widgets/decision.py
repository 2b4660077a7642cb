"""Stateless, stateful or hybrid? Two checklists as data, and a helper that weighs them.

Where state lives is a trade, not a rule. One checklist holds the facts about a
workload that favour instances which keep nothing; the other holds the facts
that favour keeping state inside the instance. ``decide(workload)`` looks at
the facts you ticked and says where they point, with the reasons: no real need
for local state means stateless; a need for local state and no wish for
disposable instances means stateful; both at once means hybrid, one model per
component. Chapter 08 uses it (claim D1), with ``DecisionHelper`` as its widget.

    decide({"independent_requests", "autoscaling"})        # Verdict: stateless
    decide(WORKED_CASES["chat service"].ticked)             # Verdict: hybrid
"""

import html
from collections.abc import Mapping
from dataclasses import dataclass

import ipywidgets as widgets

from ..engine.tables import Table
from ..errors import InvalidArgumentError
from .quiz_view import close_tree, hint_html

__all__ = ["Item", "Verdict", "Case", "STATELESS_CHECKLIST", "STATEFUL_CHECKLIST", "CHECKLIST",
           "WORKED_CASES", "decide", "worked_cases", "DecisionHelper"]


@dataclass(frozen=True)
class Item:
    """One fact about a workload: its id, which way it pulls, the question, and a short label."""

    id: str
    side: str                  # "stateless" or "stateful"
    question: str
    label: str
    need: bool = True          # False: a precondition for stateful, not a reason to choose it


STATELESS_CHECKLIST = (
    Item("independent_requests", "stateless", "Can every request be served on its own, with no memory of "
         "earlier requests from the same user?", "requests stand alone"),
    Item("autoscaling", "stateless", "Is adding and removing instances with the load (autoscaling) a priority?",
         "autoscaling"),
    Item("replaceable", "stateless", "Must any instance be replaceable at any moment (elastic infrastructure)?",
         "replaceable instances"),
    Item("frequent_deploys", "stateless", "Do you deploy often and need every deploy to be invisible to users?",
         "zero-downtime deploys"),
    Item("stores_fast_enough", "stateless", "Is a round trip to a database or cache fast enough for every request?",
         "stores are fast enough"),
    Item("automatic_recovery", "stateless", "Should a crashed instance cost nothing and need nobody to fix it?",
         "automatic recovery"),
    Item("simple_operations", "stateless", "Does easy operation matter more to you than in-memory speed?",
         "simple operations"),
)

STATEFUL_CHECKLIST = (
    Item("live_sessions", "stateful", "Is an unbroken live session, or a connection to one server, part of what "
         "users get?", "live sessions"),
    Item("local_latency", "stateful", "Must reads of the state take memory time (microseconds), not network "
         "time (milliseconds)?", "memory-speed reads"),
    Item("durable_state", "stateful", "Is keeping durable, coordinated state the job itself (a database, a "
         "message broker)?", "state is the job"),
    Item("realtime", "stateful", "Is it real-time collaboration, gaming or stream processing, with live state "
         "in memory?", "real-time state"),
    Item("externalising_too_costly", "stateful", "Would moving all the state out add more latency or complexity "
         "than you can accept?", "moving state out costs too much"),
    Item("operational_maturity", "stateful", "Can your team run replication, failover and recovery?",
         "team can operate it", need=False),
)

CHECKLIST = {item.id: item for item in STATELESS_CHECKLIST + STATEFUL_CHECKLIST}

ADVICE = {
    "stateless": "Keep the instances disposable: put the state in a database, a cache or a signed token.",
    "stateful": "Keep the state next to the work, and plan how it is replicated, failed over and recovered.",
    "hybrid": "Split it: give the live state its own stateful component and keep everything around it stateless.",
}


@dataclass(frozen=True)
class Verdict:
    """What ``decide`` concluded: ``kind``, the ``reasons`` that drove it, ``advice`` and ``cautions``."""

    kind: str
    reasons: tuple
    advice: str
    cautions: tuple = ()

    def __repr__(self):
        lines = [f"Verdict: {self.kind}"] + [f"  because: {reason}" for reason in self.reasons]
        lines += [f"  advice: {self.advice}"] + [f"  caution: {caution}" for caution in self.cautions]
        return "\n".join(lines)

    def _repr_html_(self):
        colour = {"stateless": "#90EE90", "stateful": "#FFB6C1", "hybrid": "#FFE4A0"}[self.kind]
        items = "".join(f"<li>{html.escape(reason)}</li>" for reason in self.reasons)
        cautions = "".join(f"<p style='margin:4px 0'>&#9888; {html.escape(c)}</p>" for c in self.cautions)
        return (f"<div class='lab-verdict' style='border-left:6px solid {colour};padding:4px 10px'>"
                f"<div style='font-weight:600'>Verdict: {self.kind}</div><ul style='margin:4px 0'>{items}</ul>"
                f"<p style='margin:4px 0'>{html.escape(self.advice)}</p>{cautions}</div>")


def _ticked(workload):
    """The set of ticked item ids from a {id: bool} mapping or an iterable of ids."""
    if isinstance(workload, Mapping):
        for key, value in workload.items():
            if not isinstance(value, bool):
                raise InvalidArgumentError(f"answer to {key!r} must be True or False, not {value!r}")
        ids = {key for key, value in workload.items() if value}
        named = set(workload)
    elif isinstance(workload, str) or not hasattr(workload, "__iter__"):
        raise InvalidArgumentError(f"describe the workload as a dict of answers ({{'autoscaling': True}}) "
                                   f"or a set of ticked ids, not {workload!r}")
    else:
        ids = named = set(workload)
    unknown = sorted(str(key) for key in named if key not in CHECKLIST)
    if unknown:
        raise InvalidArgumentError(f"unknown checklist item(s) {', '.join(unknown)}; "
                                   f"the items are {', '.join(CHECKLIST)}")
    return ids


def decide(workload):
    """The verdict for ``workload``: a dict of answers {item id: bool}, or a set of ticked ids."""
    ticked = _ticked(workload)
    wishes = [item for item in STATELESS_CHECKLIST if item.id in ticked]
    needs = [item for item in STATEFUL_CHECKLIST if item.id in ticked and item.need]
    mature = "operational_maturity" in ticked
    if not needs:
        reasons = [f"for stateless: {item.label}" for item in wishes] or [
            "nothing here needs state inside the instance, and stateless is the easiest to run"]
        cautions = ("Being able to run stateful systems is not by itself a reason to build one.",) if mature else ()
        return Verdict("stateless", tuple(reasons), ADVICE["stateless"], cautions)
    kind = "hybrid" if wishes else "stateful"
    reasons = [f"for stateful: {item.label}" for item in needs] + [f"for stateless: {item.label}" for item in wishes]
    cautions = () if mature else (
        "Nobody ticked that the team can run replication, failover and recovery: budget for that first.",)
    return Verdict(kind, tuple(reasons), ADVICE[kind], cautions)


@dataclass(frozen=True)
class Case:
    """A worked example: a workload described in a sentence, and the facts that are true of it."""

    name: str
    description: str
    ticked: frozenset


WORKED_CASES = {case.name: case for case in (
    Case("REST API", "a JSON API behind a balancer; each call brings a signed token",
         frozenset({"independent_requests", "autoscaling", "replaceable", "frequent_deploys",
                    "stores_fast_enough", "automatic_recovery", "simple_operations"})),
    Case("chat service", "live rooms over WebSockets, with the message history kept for later",
         frozenset({"live_sessions", "realtime", "autoscaling", "stores_fast_enough", "automatic_recovery",
                    "operational_maturity"})),
    Case("shopping cart", "a few writes per visit; a cart must survive a crash and a deploy",
         frozenset({"independent_requests", "replaceable", "frequent_deploys", "stores_fast_enough",
                    "automatic_recovery", "simple_operations"})),
    Case("game lobby", "players gather in rooms and see each other join and move within milliseconds",
         frozenset({"live_sessions", "local_latency", "realtime", "externalising_too_costly",
                    "operational_maturity"})),
    Case("analytics pipeline", "windowed counts over a stream of clicks, checkpointed to survive a crash",
         frozenset({"local_latency", "durable_state", "realtime", "externalising_too_costly",
                    "operational_maturity"})),
)}


def worked_cases():
    """Every worked case with its verdict and the facts that drove it, as a ``Table``."""
    rows = []
    for case in WORKED_CASES.values():
        verdict = decide(case.ticked)
        needs = sum(1 for item in STATEFUL_CHECKLIST if item.id in case.ticked and item.need)
        wishes = sum(1 for item in STATELESS_CHECKLIST if item.id in case.ticked)
        rows.append([case.name, wishes, needs, verdict.kind])
    return Table(["workload", "facts for stateless", "needs for local state", "verdict"], rows,
                 title=f"The checklists applied to {len(rows)} workloads")


class DecisionHelper(widgets.VBox):
    """Tick what is true of your workload; the verdict below updates with every tick.

    ``boxes[item_id]`` is the checkbox of one fact, ``case_menu`` loads a
    worked case, ``verdict_view`` shows the verdict and ``result`` holds it.
    ``tick(*ids)``, ``clear()`` and ``load(case)`` do what the controls do.
    """

    BLANK = "(start blank)"

    def __init__(self, case=None):
        super().__init__()
        self.boxes = {item.id: widgets.Checkbox(value=False, description=item.question, indent=False,
                                                layout=widgets.Layout(width="100%"))
                      for item in CHECKLIST.values()}
        self.case_menu = widgets.Dropdown(options=[self.BLANK, *WORKED_CASES], value=self.BLANK,
                                          description="Worked case:")
        self.verdict_view = widgets.HTML()
        self.result = None
        self._loading = False
        columns = [widgets.VBox([widgets.HTML(f"<b>{title}</b>")] + [self.boxes[item.id] for item in items],
                                layout=widgets.Layout(width="50%", padding="0 8px"))
                   for title, items in (("Points to stateless", STATELESS_CHECKLIST),
                                        ("Points to stateful", STATEFUL_CHECKLIST))]
        for box in self.boxes.values():
            box.observe(self._changed, names="value")
        self.case_menu.observe(self._case_chosen, names="value")
        self.children = [widgets.HTML(hint_html("Tick every statement that is true of your workload.")),
                         self.case_menu, widgets.HBox(columns), self.verdict_view]
        self.add_class("lab-decision")
        if case is not None:
            self.load(case)
        self._update()

    def workload(self):
        """The current answers, as {item id: True/False}."""
        return {item_id: box.value for item_id, box in self.boxes.items()}

    def tick(self, *item_ids):
        """Tick the named facts (the others keep their state); returns the verdict."""
        _ticked(set(item_ids))
        for item_id in item_ids:
            self.boxes[item_id].value = True
        return self.result

    def clear(self):
        for box in self.boxes.values():
            box.value = False
        return self.result

    def load(self, case):
        """Tick exactly the facts of a worked case (a name from ``WORKED_CASES``); returns the verdict."""
        if case not in WORKED_CASES:
            raise InvalidArgumentError(f"no worked case {case!r}; choose one of {', '.join(WORKED_CASES)}")
        self._loading = True
        try:
            for item_id, box in self.boxes.items():
                box.value = item_id in WORKED_CASES[case].ticked
            self.case_menu.value = case
        finally:
            self._loading = False
        self._update()
        return self.result

    def close(self):
        close_tree(self)
        super().close()

    def __repr__(self):
        ticked = sum(self.workload().values())
        return f"DecisionHelper({ticked} of {len(self.boxes)} ticked; verdict: {self.result.kind})"

    # -- reacting to the controls ---------------------------------------------------
    def _changed(self, _change):
        if not self._loading:
            self._update()

    def _case_chosen(self, change):
        if self._loading:
            return
        if change["new"] == self.BLANK:
            self.clear()
        else:
            self.load(change["new"])

    def _update(self):
        self.result = decide(self.workload())
        self.verdict_view.value = self.result._repr_html_()
