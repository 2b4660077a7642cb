"""How the cluster dashboard looks: colours, instance tiles, counters and the little chart.

The colours carry the lesson and follow the article's diagrams: green for an
instance that keeps nothing (disposable: kill it and nobody notices), pink
for anything that holds state (a stateful instance, the database, the
cache), red for a dead instance. Which colour a running instance gets is its
shop class's ``colour_role``; the number on its tile is *measured*: the
entries the walk of its memory found (``instance.held_state()``). A fault short
of a crash (``engine/faults.py``) shows as a badge in words and in its own
colour: PAUSED, SLOW +200 ms, PARTITIONED. Almost
everything here is a plain function from numbers to HTML, so it can be read
and tested without a browser; the widget in dashboard.py decides *when* to
redraw and what buttons do. Used by chapters 00-06.
"""

import bisect
import collections
import html

import ipywidgets as widgets

from ..engine.faults import Partitioned, Paused, Slowed
from ..shop.deploys import DeployReport
from ..shop.ledger import LABELS
from ..shop.rebalance import RebalanceReport

__all__ = ["DISPOSABLE", "HOLDS_STATE", "DEAD", "ROLE_COLOURS", "STATUS_COLOURS", "STATUSES", "CHART_SECONDS",
           "SLOW_BUTTON_MS", "tile_colour", "fault_badges_html",
           "tile_html", "header_html", "ledger_html", "events_html", "outcome_text", "message_html",
           "rate_chart_svg", "RateHistory", "button", "InstanceTile"]

DISPOSABLE = "#90EE90"     # green: a running instance that keeps nothing
HOLDS_STATE = "#FFB6C1"    # pink: whatever holds state
DEAD = "#FF7F7F"           # red: crashed, memory gone
ROLE_COLOURS = {"disposable": DISPOSABLE, "holds_state": HOLDS_STATE}     # a shop class's colour_role -> colour
STATUS_COLOURS = {"draining": "#FFD580", "unhealthy": "#FFB347", "stopped": "#D3D3D3", "dead": DEAD}
CHART_SECONDS = 30
STATUSES = ("up", "draining", "unhealthy", "stopped", "dead")
OK_LINE, FAILED_LINE, INK, MUTED = "#1b7f3b", "#b3261e", "#202124", "#5f6368"
BAD_COUNTERS = ("failed", "unknown", "lost_sessions", "lost_items", "duplicated_items")
SLOW_BUTTON_MS = 200       # what a tile's "Slow" button adds to every answer


def tile_colour(role, status):
    """While running, the colour of the shop's ``role`` (green disposable, pink holds state);
    otherwise red (dead), amber (draining), orange (unhealthy) or grey (stopped)."""
    if status == "up":
        return ROLE_COLOURS[role]
    return STATUS_COLOURS.get(status, STATUS_COLOURS["stopped"])


