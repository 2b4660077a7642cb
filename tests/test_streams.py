"""A stream processor's windows live in memory: killing it makes the windows wrong, and restoring a
checkpoint (window state plus input position, saved together) makes them right again, for tumbling,
sliding and session windows alike."""

import threading

import pytest

from labsupport import ClusterClosedError, InvalidArgumentError
from labsupport.engine import lab_folder, running
from labsupport.services import (
    CheckpointStore,
    Event,
    SessionWindows,
    SlidingWindows,
    StreamProcessor,
    TumblingWindows,
    generate_events,
    make_windows,
    window_experiment,
)

KINDS = ["tumbling", "sliding", "session"]


def test_tumbling_windows_put_each_event_in_one_window():
    assert TumblingWindows(size=10).assign(0) == [(0, 10)]
    assert TumblingWindows(size=10).assign(19) == [(10, 20)]


def test_sliding_windows_put_each_event_in_size_over_slide_windows():
    spans = SlidingWindows(size=20, slide=5).assign(37)
    assert spans == [(20, 40), (25, 45), (30, 50), (35, 55)]
    assert all(start <= 37 < end for start, end in spans)


def test_session_windows_merge_events_closer_than_the_gap():
    processor = StreamProcessor(SessionWindows(gap=5), allowed_lateness=0)
    for timestamp in (0, 3, 6, 20):
        processor.process(Event("k", 1, timestamp))
    processor.finish()
    assert processor.sink == {("k", 0, 11): (3, 3), ("k", 20, 25): (1, 1)}


def test_a_window_is_emitted_once_the_watermark_passes_its_end():
    processor = StreamProcessor(TumblingWindows(size=10), allowed_lateness=2)
    assert processor.process(Event("k", 4, 1)) == []
    assert processor.process(Event("k", 5, 11)) == []          # watermark 9: [0, 10) still open
    emitted = processor.process(Event("k", 6, 12))              # watermark 10: closes [0, 10)
    assert [(w.start, w.end, w.count, w.total) for w in emitted] == [(0, 10, 1, 4)]
    assert processor.open_windows == 1


def test_an_event_behind_the_watermark_is_counted_as_late():
    processor = StreamProcessor(TumblingWindows(size=10), allowed_lateness=0)
    processor.process(Event("k", 1, 25))
    processor.process(Event("k", 1, 3))
    assert processor.late == 1


@pytest.mark.parametrize("kind", KINDS)
def test_without_a_crash_every_window_is_right(kind):
    result = window_experiment(kind, kill_at=None)
    assert result.correct == result.windows > 0
    assert (result.wrong, result.spurious) == (0, 0)
    assert result.counted == result.expected


@pytest.mark.parametrize("kind", KINDS)
def test_a_kill_without_checkpoints_makes_windows_wrong_and_counts_too_low(kind):
    result = window_experiment(kind, kill_at=650, checkpoint_every=None)
    assert result.wrong > 0
    assert result.counted < result.expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("kill_at", [1, 99, 100, 650, 999])
def test_restoring_a_checkpoint_makes_every_window_right(kind, kill_at):
    result = window_experiment(kind, kill_at=kill_at, checkpoint_every=100)
    assert result.correct == result.windows
    assert (result.wrong, result.spurious) == (0, 0)
    assert result.counted == result.expected
    assert result.replayed == kill_at % 100


def test_tumbling_windows_count_every_event_once():
    result = window_experiment("tumbling", events=500, kill_at=None)
    assert result.counted == 500


def test_a_killed_processor_forgets_its_windows_and_refuses_events():
    processor = StreamProcessor(TumblingWindows())
    for event in generate_events(50):
        processor.process(event)
    assert processor.open_windows > 0
    processor.kill()
    assert processor.open_windows == 0
    with pytest.raises(ClusterClosedError):
        processor.process(Event("k", 1, 1))


def test_a_checkpoint_restores_windows_and_position(tmp_path):
    store = CheckpointStore(tmp_path / "cp.json")
    events = generate_events(120)
    first = StreamProcessor(SlidingWindows(), checkpoints=store, checkpoint_every=50)
    for event in events[:120]:
        first.process(event)
    second = StreamProcessor(SlidingWindows(), checkpoints=store)
    assert second.restore() == 100
    replay = StreamProcessor(SlidingWindows())
    for event in events[:100]:
        replay.process(event)
    assert second.open_windows == replay.open_windows
    assert second.watermark == replay.watermark
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]   # no temporary file left
    assert store.saves == 2


def test_restore_without_a_checkpoint_starts_from_the_beginning(tmp_path):
    processor = StreamProcessor(TumblingWindows(), checkpoints=CheckpointStore(tmp_path / "none.json"))
    assert processor.restore() == 0


def test_the_experiment_and_the_events_are_deterministic():
    assert generate_events(200, seed=3) == generate_events(200, seed=3) != generate_events(200, seed=4)
    runs = [repr(window_experiment("session", checkpoint_every=c)) for c in (None, 100)]
    assert runs == [repr(window_experiment("session", checkpoint_every=c)) for c in (None, 100)]
    assert "session windows, killed after 650 events" in runs[0]


def test_misuse_gets_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="kind must be one of"):
        make_windows("hopping")
    with pytest.raises(InvalidArgumentError, match="slide"):
        SlidingWindows(size=5, slide=10)
    with pytest.raises(InvalidArgumentError, match="CheckpointStore"):
        StreamProcessor(TumblingWindows(), checkpoint_every=10)
    with pytest.raises(InvalidArgumentError, match="CheckpointStore"):
        StreamProcessor(TumblingWindows()).restore()
    with pytest.raises(InvalidArgumentError, match="kill_at"):
        window_experiment(kill_at=5000)


def test_nothing_is_left_behind(tmp_path):
    lab_files = set(lab_folder().iterdir())       # the experiment's own folder goes in the lab's folder
    threads = threading.active_count()
    window_experiment("tumbling", checkpoint_every=100)
    kept = tmp_path / "kept"
    kept.mkdir()
    window_experiment("session", checkpoint_every=100, directory=kept)
    assert running() == []
    assert threading.active_count() == threads
    assert set(lab_folder().iterdir()) == lab_files
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert [p.name for p in kept.iterdir()] == ["session-checkpoint.json"]
