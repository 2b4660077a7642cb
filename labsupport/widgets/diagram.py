"""A live architecture diagram: the running cluster drawn as a Mermaid flowchart.

``architecture_diagram(shop)`` draws what is running right now in the shape
of the article's diagrams: client, load balancer, one box per instance,
and (when the cluster has them) the database and cache where its state lives.
The colours are the dashboard's: green for an instance whose shop keeps
nothing, pink for whatever holds state, red for a dead instance. What each
box says it holds in memory is measured by walking the instance
(``instance.held_state()``). The text depends only on the cluster's state
(names, versions, statuses, what is held), never on ports or timings, so a
notebook can check it. ``show_mermaid(text)`` displays it; JupyterLab 4
renders Mermaid in Markdown. Chapters 01, 02 and 05 use it.
"""

from IPython.display import Markdown, display

from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from .dashboard_view import HOLDS_STATE, tile_colour

__all__ = ["architecture_diagram", "mermaid_markdown", "show_mermaid"]


def _node_id(name):
    """Mermaid ids cannot contain "-": shop-1 becomes shop_1."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _status(cluster, instance):
    try:
        return cluster.status(instance.name)
    except (UnknownInstanceError, ClusterClosedError):     # added, removed or closed right now
        return instance.status


def _memory(instance, status):
    """What the box says about the instance's memory: measured while it runs, gone once it crashed."""
    if status == "dead":
        return "memory lost"
    if not instance.alive:
        return "not running"
    return instance.held_state().describe()


def _stores(cluster):
    """The database and cache nodes, when the cluster has them (a stateless shop keeps its state there)."""
    if cluster.database is None:
        return [], []
    cache = "Cache<br/>kept in the database: no Redis" if cluster.cache is cluster.database else "Redis Cache"
    nodes = ['DB[("Database<br/>carts")]', f'Cache[("{cache}")]']
    return nodes, [f"style DB fill:{HOLDS_STATE}", f"style Cache fill:{HOLDS_STATE}"]


def architecture_diagram(cluster):
    """The cluster as Mermaid flowchart text (deterministic for a given state)."""
    if cluster.closed:
        raise InvalidArgumentError("this cluster was closed; draw a running one, e.g. Cluster.stateless()")
    shop, policy = cluster.shop_class, cluster.policy
    store_nodes, styles = _stores(cluster)
    nodes = ['Client["Clients"]', f'LB["Load Balancer<br/>{policy}"]'] + store_nodes
    edges = [f"Client -->|Request + {shop.credential_kind}| LB"]
    for instance in cluster.instances:
        node, status = _node_id(instance.name), _status(cluster, instance)
        nodes.append(f'{node}["{instance.name} ({instance.version})<br/>{status}<br/>{_memory(instance, status)}"]')
        styles.append(f"style {node} fill:{tile_colour(shop.colour_role, status)}")
        edges.append(f"LB -->|{policy}| {node}" if status == "up" else f"LB -.->|{status}| {node}")
        if status in ("dead", "stopped"):
            continue                          # nothing runs there: no calls out, no responses
        if store_nodes:
            edges += [f"{node} --> DB", f"{node} --> Cache"]
        edges.append(f"{node} -->|Response| Client")
    return "\n".join(["flowchart TB"] + ["    " + line for line in nodes + edges + styles])


def mermaid_markdown(text):
    """``text`` inside a ```mermaid fence, as a Markdown display object."""
    return Markdown(f"```mermaid\n{text}\n```")


def show_mermaid(text):
    """Display Mermaid ``text`` as a cell output (JupyterLab 4 draws it)."""
    display(mermaid_markdown(text))