def fault_badges_html(faults):
    """One badge per fault in force (``engine.faults.Fault`` objects): its word on its colour."""
    return "".join(f"<span class='lab-fault lab-fault-{html.escape(f.key)}' style='background:{f.colour};"
                   f"color:{INK};border:1px solid {INK};border-radius:3px;padding:0 5px;margin-right:4px;"
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
    return (f"<div style='background:{colour};color:{INK};border-radius:6px;padding:8px 10px;"
            f"font-family:sans-serif;min-height:104px'>"
            f"<div style='font-size:15px;font-weight:700'>{html.escape(name)} "
            f"<span style='font-weight:400;font-size:12px'>{html.escape(version)}</span></div>"
            f"<div style='font-size:13px;text-transform:uppercase;letter-spacing:0.05em;"
            f"font-weight:600'>{html.escape(status)}</div>"
            + (f"<div style='margin:2px 0'>{fault_badges_html(faults)}</div>" if faults else "")
            + f"<div style='font-size:12px'>{requests} requests served</div>{memory}</div>")


def header_html(kind, policy, version, count, traffic_running):
    """One line naming the cluster, plus the colour legend."""
    noun = "instance" if count == 1 else "instances"
    traffic = "traffic running" if traffic_running else "no traffic"
    legend = "".join(f"<span style='background:{c};padding:1px 6px;border-radius:3px;margin-right:6px'>{t}</span>"
                     for c, t in ((DISPOSABLE, "disposable"), (HOLDS_STATE, "holds state"), (DEAD, "dead"),
                                  (STATUS_COLOURS["draining"], "draining"), (STATUS_COLOURS["stopped"], "stopped"),
                                  (Paused.colour, "paused"), (Slowed.colour, "slow"),
                                  (Partitioned.colour, "partitioned")))
    return (f"<div style='font-family:sans-serif;color:{INK}'>"
            f"<span style='font-size:17px;font-weight:700'>{html.escape(kind.capitalize())} cluster</span> "
            f"<span style='color:{MUTED}'>&middot; policy {html.escape(policy)} &middot; version "
            f"{html.escape(version)} &middot; {count} {noun} &middot; {traffic}</span>"
            f"<div style='font-size:12px;margin-top:4px'>{legend}</div></div>")


def ledger_html(counts):
    """The ledger's counters as small boxes; a counter of trouble turns red once it is above zero."""
    boxes = []
    for key, label in LABELS.items():
        value = counts.get(key, 0)
        colour = FAILED_LINE if key in BAD_COUNTERS and value else INK
        boxes.append(f"<div style='border:1px solid #ddd;border-radius:4px;padding:3px 8px;min-width:64px'>"
                     f"<div style='font-size:20px;font-weight:700;color:{colour}'>{value}</div>"
                     f"<div style='font-size:11px;color:{MUTED}'>{label}</div></div>")
    return (f"<div style='font-family:sans-serif'><div style='font-weight:600;margin-bottom:4px'>"
            f"What users noticed (the ledger)</div>"
            f"<div style='display:flex;flex-wrap:wrap;gap:6px'>{''.join(boxes)}</div></div>")


def events_html(events, now):
    """The newest events, oldest first, each with how long ago it happened."""
    if not events:
        lines = f"<div style='color:{MUTED}'>nothing has happened yet</div>"
    else:
        lines = "".join(f"<div><span style='color:{MUTED}'>{max(0.0, now - e.time):5.1f} s ago</span> "
                        f"<b>{html.escape(e.source)}</b> {html.escape(e.message)}</div>" for e in events)
    return (f"<div style='font-family:monospace;font-size:12px;line-height:1.4'>"
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


def message_html(text, tone="info"):
    """The status line: grey for news, amber while something runs, red for a problem."""
    colour = {"info": MUTED, "busy": "#8a5a00", "error": FAILED_LINE}[tone]
    weight = "600" if tone != "info" else "400"
    return f"<div style='font-family:sans-serif;color:{colour};font-weight:{weight}'>{html.escape(text)}</div>"


def rate_chart_svg(ok_rates, failed_rates, width=320, height=90):
    """Two polylines (ok per second green, failed per second red) over the last ``len(ok_rates)`` seconds."""
    top = max([1, *ok_rates, *failed_rates])
    left, right, pad = 34, width - 6, 8
    plot_h = height - 2 * pad - 12
    step = (right - left) / max(1, len(ok_rates) - 1)

    def points(values):
        return " ".join(f"{left + i * step:.1f},{pad + plot_h * (1 - v / top):.1f}" for i, v in enumerate(values))

    base = pad + plot_h
    return (f"<div style='font-family:sans-serif'><div style='font-weight:600'>Actions per second "
            f"<span style='color:{OK_LINE}'>&#9644; ok</span> <span style='color:{FAILED_LINE}'>&#9644; failed"
            f"</span></div><svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
            f"<line x1='{left}' y1='{base}' x2='{right}' y2='{base}' stroke='#bbb'/>"
            f"<line x1='{left}' y1='{pad}' x2='{left}' y2='{base}' stroke='#bbb'/>"
            f"<text x='{left - 4}' y='{pad + 4}' font-size='10' text-anchor='end' fill='{MUTED}'>{top:g}</text>"
            f"<text x='{left - 4}' y='{base}' font-size='10' text-anchor='end' fill='{MUTED}'>0</text>"
            f"<text x='{left}' y='{height - 2}' font-size='10' fill='{MUTED}'>{len(ok_rates)} s ago</text>"
            f"<text x='{right}' y='{height - 2}' font-size='10' text-anchor='end' fill='{MUTED}'>now</text>"
            f"<polyline points='{points(ok_rates)}' fill='none' stroke='{OK_LINE}' stroke-width='2'/>"
            f"<polyline points='{points(failed_rates)}' fill='none' stroke='{FAILED_LINE}' stroke-width='2'/>"
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


def button(label, css_class, style="", tooltip=""):
    """A button sized to its label, carrying ``css_class`` so a browser test can find it."""
    made = widgets.Button(description=label, button_style=style, tooltip=tooltip, layout=widgets.Layout(width="auto"))
    made.add_class(css_class)
    return made


class InstanceTile(widgets.VBox):
    """One instance: a coloured card, its Kill / Restart / Drain (and Hand off) buttons and the fault buttons.

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
        self.kill_button = button("Kill", "lab-kill", "danger", f"crash {name}: memory gone, connections cut")
        self.restart_button = button("Restart", "lab-restart", "success", f"start {name} again, memory empty")
        self.drain_button = button("Drain", "lab-drain", "warning", f"take {name} out of service gracefully")
        self.handoff_button = button("Hand off", "lab-handoff", "warning",
                                     f"move {name}'s sessions to its peers, then stop it")
        if not hand_off:
            self.handoff_button.layout.display = "none"
        self.pause_button = button("Pause", "lab-pause", "", f"freeze {name}: it keeps its memory and answers nothing")
        self.slow_button = button(f"Slow +{SLOW_BUTTON_MS} ms", "lab-slow", "",
                                  f"add {SLOW_BUTTON_MS} ms to every answer of {name}")
        self.partition_button = button("Partition", "lab-partition", "",
                                       f"cut the balancer's path to {name}; the process lives on")
        self.heal_button = button("Heal", "lab-heal", "", f"undo pause, slow and partition on {name}")
        row = widgets.Layout(justify_content="space-between", margin="4px 0 0 0", flex_flow="row wrap")
        buttons = widgets.HBox([self.kill_button, self.restart_button, self.drain_button, self.handoff_button],
                               layout=row)
        faults = widgets.HBox([self.pause_button, self.slow_button, self.partition_button, self.heal_button],
                              layout=row)
        super().__init__([self.card, buttons, faults], layout=widgets.Layout(padding="4px", border="1px solid #ddd"))
        self.add_class("lab-tile")
        self.add_class(f"lab-tile-name-{name}")

    def show(self, status, instance, busy, faults=()):
        """Redraw: ``instance``'s stats and the walk of its memory, under ``status``, with its ``faults``."""
        self.card.value = tile_html(self.name, self.role, status, instance.version, instance.stats["requests"],
                                    instance.held_state(), self.note, faults)
        if status != self.status:
            if self.status is not None:
                self.remove_class(f"lab-tile-{self.status}")
            self.add_class(f"lab-tile-{status}")
            self.status = status
        keys = {fault.key for fault in faults}
        for gone in self.fault_keys - keys:
            self.remove_class(f"lab-fault-{gone}")
        for new in keys - self.fault_keys:
            self.add_class(f"lab-fault-{new}")
        self.fault_keys = keys
        running = status not in ("dead", "stopped")
        self.kill_button.disabled = not running
        self.restart_button.disabled = False
        self.drain_button.disabled = busy or status not in ("up", "unhealthy")
        self.handoff_button.disabled = self.drain_button.disabled
        self.pause_button.disabled = not running or "paused" in keys
        self.slow_button.disabled = not running or "slow" in keys
        self.partition_button.disabled = "partitioned" in keys
        self.heal_button.disabled = not keys

    def disable(self):
        for control in (self.kill_button, self.restart_button, self.drain_button, self.handoff_button,
                        self.pause_button, self.slow_button, self.partition_button, self.heal_button):
            control.disabled = True
