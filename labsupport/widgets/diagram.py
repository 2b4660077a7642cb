"""A live architecture diagram: the running cluster drawn as a Mermaid flowchart.

``architecture_diagram(shop)`` draws what is running right now in the shape
of the article's diagrams: client, load balancer, one box per instance,
and (when the cluster has them) the database and cache where its state lives.
The colours are the dashboard's: green for an instance whose shop keeps
nothing, pink for whatever holds state, red for a dead instance.

Nothing on it is assumed from the kind of shop; every part is measured:

* what each box says it holds in memory comes from walking the instance
  (``instance.held_state()``);
* an arrow from the balancer to an instance carries the number of requests
  the balancer handed it (its own counter), and only an instance that got
  requests draws an arrow back to the clients;
* an arrow from an instance to the database or the cache exists only if that
  instance really called it, and carries how many calls it made: the stores
  count their calls per caller (``store.calls_from``), so a freshly added
  instance that has served nobody has no arrow to either store.

The text depends only on what happened (names, versions, statuses, what is
held, counts), never on ports or timings, so a notebook can check it after a
run whose requests are deterministic. ``store_calls(shop)`` gives the counts
behind the store arrows. ``show_mermaid(text)`` displays it; JupyterLab 4
renders Mermaid in Markdown. Chapter 05 uses it.
"""

from IPython.display import Markdown, display

from ..errors import ClusterClosedError, InvalidArgumentError, UnknownInstanceError
from .dashboard_view import HOLDS_STATE, tile_colour
from .theme import mermaid_style

__all__ = ["architecture_diagram", "mermaid_markdown", "show_mermaid", "store_calls"]


def _node_id(name):
    """Mermaid ids cannot contain "-": shop-1 becomes shop_1."""
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


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
    """[(node id, store)] for the database and the cache, when the cluster has them (one node if they are one)."""
    if cluster.database is None:
        return []
    if cluster.cache is None or cluster.cache is cluster.database:
        return [("DB", cluster.database)]
    return [("DB", cluster.database), ("Cache", cluster.cache)]


def _store_nodes(cluster):
    if cluster.database is None:
        return [], []
    cache = "Cache<br/>kept in the database: no Redis" if cluster.cache is cluster.database else "Redis Cache"
    nodes = ['DB[("Database<br/>carts")]', f'Cache[("{cache}")]']
    return nodes, [mermaid_style("DB", HOLDS_STATE), mermaid_style("Cache", HOLDS_STATE)]


def store_calls(cluster):
    """Calls each instance made to each store, as the stores counted them: ``{instance: {"DB": n, "Cache": m}}``."""
    return {instance.name: {node: store.calls_from[instance.name] for node, store in _stores(cluster)}
            for instance in cluster.instances}


def _handed_out(cluster, name):
    """Requests the balancer handed to ``name`` (its own counter; 0 if it no longer knows the instance)."""
    try:
        return cluster.balancer.instance(name).requests
    except UnknownInstanceError:
        return 0


def architecture_diagram(cluster):
    """The cluster as Mermaid flowchart text (deterministic for a given state and history of requests)."""
    if cluster.closed:
        raise InvalidArgumentError("this cluster was closed; draw a running one, e.g. Cluster.stateless()")
    shop, policy = cluster.shop_class, cluster.policy
    store_nodes, styles = _store_nodes(cluster)
    nodes = ['Client["Clients"]', f'LB["Load Balancer<br/>{policy}"]'] + store_nodes
    edges = [f"Client -->|Request + {shop.credential_kind}| LB"]
    calls = store_calls(cluster)
    for instance in cluster.instances:
        node, status = _node_id(instance.name), _status(cluster, instance)
        requests = _handed_out(cluster, instance.name)
        nodes.append(f'{node}["{instance.name} ({instance.version})<br/>{status}<br/>{_memory(instance, status)}"]')
        styles.append(mermaid_style(node, tile_colour(shop.colour_role, status)))
        label = f"{policy}: {_plural(requests, 'request')}"
        edges.append(f"LB -->|{label}| {node}" if status == "up" else f"LB -.->|{status}| {node}")
        if status in ("dead", "stopped"):
            continue                          # nothing runs there now: no calls out, no responses
        edges += [f"{node} -->|{_plural(count, 'call')}| {store}"
                  for store, count in calls[instance.name].items() if count]
        if requests:
            edges.append(f"{node} -->|Response| Client")
    described = [f"accTitle: The running {cluster.kind} cluster",
                 f"accDescr: Clients, a {policy} load balancer, "
                 + ", ".join(f"{i.name} ({_status(cluster, i)})" for i in cluster.instances)
                 + (", a database and a cache." if store_nodes else ".")]
    return "\n".join(["flowchart TB"] + ["    " + line for line in described + nodes + edges + styles])


def mermaid_markdown(text):
    """``text`` inside a ```mermaid fence, as a Markdown display object."""
    return Markdown(f"```mermaid\n{text}\n```")


def show_mermaid(text):
    """Display Mermaid ``text`` as a cell output (JupyterLab 4 renders it)."""
    display(mermaid_markdown(text))
