"""Plausible wrong solutions of the exercises, one file per mistake, named after the exercise and the mistake.

Each is what a learner might really write: it runs, and it looks right at a
glance. The tests check that the exercise's checker answers each one "not
yet", for the reason its docstring names. Read them next to ``solutions/``
to see what each mistake costs (the 500 Lines or Less habit of keeping
deliberately wrong variants in clearly named files).
"""
