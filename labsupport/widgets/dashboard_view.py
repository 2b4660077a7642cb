"""How the cluster dashboard looks: colours, instance tiles, counters and the little chart.

The colours carry the lesson and follow the article's diagrams, in the
colour-blind-safe Okabe-Ito palette (see theme.py): green for an instance
that keeps nothing (disposable: kill it and nobody notices), pink for
anything that holds state (a stateful instance, the database, the cache),
vermillion for a dead instance, grey for one that is stopped. Colour is never
the only signal: every tile says UP, DEAD, DRAINING or STOPPED in words.
Which colour a running instance gets is its shop class's ``colour_role``;
the number on its tile is *measured*: the entries the walk of its memory
found (``instance.held_state()``). A fault short of a crash
(``engine/faults.py``) shows as a badge in words and in its own colour:
PAUSED, SLOW +200 ms, PARTITIONED. Text outside the coloured boxes takes
JupyterLab's theme colours, so the dashboard reads in light and dark themes.
Almost everything here is a plain function from numbers to HTML, so it can
be read and tested without a browser; the widget in dashboard.py decides
*when* to redraw and what buttons do. Used by chapters 00-06 and 08.
"""

import bisect
import collections
import html

import ipywidgets as widgets

from ..engine.faults import Partitioned, Paused, Slowed
from ..shop.deploys import DeployReport
from ..shop.ledger import LABELS
from ..shop.rebalance import RebalanceReport
from .theme import BAD, BORDER, MUTED, OKABE_ITO, ON_FILL, TEXT, button

__all__ = ["DISPOSABLE", "HOLDS_STATE", "DEAD", "STOPPED", "ROLE_COLOURS", "STATUS_COLOURS", "STATUSES",
           "CHART_SECONDS", "SLOW_BUTTON_MS", "TONES", "tile_colour", "fault_badges_html", "tile_html",
           "stopped_tile_html", "header_html", "closed_header_html", "ledger_html", "events_html",
           "outcome_text", "message_html", "history_html", "rate_chart_svg", "RateHistory", "button",
           "InstanceTile"]

DISPOSABLE = OKABE_ITO["green"]      # a running instance that keeps nothing
HOLDS_STATE = OKABE_ITO["purple"]    # "pink": whatever holds state
DEAD = OKABE_ITO["vermillion"]       # crashed, memory gone
STOPPED = "#BBBBBB"                  # grey: not running, nothing to show
ROLE_COLOURS = {"disposable": DISPOSABLE, "holds_state": HOLDS_STATE}     # a shop class's colour_role -> colour
STATUS_COLOURS = {"draining": OKABE_ITO["orange"], "unhealthy": OKABE_ITO["yellow"], "stopped": STOPPED,
                  "dead": DEAD}
CHART_SECONDS = 30
STATUSES = ("up", "draining", "unhealthy", "stopped", "dead")
OK_LINE, FAILED_LINE = OKABE_ITO["blue"], OKABE_ITO["vermillion"]
BAD_COUNTERS = ("failed", "unknown", "lost_sessions", "lost_items", "duplicated_items")
SLOW_BUTTON_MS = 200       # what a tile's "Slow" button adds to every answer


def tile_colour(role, status):
    """While running, the colour of the shop's ``role`` (green disposable, pink holds state);
    otherwise vermillion (dead), orange (draining), yellow (unhealthy) or grey (stopped)."""
    if status == "up":
        return ROLE_COLOURS[role]
    return STATUS_COLOURS.get(status, STOPPED)


def fault_badges_html(faults):
    """One badge per fault in force (``engine.faults.Fault`` objects): its word on its colour."""
    return "".join(f"<span class='lab-fault lab-fault-{html.escape(f.key)}' style='background:{f.colour};"
                   f"color:{ON_FILL};border:1px solid {ON_FILL};border-radius:3px;padding:0 5px;margin-right:4px;"
                   f"font-size:11px;font-weight:700;letter-spacing:0.04em'>{html.escape(f.label)}</span>"
                   for f in faults)


