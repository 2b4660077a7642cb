"""The Kubernetes objects the course motivates, read from ``deploy/k8s/`` (chapter 10, claim G4).

Every experiment in the course ends in a rule an operator would want
automated: replace instances one at a time, take an instance out of rotation
when its health check fails, drain before stopping, scale up at once and down
slowly, never take all copies away at the same time, pin a room to the one
process that holds it. Kubernetes has an object or a field for each rule.
``LESSONS`` lists them, field by field, with the chapter that measured why;
``kubernetes_lessons()`` reads the real manifests, so the table shows what
the files say, and it fails (naming the file and field) if a file stops
saying it. The test suite validates every manifest against the Kubernetes
schemas offline (``tests/test_manifests.py``); nothing here needs a cluster.
"""

import dataclasses

import yaml

from ..engine.tables import Table
from ..errors import LabError
from .nginx import DEPLOY_DIR

__all__ = ["Lesson", "LESSONS", "ManifestError", "load_manifests", "kubernetes_lessons", "manifest_value"]

K8S_DIR = DEPLOY_DIR / "k8s"
CONTAINER = ("spec", "template", "spec", "containers", 0)


class ManifestError(LabError, KeyError):
    """A manifest in deploy/k8s no longer has a field a lesson points at."""

    def __str__(self):
        return self.args[0]


@dataclasses.dataclass(frozen=True)
class Lesson:
    """One field of one object, and the lesson of the lab that it encodes."""

    file: str
    kind: str
    name: str
    path: tuple                     # keys into the object; a str inside a list picks the item with that name
    field: str                      # how the table names the field
    lesson: str
    chapter: str


LESSONS = (
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop", ("spec", "replicas"), "replicas",
           "identical copies: any instance serves any request", "01 S1, S5"),
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop",
           ("spec", "strategy", "rollingUpdate", "maxUnavailable"), "rollingUpdate.maxUnavailable",
           "replace instances one at a time while users shop", "01 S6, 06 W5"),
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop", CONTAINER + ("env", "LAB_SHOP_SECRET", "valueFrom",
           "secretKeyRef", "name"), "env LAB_SHOP_SECRET from", "every instance verifies tokens with one secret",
           "01 S1, S7"),
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop", CONTAINER + ("readinessProbe", "httpGet", "path"),
           "readinessProbe", "a failing health check takes an instance out of rotation", "06 W4, 04 E4"),
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop", CONTAINER + ("livenessProbe", "tcpSocket", "port"),
           "livenessProbe (tcpSocket)", "a restart fixes a stuck process, not a lost dependency", "04 E4"),
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop", CONTAINER + ("lifecycle", "preStop", "exec",
           "command"), "preStop", "drain: stop sending new requests before stopping", "01 S6, 02 F4"),
    Lesson("stateless-shop.yaml", "Deployment", "stateless-shop", ("spec", "template", "spec",
           "terminationGracePeriodSeconds"), "terminationGracePeriodSeconds",
           "time to finish in-flight requests after SIGTERM", "10 serve"),
    Lesson("stateless-shop.yaml", "Service", "stateless-shop", ("spec", "sessionAffinity"), "sessionAffinity",
           "no stickiness needed: round robin spreads evenly", "06 W3"),
    Lesson("stateless-shop.yaml", "HorizontalPodAutoscaler", "stateless-shop", ("spec", "metrics", 0, "resource",
           "target", "averageUtilization"), "target averageUtilization", "aim at 70 %, not 100 %", "06 W2"),
    Lesson("stateless-shop.yaml", "HorizontalPodAutoscaler", "stateless-shop", ("spec", "behavior", "scaleUp",
           "stabilizationWindowSeconds"), "behavior.scaleUp window", "scale up at once: a new copy serves anyone",
           "06 W2"),
    Lesson("stateless-shop.yaml", "HorizontalPodAutoscaler", "stateless-shop", ("spec", "behavior", "scaleDown",
           "stabilizationWindowSeconds"), "behavior.scaleDown window", "scale down after a cool-down", "06 W2"),
    Lesson("stateless-shop.yaml", "PodDisruptionBudget", "stateless-shop", ("spec", "maxUnavailable"),
           "maxUnavailable", "one instance down at a time goes unnoticed", "00 I1, 01 S5"),
    Lesson("game-server.yaml", "StatefulSet", "game", ("spec", "serviceName"), "serviceName (headless)",
           "each game server has a stable name players can reach", "05 R3"),
    Lesson("game-server.yaml", "StatefulSet", "game", ("spec", "volumeClaimTemplates", "results", "metadata", "name"),
           "volumeClaimTemplates", "finished games outlive the server; rooms do not", "05 R4"),
    Lesson("game-server.yaml", "StatefulSet", "game", ("spec", "template", "spec", "terminationGracePeriodSeconds"),
           "terminationGracePeriodSeconds", "a drain lasts as long as the longest game", "02 F5"),
    Lesson("game-server.yaml", "Service", "game", ("spec", "sessionAffinity"), "sessionAffinity",
           "pins a client address, not a room", "02 F2"),
    Lesson("game-server.yaml", "Ingress", "game", ("metadata", "annotations",
           "nginx.ingress.kubernetes.io/upstream-hash-by"), "upstream-hash-by",
           "hash the room: its players meet in one pod", "05 R3, 06 W3"),
    Lesson("redis.yaml", "StatefulSet", "redis", ("spec", "volumeClaimTemplates", "data", "metadata", "name"),
           "volumeClaimTemplates", "the state has to live somewhere, on a disk", "04 E1, 07 M1"),
)


def load_manifests(directory=None):
    """{(file, kind, name): object} for every object in every YAML file of ``deploy/k8s``."""
    objects = {}
    for path in sorted((directory or K8S_DIR).glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                objects[path.name, document["kind"], document["metadata"]["name"]] = document
    return objects


def manifest_value(document, path):
    """Follow ``path`` into ``document``: dict keys, list indexes, or a name picking a list item."""
    value = document
    for step in path:
        if isinstance(value, list) and isinstance(step, str):
            value = next((item for item in value if item.get("name") == step or
                          item.get("metadata", {}).get("name") == step), None)
        elif isinstance(value, list):
            value = value[step] if step < len(value) else None
        elif isinstance(value, dict):
            value = value.get(step)
        else:
            value = None
        if value is None:
            raise KeyError(step)
    return value


def kubernetes_lessons(directory=None):
    """The table of objects and fields in ``deploy/k8s``, each with the lesson and chapter behind it."""
    objects = load_manifests(directory)
    rows = []
    for lesson in LESSONS:
        document = objects.get((lesson.file, lesson.kind, lesson.name))
        try:
            if document is None:
                raise KeyError(lesson.name)
            value = manifest_value(document, lesson.path)
        except KeyError:
            raise ManifestError(f"deploy/k8s/{lesson.file}: {lesson.kind} {lesson.name!r} has no "
                                f"{'.'.join(map(str, lesson.path))}, which teaches: {lesson.lesson}") from None
        shown = " ".join(map(str, value)) if isinstance(value, list) else value
        rows.append([f"{lesson.kind} {lesson.name}", lesson.field, shown, lesson.lesson, lesson.chapter])
    return Table(["object", "field", "value", "what the lab showed", "chapter"], rows,
                 title="deploy/k8s: each field and the experiment behind it")
