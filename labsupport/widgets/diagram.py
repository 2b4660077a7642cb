"""A live architecture diagram: the running cluster drawn as a Mermaid flowchart.

``architecture_diagram(shop)`` draws what is running right now in the shape
of the article's diagrams: client, load balancer, one box per instance,
and (for a stateless cluster) the database and cache where its state lives.
The colours are the dashboard's: green for an instance that keeps nothing,
pink for whatever holds state, red for a dead instance. The text depends
only on the cluster's state (names, versions, statuses, sessions held), never
on ports or timings, so a notebook can check it. ``show_mermaid(text)``
displays it; JupyterLab 4 renders Mermaid in Markdown. Chapters 01 and 02 use it.
"""

from IPython.display import Markdown, display

from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from .dashboard_view import HOLDS_STATE, tile_colour

__all__ = ["architecture_diagram", "mermaid_markdown", "show_mermaid"]


def _node_id(name):
    """Mermaid ids cannot contain "-": shop-1 becomes shop_1."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _status(cluster, server):
    try:
        return cluster.status(server.name)
    except (UnknownInstanceError, ClusterClosedError):     # added, removed or closed right now
        return server.status


def _instance_label(kind, server, status):
    if kind == "stateless":
        memory = "keeps nothing in memory"
    elif status == "dead":
        memory = "memory lost"
    elif server.alive:
        held = server.stats["sessions"]
        memory = f"{held} session{'' if held == 1 else 's'} in memory"
    else:
        memory = "no sessions"
    return f"{server.name} ({server.version})<br/>{status}<br/>{memory}"


def architecture_diagram(cluster):
    """The cluster as Mermaid flowchart text (deterministic for a given state)."""
    if cluster.closed:
        raise InvalidArgumentError("this cluster was closed; draw a running one, e.g. Cluster.stateless()")
    kind, policy = cluster.kind, cluster.policy
    if kind == "stateless":
        cache = "Cache<br/>kept in the database: no Redis" if cluster.cache is cluster.database else "Redis Cache"
        nodes = ['Client["Client"]', f'LB["Load Balancer<br/>{policy}"]', 'DB[("Database<br/>carts")]',
                 f'Cache[("{cache}")]']
        edges = ["Client -->|Request + JWT| LB"]
        styles = [f"style DB fill:{HOLDS_STATE}", f"style Cache fill:{HOLDS_STATE}"]
    else:
        nodes = ['Client["Clients"]', f'LB["Load Balancer<br/>{policy}"]']
        edges = ["Client -->|Request + session cookie| LB"]
        styles = []
    for server in cluster.instances:
        node, status = _node_id(server.name), _status(cluster, server)
        nodes.append(f'{node}["{_instance_label(kind, server, status)}"]')
        styles.append(f"style {node} fill:{tile_colour(kind, status)}")
        route = policy if kind == "stateless" else f"{policy} to {server.name}"
        edges.append(f"LB -->|{route}| {node}" if status == "up" else f"LB -.->|{status}| {node}")
        if status in ("dead", "stopped"):
            continue                          # nothing runs there: no calls out, no responses
        if kind == "stateless":
            edges += [f"{node} --> DB", f"{node} --> Cache"]
        edges.append(f"{node} -->|Response| Client")
    return "\n".join(["flowchart TB"] + ["    " + line for line in nodes + edges + styles])


def mermaid_markdown(text):
    """``text`` inside a ```mermaid fence, as a Markdown display object."""
    return Markdown(f"```mermaid\n{text}\n```")


def show_mermaid(text):
    """Display Mermaid ``text`` as a cell output (JupyterLab 4 draws it)."""
    display(mermaid_markdown(text))