def tile_html(name, role, status, version, requests, held, note="", faults=()):
    """One instance card. The big number is what the walk of its memory found (``held``, a ``HeldState``);
    ``faults`` (pause, slow, partition) show as badges under the status."""
    colour = tile_colour(role, status)
    alive = status not in ("dead", "stopped")
    caption = {"dead": "memory gone", "stopped": "not serving"}.get(status, "entries in its memory")
    details = [held.describe()] + ([f"({note})"] if note else []) if alive else []
    memory = (f"<div style='font-size:30px;font-weight:700;line-height:1.1;margin-top:6px'>"
              f"{held.entries if alive else 0}</div><div style='font-size:12px'>{caption}</div>"
              f"<div style='font-size:11px'>{'<br>'.join(html.escape(d) for d in details)}</div>")
    return (f"<div style='background:{colour};color:{ON_FILL};border-radius:6px;padding:8px 10px;"
            f"font-family:sans-serif;min-height:104px'>"
            f"<div style='font-size:15px;font-weight:700'>{html.escape(name)} "
            f"<span style='font-weight:400;font-size:12px'>{html.escape(version)}</span></div>"
            f"<div style='font-size:13px;text-transform:uppercase;letter-spacing:0.05em;"
            f"font-weight:600'>{html.escape(status)}</div>"
            + (f"<div style='margin:2px 0'>{fault_badges_html(faults)}</div>" if faults else "")
            + f"<div style='font-size:12px'>{requests} requests served</div>{memory}</div>")


def stopped_tile_html(name, version):
    """The card of an instance whose cluster was closed: grey, STOPPED, nothing measured."""
    return (f"<div style='background:{STOPPED};color:{ON_FILL};border-radius:6px;padding:8px 10px;"
            f"font-family:sans-serif;min-height:104px'>"
            f"<div style='font-size:15px;font-weight:700'>{html.escape(name)} "
            f"<span style='font-weight:400;font-size:12px'>{html.escape(version)}</span></div>"
            f"<div style='font-size:13px;text-transform:uppercase;letter-spacing:0.05em;font-weight:600'>"
            f"stopped</div><div style='font-size:12px;margin-top:6px'>the cluster was closed: "
            f"nothing runs here</div></div>")


def _chip(colour, text):
    return (f"<span style='background:{colour};color:{ON_FILL};padding:1px 6px;border-radius:3px;"
            f"margin-right:6px'>{text}</span>")


def header_html(kind, policy, version, count, traffic_running):
    """One line naming the cluster, plus the colour legend (each colour with its word)."""
    noun = "instance" if count == 1 else "instances"
    traffic = "traffic running" if traffic_running else "no traffic"
    legend = "".join(_chip(c, t) for c, t in ((DISPOSABLE, "disposable"), (HOLDS_STATE, "holds state"),
                                              (DEAD, "dead"), (STATUS_COLOURS["draining"], "draining"),
                                              (STOPPED, "stopped"), (Paused.colour, "paused"),
                                              (Slowed.colour, "slow"), (Partitioned.colour, "partitioned")))
    return (f"<div style='font-family:sans-serif;color:{TEXT}'>"
            f"<span style='font-size:17px;font-weight:700'>{html.escape(kind.capitalize())} cluster</span> "
            f"<span style='color:{MUTED}'>&middot; policy {html.escape(policy)} &middot; version "
            f"{html.escape(version)} &middot; {count} {noun} &middot; {traffic}</span>"
            f"<div style='font-size:12px;margin-top:4px'>{legend}</div></div>")


def closed_header_html(kind, count):
    """The header of a dashboard whose cluster was closed."""
    noun = "instance" if count == 1 else "instances"
    return (f"<div style='font-family:sans-serif;color:{TEXT}'>"
            f"<span style='font-size:17px;font-weight:700'>{html.escape(kind.capitalize())} cluster</span> "
            f"<span style='color:{MUTED}'>&middot; stopped: its {count} {noun} no longer run</span></div>")


