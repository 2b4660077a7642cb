"""The running game cluster drawn as the article's second diagram (Mermaid text).

``game_cluster_diagram(games)`` draws what is live right now: the players, the
balancer that pins each room to one server, every game server with the rooms
it holds in memory, and the database of finished results. Game servers are
pink because their memory matters; a crashed one turns red and loses its
rooms. The text depends only on names, versions, statuses, rooms and counts,
never on ports or timings, so a notebook can check it. Chapter 05 (R3, R4);
show it with ``labsupport.show_mermaid``.
"""

from ..errors import InvalidArgumentError
from .dashboard_view import HOLDS_STATE, STATUS_COLOURS
from .theme import mermaid_style

__all__ = ["game_cluster_diagram"]


def _node_id(name):
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _count(number, noun):
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _colour(status):
    return HOLDS_STATE if status in ("up", "draining") else STATUS_COLOURS.get(status, STATUS_COLOURS["stopped"])


def game_cluster_diagram(games):
    """Mermaid flowchart text of a ``GameCluster`` (deterministic for a given state)."""
    if games.closed:
        raise InvalidArgumentError("this game cluster was closed; draw a running one, e.g. GameCluster()")
    rooms = games.rooms_by_server()
    connected = sum(s.connections for s in games.servers if s.alive)
    saved = len(games.saved_results())
    nodes = [f'Players["Players<br/>{connected} connected"]',
             'LB["Load Balancer<br/>same room, same server"]',
             f'DB[("Database<br/>{saved} saved results")]']
    edges = ["Players -->|WebSocket| LB"]
    styles = [mermaid_style("DB", HOLDS_STATE)]
    for server in games.servers:
        node, held = _node_id(server.name), rooms.get(server.name, [])
        memory = f"rooms in memory: {', '.join(held)}" if held else "no rooms in memory"
        nodes.append(f'{node}["{server.name} ({server.version})<br/>{server.status}<br/>{memory}"]')
        styles.append(mermaid_style(node, _colour(server.status)))
        if not server.alive:
            edges.append(f"LB -.->|{server.status}| {node}")
            continue
        edges.append(f"LB -.->|{'pinned: ' + ', '.join(held) if held else 'pinned rooms'}| {node}")
        edges += [f"{node} -->|Save results| DB", f"{node} -->|Broadcast game state| Players"]
    described = ["accTitle: The running game cluster",
                 f"accDescr: {_count(connected, 'player')} connected through a balancer that keeps each room on "
                 "one server; " + "; ".join(f"{s.name} is {s.status} with {_count(len(rooms.get(s.name, [])), 'room')}"
                                            " in memory" for s in games.servers)
                 + f"; {_count(saved, 'result')} saved in the database."]
    return "\n".join(["flowchart TB"] + ["    " + line for line in described + nodes + edges + styles])
