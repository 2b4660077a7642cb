"""decision.py: the two checklists decide stateless, stateful or hybrid, and say why.

Pins the decision rule (no need for local state -> stateless; needs and no
stateless wishes -> stateful; both -> hybrid), that every verdict names the
facts that drove it, the verdicts of the worked cases chapter 08 shows, and
that the widget's checkboxes drive the same function a cell would call.
"""

import pytest

from labsupport import InvalidArgumentError
from labsupport.widgets import (
    CHECKLIST,
    STATEFUL_CHECKLIST,
    STATELESS_CHECKLIST,
    WORKED_CASES,
    DecisionHelper,
    decide,
    worked_cases,
)


def test_the_checklists_hold_the_articles_seven_and_six_facts_with_unique_ids():
    assert len(STATELESS_CHECKLIST) == 7 and len(STATEFUL_CHECKLIST) == 6
    assert {item.side for item in STATELESS_CHECKLIST} == {"stateless"}
    assert {item.side for item in STATEFUL_CHECKLIST} == {"stateful"}
    assert len(CHECKLIST) == 13
    assert all(item.question.endswith("?") and item.label for item in CHECKLIST.values())


def test_without_a_need_for_local_state_the_verdict_is_stateless_for_the_ticked_reasons():
    verdict = decide({"autoscaling", "frequent_deploys"})
    assert verdict.kind == "stateless"
    assert verdict.reasons == ("for stateless: autoscaling", "for stateless: zero-downtime deploys")


def test_an_empty_checklist_defaults_to_stateless_and_says_why():
    verdict = decide({})
    assert verdict.kind == "stateless" and "nothing here needs state" in verdict.reasons[0]


def test_needs_without_stateless_wishes_give_stateful_with_a_caution_unless_the_team_can_run_it():
    verdict = decide({"realtime", "local_latency"})
    assert verdict.kind == "stateful"
    assert "for stateful: real-time state" in verdict.reasons
    assert verdict.cautions and "replication, failover and recovery" in verdict.cautions[0]
    assert decide({"realtime", "operational_maturity"}).cautions == ()


def test_needs_and_wishes_together_give_hybrid_with_reasons_from_both_sides():
    verdict = decide({"live_sessions", "autoscaling"})
    assert verdict.kind == "hybrid"
    assert verdict.reasons == ("for stateful: live sessions", "for stateless: autoscaling")
    assert "Split it" in verdict.advice


def test_being_able_to_operate_state_is_not_a_reason_to_choose_it():
    verdict = decide({"operational_maturity"})
    assert verdict.kind == "stateless"
    assert "not by itself a reason" in verdict.cautions[0]


def test_a_dict_of_answers_counts_only_the_true_ones():
    assert decide({"live_sessions": False, "autoscaling": True}).kind == "stateless"
    assert decide({"live_sessions": True, "autoscaling": False}).kind == "stateful"


@pytest.mark.parametrize("bad, words", [({"autoscale"}, "autoscale"), ({"autoscaling": "yes"}, "True or False"),
                                        ("autoscaling", "dict of answers"), (3, "dict of answers")])
def test_a_bad_workload_gets_an_error_that_names_the_problem(bad, words):
    with pytest.raises(InvalidArgumentError, match=words):
        decide(bad)


def test_the_worked_cases_get_the_verdicts_chapter_08_shows():
    verdicts = {name: decide(case.ticked).kind for name, case in WORKED_CASES.items()}
    assert verdicts == {"REST API": "stateless", "chat service": "hybrid", "shopping cart": "stateless",
                        "game lobby": "stateful", "analytics pipeline": "stateful"}
    table = repr(worked_cases())
    assert table == repr(worked_cases())
    assert "game lobby                            0                      4  stateful" in table


def test_the_verdict_shows_as_text_and_html():
    verdict = decide({"live_sessions"})
    assert repr(verdict).splitlines()[0] == "Verdict: stateful"
    assert "Verdict: stateful" in verdict._repr_html_() and "#FFB6C1" in verdict._repr_html_()


def test_ticking_boxes_in_the_helper_updates_the_verdict():
    helper = DecisionHelper()
    assert repr(helper) == "DecisionHelper(0 of 13 ticked; verdict: stateless)"
    helper.boxes["realtime"].value = True
    assert helper.result.kind == "stateful" and "Verdict: stateful" in helper.verdict_view.value
    helper.tick("autoscaling")
    assert repr(helper) == "DecisionHelper(2 of 13 ticked; verdict: hybrid)"
    helper.clear()
    assert helper.result.kind == "stateless"
    helper.close()


def test_the_case_menu_loads_a_worked_case_and_blank_clears_it():
    helper = DecisionHelper(case="game lobby")
    assert helper.result == decide(WORKED_CASES["game lobby"].ticked)
    assert {k for k, v in helper.workload().items() if v} == WORKED_CASES["game lobby"].ticked
    helper.case_menu.value = "REST API"
    assert helper.result.kind == "stateless"
    helper.case_menu.value = helper.BLANK
    assert not any(helper.workload().values())
    helper.close()


def test_the_helper_refuses_unknown_names():
    helper = DecisionHelper()
    with pytest.raises(InvalidArgumentError, match="shopping cart"):
        helper.load("shop")
    with pytest.raises(InvalidArgumentError, match="unknown checklist item"):
        helper.tick("fast")
    helper.close()