def ledger_html(counts):
    """The ledger's counters as small boxes; a counter of trouble gets a vermillion frame and a warning
    sign once it is above zero (the sign says it without colour)."""
    boxes = []
    for key, label in LABELS.items():
        value = counts.get(key, 0)
        trouble = key in BAD_COUNTERS and value
        frame = f"2px solid {BAD}" if trouble else f"1px solid {BORDER}"
        sign = "<span aria-hidden='true'>&#9888; </span>" if trouble else ""
        boxes.append(f"<div class='lab-counter{' lab-counter-trouble' if trouble else ''}' "
                     f"style='border:{frame};border-radius:4px;padding:3px 8px;min-width:64px'>"
                     f"<div style='font-size:20px;font-weight:700;color:{TEXT}'>{sign}{value}</div>"
                     f"<div style='font-size:11px;color:{MUTED}'>{label}</div></div>")
    return (f"<div style='font-family:sans-serif;color:{TEXT}'><div style='font-weight:600;margin-bottom:4px'>"
            f"What users noticed (the ledger)</div>"
            f"<div style='display:flex;flex-wrap:wrap;gap:6px'>{''.join(boxes)}</div></div>")


def events_html(events, now):
    """The newest events, oldest first, each with how long ago it happened."""
    if not events:
        lines = f"<div style='color:{MUTED}'>nothing has happened yet</div>"
    else:
        lines = "".join(f"<div><span style='color:{MUTED}'>{max(0.0, now - e.time):5.1f} s ago</span> "
                        f"<b>{html.escape(e.source)}</b> {html.escape(e.message)}</div>" for e in events)
    return (f"<div style='font-family:monospace;font-size:12px;line-height:1.4;color:{TEXT}'>"
            f"<div style='font-family:sans-serif;font-weight:600;font-size:13px'>Recent events</div>{lines}</div>")


def outcome_text(label, result):
    """One line saying what a button did: ``label`` and what the cluster method returned."""
    if isinstance(result, dict) and "sessions_moved" in result:     # drain with hand-off
        moved = result["sessions_moved"]
        return (f"{label}: handed off {moved} session{'' if moved == 1 else 's'} "
                f"({result['bytes_moved']} bytes) in {result['seconds']:.1f} s, {result['sessions_lost']} lost")
    if isinstance(result, dict) and "sessions_lost" in result:      # drain / remove_instance
        return f"{label}: done in {result['seconds']:.1f} s, {result['sessions_lost']} sessions lost"
    if isinstance(result, str):                                      # add_instance: the new name
        return f"{label}: {result}"
    if isinstance(result, DeployReport):
        return f"{label}: done, {len(result.replaced)} replaced, {result.sessions_lost} sessions lost"
    if isinstance(result, RebalanceReport):                          # scale() on a rebalance=True cluster
        return (f"{label}: done, {result.moved} of {result.sessions} sessions moved to their new owner, "
                f"{result.sessions_lost} lost")
    return f"{label}: done"


TONES = {"info": ("", BORDER), "busy": ("Working: ", OKABE_ITO["orange"]), "error": ("Problem: ", BAD)}


def message_html(text, tone="info"):
    """The status line: the latest news. A problem or a running job says so in words and gets a coloured
    bar beside it (vermillion for a problem, orange while something runs)."""
    if not text:
        return ""
    prefix, bar = TONES[tone]
    weight = "600" if tone != "info" else "400"
    return (f"<div style='font-family:sans-serif;color:{TEXT};font-weight:{weight};border-left:4px solid {bar};"
            f"padding-left:8px'>{html.escape(prefix + text)}</div>")


def history_html(entries):
    """Earlier results of the status line, newest first: ``entries`` are (text, tone) pairs."""
    if not entries:
        return ""
    lines = "".join(f"<li>{html.escape(TONES[tone][0] + text)}</li>" for text, tone in entries)
    return (f"<div style='font-family:sans-serif;font-size:12px;color:{MUTED}'>Earlier:"
            f"<ul style='margin:2px 0 0 0;padding-left:18px'>{lines}</ul></div>")


