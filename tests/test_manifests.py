"""deploy/: the Kubernetes manifests and the compose file encode the course's lessons (chapter 10, G4).

No cluster here, so the manifests are checked offline: every object validates
against the Kubernetes JSON schemas in strict mode (kubernetes-validate, which
refuses unknown fields), selectors match the pods they select, probes and the
drain add up, every pod answers to the names it is reached by and nothing else
(the Host check), and the fields chapter 10's table shows are really there. The
compose file is parsed and its references checked (files, services, secrets).
"""

import pathlib
import re
import shutil

import kubernetes_validate
import pytest
import yaml

import labsupport.__main__ as cli
from labsupport.engine import allowed_host_names, host_problem
from labsupport.labs import LESSONS, ManifestError, kubernetes_lessons, load_manifests, manifest_value

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
VERSIONS = ("1.29", "1.33")            # kind and minikube ship recent versions; keep both ends valid
OBJECTS = load_manifests()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("key", sorted(OBJECTS), ids=lambda key: f"{key[0]}:{key[1]}/{key[2]}")
def test_every_object_validates_against_the_kubernetes_schema_in_strict_mode(key, version):
    kubernetes_validate.validate(OBJECTS[key], version, strict=True)


def test_strict_validation_refuses_a_misspelt_field():
    deployment = yaml.safe_load(yaml.safe_dump(OBJECTS["stateless-shop.yaml", "Deployment", "stateless-shop"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"tcpSocket": {"port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_every_selector_matches_the_pods_it_is_meant_for():
    pods = {name: doc["spec"]["template"]["metadata"]["labels"] for (_, kind, name), doc in OBJECTS.items()
            if kind in ("Deployment", "StatefulSet")}
    for (_, kind, name), doc in OBJECTS.items():
        if kind in ("Deployment", "StatefulSet", "PodDisruptionBudget"):
            wanted = doc["spec"]["selector"]["matchLabels"]
        elif kind == "Service":
            wanted = doc["spec"]["selector"]
        else:
            continue
        matching = [pod for pod, labels in pods.items() if wanted.items() <= labels.items()]
        assert len(matching) == 1, f"{kind} {name} selects {matching}"


def test_the_stateless_shop_separates_readiness_from_liveness_and_drains_before_sigkill():
    container = manifest_value(OBJECTS["stateless-shop.yaml", "Deployment", "stateless-shop"],
                               ("spec", "template", "spec", "containers", "shop"))
    assert container["readinessProbe"] != container["livenessProbe"]
    assert "httpGet" in container["readinessProbe"] and "tcpSocket" in container["livenessProbe"]
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    args = container["args"]
    drain = float(args[args.index("--drain-timeout") + 1])
    grace = OBJECTS["stateless-shop.yaml", "Deployment", "stateless-shop"]["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"]
    assert pause + drain <= grace, "SIGKILL would cut the drain short"
    secret_env = {env["name"]: env["valueFrom"]["secretKeyRef"] for env in container["env"] if "valueFrom" in env
                  and "secretKeyRef" in env["valueFrom"]}
    assert set(secret_env) >= {"LAB_SHOP_SECRET", "LAB_SHOP_DB", "REDIS_URL"}
    for ref in secret_env.values():
        assert ref["key"] in OBJECTS["secrets.yaml", "Secret", ref["name"]]["stringData"]
    assert not any("secret" in arg.lower() for arg in args)          # never on the command line


SERVE_PODS = [("stateless-shop.yaml", "Deployment", "stateless-shop"), ("game-server.yaml", "StatefulSet", "game")]


@pytest.mark.parametrize("key", SERVE_PODS, ids=lambda key: key[2])
def test_serve_pods_answer_to_their_service_names_and_their_probes_send_a_loopback_host(key):
    """The Host check refuses (421) every name it is not told: the pods must list the names they are reached by."""
    spec = OBJECTS[key]["spec"]
    container = spec["template"]["spec"]["containers"][0]
    env = [item["name"] for item in container["env"]]
    assert env.index("POD_NAME") < env.index("LAB_ALLOW_HOSTS") and env.index("POD_NAMESPACE") < env.index(
        "LAB_ALLOW_HOSTS"), "Kubernetes expands $(VAR) only for variables defined before"
    listed = manifest_value(container, ("env", "LAB_ALLOW_HOSTS", "value"))
    listed = listed.replace("$(POD_NAME)", "game-0").replace("$(POD_NAMESPACE)", "course")
    names = allowed_host_names(None, {"LAB_ALLOW_HOSTS": listed})          # exactly what serve would accept
    labels = spec["template"]["metadata"]["labels"]
    services = {name: doc["spec"] for (_, kind, name), doc in OBJECTS.items()
                if kind == "Service" and doc["spec"]["selector"].items() <= labels.items()}
    assert services
    for service, service_spec in services.items():
        if service_spec.get("clusterIP") == "None":                           # headless: one name per pod
            assert "game-0." + service in names
        else:
            assert {service, f"{service}.course.svc", f"{service}.course.svc.cluster.local"} <= set(names)
    assert "127.0.0.1" in names                                              # kubectl port-forward
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        if "httpGet" in probe:                                                # the kubelet would send the pod IP
            host = manifest_value(probe, ("httpGet", "httpHeaders", "Host", "value"))
            assert host_problem(host, container["ports"][0]["containerPort"]) is None


def test_the_game_ingress_tells_the_pods_a_loopback_host():
    annotations = OBJECTS["game-server.yaml", "Ingress", "game"]["metadata"]["annotations"]
    assert host_problem(annotations["nginx.ingress.kubernetes.io/upstream-vhost"], 8000) is None


def test_the_hpa_scales_up_at_once_and_down_after_a_cool_down_at_seventy_percent():
    hpa = OBJECTS["stateless-shop.yaml", "HorizontalPodAutoscaler", "stateless-shop"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "stateless-shop"
    assert hpa["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert hpa["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 60
    assert hpa["minReplicas"] >= 2           # so the PodDisruptionBudget can always let one pod go


def test_the_game_server_is_a_statefulset_behind_a_headless_service_and_a_room_hash():
    game = OBJECTS["game-server.yaml", "StatefulSet", "game"]["spec"]
    headless = OBJECTS["game-server.yaml", "Service", game["serviceName"]]["spec"]
    assert headless["clusterIP"] == "None"
    annotations = OBJECTS["game-server.yaml", "Ingress", "game"]["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/upstream-hash-by"] == "$uri"      # /rooms/<room id>
    assert OBJECTS["game-server.yaml", "Service", "game"]["spec"]["sessionAffinity"] == "ClientIP"
    text = (K8S / "game-server.yaml").read_text()
    assert "What this protects" in text and "What it does not" in text


def test_the_lessons_table_reads_every_field_from_the_manifests():
    table = kubernetes_lessons()
    assert len(table.rows) == len(LESSONS)
    values = {row[1]: row[2] for row in table.rows if row[0] == "HorizontalPodAutoscaler stateless-shop"}
    assert values["target averageUtilization"] == 70


def test_the_lessons_table_fails_when_a_manifest_loses_a_field(tmp_path):
    for path in K8S.glob("*.yaml"):
        shutil.copy(path, tmp_path)
    broken = tmp_path / "stateless-shop.yaml"
    broken.write_text(broken.read_text().replace("preStop:", "postStart:"))
    with pytest.raises(ManifestError, match="stateless-shop.yaml: Deployment 'stateless-shop' has no .*preStop"):
        kubernetes_lessons(tmp_path)


# -- compose --------------------------------------------------------------------------------------------------------
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_runs_three_stateless_shops_behind_nginx_with_redis():
    services = COMPOSE["services"]
    shops = [name for name, s in services.items() if s.get("command", [])[:2] == ["serve", "stateless-shop"]]
    assert shops == ["shop-1", "shop-2", "shop-3"]
    upstreams = re.findall(r"server ([\w-]+):8000", services["nginx"]["environment"]["SHOP_SERVERS"])
    assert upstreams == shops
    assert set(services["nginx"]["depends_on"]) == set(shops)
    for name in shops:
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "carts:/data" in services[name]["volumes"]               # one SQLite file, shared
        assert "--secret-file" in services[name]["command"] and "LAB_SHOP_SECRET" not in services[name]["environment"]


def test_compose_commands_are_valid_serve_commands_that_answer_to_their_service_name():
    parser = cli.build_parser()
    serving = {name: s["command"] for name, s in COMPOSE["services"].items() if s.get("command", [""])[0] == "serve"}
    assert len(serving) == 6
    for name, command in serving.items():
        args = parser.parse_args(command)                                     # exits 2 on a bad option
        assert args.host == "0.0.0.0" and args.allow_host == [name], name


def test_compose_mounts_files_that_exist_and_publishes_on_loopback_only():
    services = COMPOSE["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), f"{name} mounts {source}, which does not exist"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
    assert "ports" not in services["redis"]
    assert (DEPLOY / COMPOSE["x-shop"]["build"]["dockerfile"].removeprefix("deploy/")).is_file()
    assert set(COMPOSE["secrets"]) == {"shop_secret", "redis_conf"}
    sticky = [name for name, s in services.items() if s.get("command", [])[:2] == ["serve", "stateful-shop"]]
    assert sticky and all(services[name]["profiles"] == ["stateful"] for name in sticky)
    assert "stateful-shop.conf.template" in services["nginx-sticky"]["volumes"][0]