def rate_chart_svg(ok_rates, failed_rates, width=320, height=90):
    """Two lines over the last ``len(ok_rates)`` seconds: ok per second (solid blue) and failed per second
    (dashed vermillion), as an SVG image with a title that says what it shows."""
    top = max([1, *ok_rates, *failed_rates])
    left, right, pad = 34, width - 6, 8
    plot_h = height - 2 * pad - 12
    step = (right - left) / max(1, len(ok_rates) - 1)

    def points(values):
        return " ".join(f"{left + i * step:.1f},{pad + plot_h * (1 - v / top):.1f}" for i, v in enumerate(values))

    base = pad + plot_h
    title = (f"Actions per second over the last {len(ok_rates)} s: now {ok_rates[-1] if ok_rates else 0} ok "
             f"and {failed_rates[-1] if failed_rates else 0} failed per second; highest {top:g}")
    label = f"font-size='10' style='fill:{MUTED}'"
    return (f"<div style='font-family:sans-serif;color:{TEXT}'><div style='font-weight:600'>Actions per second "
            f"<span style='color:{TEXT}'><span style='color:{OK_LINE}' aria-hidden='true'>&#9644;</span> ok"
            f"</span> <span style='color:{TEXT}'><span style='color:{FAILED_LINE}' aria-hidden='true'>"
            f"&#9476;</span> failed (dashed)</span></div>"
            f"<svg role='img' aria-label='{html.escape(title, quote=True)}' width='{width}' height='{height}' "
            f"xmlns='http://www.w3.org/2000/svg'><title>{html.escape(title)}</title>"
            f"<line x1='{left}' y1='{base}' x2='{right}' y2='{base}' style='stroke:{MUTED}'/>"
            f"<line x1='{left}' y1='{pad}' x2='{left}' y2='{base}' style='stroke:{MUTED}'/>"
            f"<text x='{left - 4}' y='{pad + 4}' {label} text-anchor='end'>{top:g}</text>"
            f"<text x='{left - 4}' y='{base}' {label} text-anchor='end'>0</text>"
            f"<text x='{left}' y='{height - 2}' {label}>{len(ok_rates)} s ago</text>"
            f"<text x='{right}' y='{height - 2}' {label} text-anchor='end'>now</text>"
            f"<polyline points='{points(ok_rates)}' fill='none' stroke='{OK_LINE}' stroke-width='2'/>"
            f"<polyline points='{points(failed_rates)}' fill='none' stroke='{FAILED_LINE}' stroke-width='2' "
            f"stroke-dasharray='5 3'/>"
            f"</svg></div>")


class RateHistory:
    """Running totals sampled now and then, turned into per-second rates for the chart.

    ``add(t, ok, failed)`` records the ledger's totals at time ``t``;
    ``per_second(now)`` answers how many actions succeeded and failed in each
    of the last ``seconds`` whole seconds (oldest first).
    """

    def __init__(self, seconds=CHART_SECONDS):
        self.seconds = seconds
        self._samples = collections.deque()      # (t, ok, failed), oldest first

    def add(self, t, ok, failed):
        self._samples.append((t, ok, failed))
        while len(self._samples) > 2 and self._samples[1][0] < t - self.seconds - 1:
            self._samples.popleft()

    def clear(self):
        self._samples.clear()

    def _totals_at(self, t, times):
        index = bisect.bisect_right(times, t) - 1
        _, ok, failed = self._samples[max(0, index)]
        return ok, failed

    def per_second(self, now):
        if not self._samples:
            return [0] * self.seconds, [0] * self.seconds
        times = [s[0] for s in self._samples]
        ok_rates, failed_rates = [], []
        for back in range(self.seconds - 1, -1, -1):
            end_ok, end_failed = self._totals_at(now - back, times)
            start_ok, start_failed = self._totals_at(now - back - 1, times)
            ok_rates.append(max(0, end_ok - start_ok))
            failed_rates.append(max(0, end_failed - start_failed))
        return ok_rates, failed_rates


class InstanceTile(widgets.VBox):
    """One instance: a coloured card, its Kill / Restart / Drain (and Hand off) buttons and the fault
    buttons, each named after the instance ("Kill shop-2"), so a screen reader tells the tiles' buttons apart.

    The dashboard connects the buttons and calls ``show()`` on every redraw;
    the tile carries the CSS classes lab-tile, lab-tile-name-<name>,
    lab-tile-<status> (which changes with the status) and lab-fault-<key> for
    each fault in force (lab-fault-paused, lab-fault-slow, lab-fault-partitioned).
    ``hand_off`` shows the Hand off button: a drain that first moves the
    sessions to a peer (shops whose sessions can move, ``moves_sessions``).
    The fault buttons carry lab-pause, lab-slow, lab-partition and lab-heal.
    """

    def __init__(self, name, role, note="", hand_off=False):
        self.name, self.role, self.note, self.status = name, role, note, None
        self.fault_keys = set()
        self.card = widgets.HTML()
        self.kill_button = button(f"Kill {name}", "lab-kill", "danger", f"crash {name}: memory gone, connections cut")
        self.restart_button = button(f"Restart {name}", "lab-restart", "success", f"start {name} again, memory empty")
        self.drain_button = button(f"Drain {name}", "lab-drain", "warning", f"take {name} out of service gracefully")
        self.handoff_button = button(f"Hand off {name}", "lab-handoff", "warning",
                                     f"move {name}'s sessions to its peers, then stop it")
        if not hand_off:
            self.handoff_button.layout.display = "none"
        self.pause_button = button(f"Pause {name}", "lab-pause", "",
                                   f"freeze {name}: it keeps its memory and answers nothing")
        self.slow_button = button(f"Slow {name} +{SLOW_BUTTON_MS} ms", "lab-slow", "",
                                  f"add {SLOW_BUTTON_MS} ms to every answer of {name}")
        self.partition_button = button(f"Partition {name}", "lab-partition", "",
                                       f"cut the balancer's path to {name}; the process lives on")
        self.heal_button = button(f"Heal {name}", "lab-heal", "", f"undo pause, slow and partition on {name}")
        row = widgets.Layout(flex_flow="row wrap", grid_gap="4px", margin="4px 0 0 0")
        buttons = widgets.HBox([self.kill_button, self.restart_button, self.drain_button, self.handoff_button],
                               layout=row)
        faults = widgets.HBox([self.pause_button, self.slow_button, self.partition_button, self.heal_button],
                              layout=row)
        super().__init__([self.card, buttons, faults],
                         layout=widgets.Layout(padding="4px", border=f"1px solid {BORDER}"))
        self.add_class("lab-tile")
        self.add_class(f"lab-tile-name-{name}")

    def _set_status(self, status):
        if status != self.status:
            if self.status is not None:
                self.remove_class(f"lab-tile-{self.status}")
            self.add_class(f"lab-tile-{status}")
            self.status = status

    def _set_faults(self, keys):
        for gone in self.fault_keys - keys:
            self.remove_class(f"lab-fault-{gone}")
        for new in keys - self.fault_keys:
            self.add_class(f"lab-fault-{new}")
        self.fault_keys = keys

    def show(self, status, instance, busy, faults=()):
        """Redraw: ``instance``'s stats and the walk of its memory, under ``status``, with its ``faults``."""
        self.card.value = tile_html(self.name, self.role, status, instance.version, instance.stats["requests"],
                                    instance.held_state(), self.note, faults)
        self._set_status(status)
        keys = {fault.key for fault in faults}
        self._set_faults(keys)
        running = status not in ("dead", "stopped")
        self.kill_button.disabled = not running
        self.restart_button.disabled = False
        self.drain_button.disabled = busy or status not in ("up", "unhealthy")
        self.handoff_button.disabled = self.drain_button.disabled
        self.pause_button.disabled = not running or "paused" in keys
        self.slow_button.disabled = not running or "slow" in keys
        self.partition_button.disabled = "partitioned" in keys
        self.heal_button.disabled = not keys

    def show_stopped(self, version):
        """The cluster is gone: a grey STOPPED card and no button to press."""
        self.card.value = stopped_tile_html(self.name, version)
        self._set_status("stopped")
        self._set_faults(set())
        self.disable()

    def disable(self):
        for control in (self.kill_button, self.restart_button, self.drain_button, self.handoff_button,
                        self.pause_button, self.slow_button, self.partition_button, self.heal_button):
            control.disabled = True
