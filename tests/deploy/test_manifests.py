"""deploy/: the image, the Compose file, the Kubernetes manifests and the nginx configuration,
checked by the tools that read them (hadolint, the Compose Specification schema, the Kubernetes
API schemas, nginx itself) and against rekap's own command line, settings and routes."""

from __future__ import annotations

import copy
import functools
import http.client
import http.server
import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from litestar import Litestar

from service.cli.main import parser
from service.http.app import create_app
from service.http.bodies import upload_body_limit
from service.photos.queue import GROUP, OcrQueue
from service.settings import Settings, SettingsError
from tests.conftest import REPO, free_port

DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
NGINX_CONF = DEPLOY / "nginx" / "rekap.conf"
SCHEMAS = REPO / "tests" / "resources" / "schemas"
# The oldest Kubernetes deploy/k8s/kustomization.yaml promises, and the newest the validator knows.
K8S_VERSIONS = ("1.29", kubernetes_validate.utils.latest_version())
CUSTOM_KINDS = {
    ("postgresql.cnpg.io/v1", "Cluster"): "cnpg-cluster.schema.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.schema.json",
}
# What a secretKeyRef stands for when the settings are checked (the Secret exists only in a cluster).
SECRET_VALUES = {
    "uri": "postgresql://rekap:secret@rekap-db-rw.rekap:5432/rekap",
    "username": "rekap",
    "password": "secret",
}
"""Keys of the Secret CloudNativePG writes for the Cluster's application user."""
COMPOSE_VARIABLES = {"POSTGRES_PASSWORD": "secret", "REKAP_APP_DB_PASSWORD": "app-secret"}


def tool(name: str) -> str:
    """A command installed by the dev dependencies, beside this Python."""
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} is missing: it comes with the dev dependencies (make setup)"
    return found


def nginx_binary() -> str:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    assert found, "nginx is missing: deploy/local/system-packages.sh installs nginx-light (make setup)"
    return found


def check_rekap_command(argv: list[str], where: str) -> Any:
    """``argv`` is a real ``rekap`` command line: parsed by rekap's own parser."""
    assert argv[:1] == ["rekap"], f"{where}: {argv} does not run rekap"
    try:
        return parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"{where}: 'rekap {shlex.join(argv[1:])}' is not a rekap command line")


def check_settings(env: dict[str, str], where: str) -> Settings:
    """Every REKAP_* variable is one of service/settings.py's, with a value it accepts."""
    try:
        return Settings.from_env(env)
    except SettingsError as error:
        pytest.fail(f"{where}: {error}")


@pytest.fixture(scope="module")
def app() -> Litestar:
    return create_app(Settings())


def route_paths(app: Litestar) -> set[str]:
    return {route.path for route in app.routes}


# --- the image -------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_what_the_package_needs_and_the_context_holds() -> None:
    """Each COPY source exists, the wheel's packages, sql/ and the readme are among them, and
    Dockerfile.dockerignore (an allow-list) lets each into the build context."""
    copied = set()
    for name, arguments in dockerfile_instructions():
        if name != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _ = arguments.split()
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
            copied.add(source.rstrip("/"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    needed = {*packages, "pyproject.toml", project["project"]["readme"], "sql"}
    assert needed <= copied, f"not copied into the image: {sorted(needed - copied)}"

    ignore = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", "the ignore file is an allow-list: it starts by leaving out everything"
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert copied <= allowed, f"copied but left out of the build context: {sorted(copied - allowed)}"


def test_dockerfile_runs_rekap_serve_as_a_non_root_user(app: Litestar) -> None:
    instructions = dockerfile_instructions()
    last = {name: arguments for name, arguments in instructions}
    args = check_rekap_command(json.loads(last["CMD"]), "Dockerfile CMD")
    assert args.command == "serve"
    assert last["EXPOSE"] == str(args.port)
    uid = last["USER"].partition(":")[0]
    assert uid.isdigit() and int(uid) > 0, "USER must be numeric (runAsNonRoot checks it) and not root"
    health = re.search(r"http://127\.0\.0\.1:(\d+)(/\S*?)'", last["HEALTHCHECK"])
    assert health, last["HEALTHCHECK"]
    assert int(health[1]) == args.port
    assert health[2] in route_paths(app)
    env = dict(re.findall(r"(\w+)=(\S+)", last["ENV"]))
    check_settings({k: v for k, v in env.items() if k.startswith("REKAP_")}, "Dockerfile ENV")


# --- Compose ---------------------------------------------------------------------------------------


@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}, with this test's values."""
    value = re.sub(r"\$\{(\w+)(:[-?][^}]*)?\}", lambda m: COMPOSE_VARIABLES[m[1]], value)
    assert "$" not in value, value
    return value


def rekap_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    return {name: s for name, s in services.items() if "build" in s}


def test_compose_file_follows_the_compose_specification(tmp_path: Path) -> None:
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec"]
    result = subprocess.run([*command, str(COMPOSE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    misspelt = tmp_path / "compose.yaml"
    misspelt.write_text(COMPOSE.read_text().replace("    depends_on:", "    depends_onn:", 1))
    result = subprocess.run(
        [*command, str(misspelt)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1 and "depends_onn" in result.stdout, "the schema check accepts anything"


def test_compose_runs_the_rekap_commands_of_make_demo() -> None:
    """rekap demo migrates, serves and starts a worker; Compose runs the same three commands."""
    commands = {}
    for name, service in rekap_services().items():
        args = check_rekap_command(service["command"], f"compose service {name}")
        commands[(args.command, getattr(args, "db_command", None))] = name
    assert set(commands) == {("db", "migrate"), ("serve", None), ("worker", None), ("audit", None)}
    services = compose()["services"]
    migrate = commands[("db", "migrate")]
    for name in (commands[("serve", None)], commands[("worker", None)]):
        assert services[name]["depends_on"][migrate] == {"condition": "service_completed_successfully"}


def test_compose_settings_are_rekap_settings() -> None:
    photos = set()
    for name, service in rekap_services().items():
        env = {key: interpolate(str(value)) for key, value in service["environment"].items()}
        settings = check_settings(env, f"compose service {name}")
        mounts = dict(reversed(volume.split(":")[:2]) for volume in service.get("volumes", []))
        assert mounts.get(settings.storage_dir), f"{name}: nothing mounted at REKAP_STORAGE_DIR"
        photos.add(mounts[settings.storage_dir])
    assert len(photos) == 1, f"the API and the workers must share one photo volume, not {photos}"
    assert photos <= set(compose()["volumes"])


def test_compose_nginx_fronts_the_api() -> None:
    services = compose()["services"]
    nginx = services["nginx"]
    (conf_source,) = [
        source
        for source, target, *_ in (volume.split(":") for volume in nginx["volumes"])
        if target.startswith("/etc/nginx/conf.d/")
    ]
    assert (DEPLOY / conf_source).resolve() == NGINX_CONF
    conf = NginxConf.read()
    assert {port.split(":")[-1] for port in nginx["ports"]} == {conf.server.first("listen")[0]}
    host, port = conf.upstream_address()
    api = check_rekap_command(services[host]["command"], f"compose service {host}")
    assert api.command == "serve" and api.port == port
    assert str(port) in services[host]["expose"]
    assert nginx["depends_on"][host] == {"condition": "service_healthy"}


# --- Kubernetes ------------------------------------------------------------------------------------


@functools.cache
def kustomization() -> dict[str, Any]:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


@functools.cache
def manifests() -> list[dict[str, Any]]:
    """Every object kustomize would apply (resources of the kustomization, in order)."""
    return [
        doc
        for name in kustomization()["resources"]
        for doc in yaml.safe_load_all((K8S / name).read_text())
        if doc
    ]


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in manifests():
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{doc['kind']} {doc['metadata']['name']}", doc["spec"]["template"]


def rekap_containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, pod spec, container) of every container that runs the rekap image."""
    images = {image["name"] for image in kustomization()["images"]}
    for where, template in pod_specs():
        for container in template["spec"]["containers"]:
            if container["image"] in images:
                yield f"{where}/{container['name']}", template["spec"], container


def container_env(container: dict[str, Any]) -> dict[str, str]:
    config_maps = objects("ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]]["data"])
    for variable in container.get("env", []):
        if "value" in variable:  # $(NAME) names a variable defined before it, as Kubernetes expands it
            env[variable["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], variable["value"])
        else:
            env[variable["name"]] = SECRET_VALUES[variable["valueFrom"]["secretKeyRef"]["key"]]
    return env


def test_kustomization_lists_every_manifest() -> None:
    listed = set(kustomization()["resources"])
    present = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert all(doc["metadata"].get("namespace") is None for doc in manifests()), (
        "the kustomization sets the namespace"
    )


@pytest.mark.skipif(not shutil.which("kubectl"), reason="kubectl is not installed (an extra check)")
def test_kustomize_builds_the_manifests() -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(built) == len(manifests())
    assert all(doc["metadata"].get("namespace", "rekap") == "rekap" for doc in built)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_follow_the_kubernetes_api(version: str) -> None:
    for doc in manifests():
        if (doc["apiVersion"], doc["kind"]) in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {path}: {error.message}")

    api = copy.deepcopy(objects("Deployment")["api"])
    api["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(api, version, strict=True)


@pytest.mark.parametrize("path", [K8S / "postgres.yaml", K8S / "optional" / "keda-worker.yaml"])
def test_custom_resources_follow_their_schemas(path: Path) -> None:
    """CloudNativePG and KEDA objects against the hand-checked schemas of tests/resources/schemas."""
    (doc,) = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    schema = json.loads((SCHEMAS / CUSTOM_KINDS[(doc["apiVersion"], doc["kind"])]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)

    broken = copy.deepcopy(doc)
    broken["spec"]["replicas"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_postgres_is_a_primary_with_two_replicas_behind_the_api() -> None:
    (cluster,) = objects("Cluster").values()
    assert cluster["spec"]["instances"] == 3
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    # CloudNativePG writes the owner's connection URL (to the -rw Service) into <cluster>-app, key
    # uri: only the migration uses it. The rest log in as the managed role rekap_app (least privilege).
    refs = {
        (where.split("/")[0], v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
        for where, _, container in rekap_containers()
        for v in container.get("env", [])
        if v["name"] in ("REKAP_DATABASE_URL", "REKAP_DATABASE_OWNER_URL") and "valueFrom" in v
    }
    assert refs == {("Job migrate", f"{cluster['metadata']['name']}-app", "uri")}
    assert initdb["owner"] == initdb["database"] == "rekap"
    (role,) = cluster["spec"]["managed"]["roles"]
    assert role["name"] == "rekap_app" and role["login"] and not role["superuser"]
    for where, _, container in rekap_containers():
        users = [v["valueFrom"]["secretKeyRef"]["name"] for v in container["env"] if v["name"] == "DB_USER"]
        assert users == [role["passwordSecret"]["name"]], where


def test_kubernetes_runs_rekap_commands_with_rekap_settings() -> None:
    commands = set()
    for where, pod, container in rekap_containers():
        args = check_rekap_command(container["command"], where)
        commands.add((args.command, getattr(args, "db_command", None)))
        settings = check_settings(container_env(container), where)
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        if args.command in ("serve", "worker"):
            volume = {v["name"]: v for v in pod["volumes"]}[mounts[settings.storage_dir]]
            assert volume["persistentVolumeClaim"]["claimName"] in objects("PersistentVolumeClaim")
        if args.command == "serve":
            assert {p["containerPort"] for p in container["ports"]} == {args.port}
    assert commands == {("db", "migrate"), ("serve", None), ("worker", None), ("audit", None)}
    (claim,) = objects("PersistentVolumeClaim").values()
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_kubernetes_references_resolve() -> None:
    """Services, autoscalers and disruption budgets select pods that exist; config maps and
    volume claims that pods use are defined; autoscaled containers request CPU."""
    templates = {name: template for name, template in pod_specs()}
    workloads = {**objects("Deployment"), **objects("StatefulSet")}

    def selects(selector: dict[str, str]) -> list[str]:
        return [
            name
            for name, template in templates.items()
            if selector.items() <= template["metadata"]["labels"].items()
        ]

    for name, service in objects("Service").items():
        assert selects(service["spec"]["selector"]), f"Service {name} selects no pods"
    for name, budget in objects("PodDisruptionBudget").items():
        assert selects(budget["spec"]["selector"]["matchLabels"]), f"PDB {name} selects no pods"
    for name, scaler in objects("HorizontalPodAutoscaler").items():
        target = workloads[scaler["spec"]["scaleTargetRef"]["name"]]
        for container in target["spec"]["template"]["spec"]["containers"]:
            assert "cpu" in container["resources"]["requests"], f"HPA {name}: no CPU request"
    for where, template in templates.items():
        spec = template["spec"]
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in objects("ConfigMap"), where
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in objects("PersistentVolumeClaim")
        for container in spec["containers"]:
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in objects("ConfigMap"), where


def test_pods_meet_the_restricted_pod_security_profile() -> None:
    for where, template in pod_specs():
        spec = template["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys(), where
            assert "memory" in container["resources"]["limits"], where


def test_api_probes_ask_real_routes(app: Litestar) -> None:
    (api,) = [c for _, _, c in rekap_containers() if c["command"][1] == "serve"]
    ports = {port["name"] for port in api["ports"]}
    probes = {kind: api[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")}
    for kind, probe in probes.items():
        assert probe["path"] in route_paths(app), f"{kind}: {probe['path']} is not a route"
        assert probe["port"] in ports, kind
    # Ready only with PostgreSQL, Redis and the schema; alive even without them (a restart would not help).
    assert probes["readinessProbe"]["path"] == "/health"
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/health/live"


def test_kubernetes_nginx_runs_deploy_nginx_conf() -> None:
    (config,) = [c for c in objects("ConfigMap").values() if "rekap.conf" in c["data"]]
    assert config["data"]["rekap.conf"] == NGINX_CONF.read_text(), (
        "deploy/k8s/nginx.yaml's ConfigMap must hold deploy/nginx/rekap.conf unchanged"
    )
    conf = NginxConf.read()
    pod = objects("Deployment")["nginx"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    assert mounts["/etc/nginx/conf.d"]["configMap"]["name"] == config["metadata"]["name"]
    cache = Path(conf.first("proxy_cache_path")[0])
    assert "emptyDir" in mounts[str(cache.parent)], "the cache folder must be writable"
    assert [p["containerPort"] for p in container["ports"]] == [int(conf.server.first("listen")[0])]
    for kind in ("readinessProbe", "livenessProbe"):
        assert ("=", container[kind]["httpGet"]["path"]) in conf.locations()
    host, port = conf.upstream_address()
    assert [p["port"] for p in objects("Service")[host]["spec"]["ports"]] == [port]


def test_optional_keda_scaler_watches_the_ocr_queue() -> None:
    scaler = yaml.safe_load((K8S / "optional" / "keda-worker.yaml").read_text())
    (trigger,) = scaler["spec"]["triggers"]
    (worker,) = objects("Deployment")["worker"]["spec"]["template"]["spec"]["containers"]
    settings = check_settings(container_env(worker), "Deployment worker")
    assert trigger["metadata"]["stream"] == OcrQueue(None, settings.redis_prefix).stream
    assert trigger["metadata"]["consumerGroup"] == GROUP
    assert scaler["spec"]["scaleTargetRef"]["name"] == "worker"
    redis_host = urlsplit(settings.redis_url).hostname
    assert trigger["metadata"]["address"] == f"{redis_host}.{kustomization()['namespace']}.svc:6379"
    assert redis_host in objects("Service")
    assert scaler["metadata"]["namespace"] == kustomization()["namespace"]


# --- nginx -----------------------------------------------------------------------------------------


class Block:
    """One nginx block: its directives (name, arguments) and nested blocks, in order."""

    def __init__(self, name: str, args: list[str]) -> None:
        self.name, self.args = name, args
        self.directives: list[tuple[str, list[str]]] = []
        self.children: list[Block] = []

    def first(self, name: str) -> list[str]:
        return next(args for directive, args in self.directives if directive == name)

    def has(self, name: str, *args: str) -> bool:
        return any(directive == name and list(args) <= given for directive, given in self.directives)

    def blocks(self, name: str) -> list[Block]:
        return [child for child in self.children if child.name == name]


class NginxConf(Block):
    """deploy/nginx/rekap.conf as blocks and directives: a small reader for the subset of nginx's
    syntax it uses (no braces or semicolons inside quotes)."""

    @classmethod
    def read(cls) -> NginxConf:
        text = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
        root = cls("http", [])
        stack: list[Block] = [root]
        words: list[str] = []
        for token in re.findall(r'"[^"]*"|[{};]|[^\s{};]+', text):
            if token == "{":
                block = Block(words[0], words[1:])
                stack[-1].children.append(block)
                stack.append(block)
                words = []
            elif token == ";":
                stack[-1].directives.append((words[0], words[1:]))
                words = []
            elif token == "}":
                stack.pop()
            else:
                words.append(token.strip('"'))
        assert stack == [root] and not words, "unbalanced braces in rekap.conf"
        return root

    @property
    def server(self) -> Block:
        (server,) = self.blocks("server")
        return server

    def upstream_address(self) -> tuple[str, int]:
        (upstream,) = self.blocks("upstream")
        (address,) = upstream.first("server")
        host, port = address.split(":")
        return host, int(port)

    def locations(self) -> dict[tuple[str, str], Block]:
        return {
            (block.args[0], block.args[1]) if len(block.args) == 2 else ("", block.args[0]): block
            for block in self.server.blocks("location")
        }

    def location_for(self, path: str) -> Block:
        """The location nginx picks for ``path``: an exact match, else the longest prefix."""
        locations = self.locations()
        if ("=", path) in locations:
            return locations[("=", path)]
        prefixes = [p for (modifier, p) in locations if not modifier and path.startswith(p)]
        return locations[("", max(prefixes, key=len))]


PUBLIC_PAGES = ("/hasil", "/static", "/api/v1/public/audit")
"""The public results pages, the pages' assets and the audit checkpoints, cached like the public API."""


def public_handlers(app: Litestar) -> Iterator[tuple[str, Any]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            public = handler.fn.__qualname__.startswith("PublicController.") or route.path.startswith(
                PUBLIC_PAGES
            )
            if public and "GET" in handler.http_methods:
                yield route.path, handler


def test_nginx_caches_public_documents_and_passes_the_rest(app: Litestar) -> None:
    conf = NginxConf.read()
    public = set()
    for path, handler in public_handlers(app):
        public.add(path)
        location = conf.location_for(path.split("{")[0])
        streamed = handler.media_type == "text/event-stream" or "Stream" in str(
            handler.fn.__annotations__.get("return")
        )
        if streamed:
            assert location.has("proxy_buffering", "off") and location.has("proxy_cache", "off"), path
        else:
            assert location.has("proxy_cache"), f"{path} is a public document but nginx does not cache it"
        if handler.media_type == "text/event-stream":
            assert ("=", path) in conf.locations(), f"the live feed {path} needs its own location"
    for path in route_paths(app) - public:
        location = conf.location_for(path.split("{")[0])
        assert not location.has("proxy_cache") or location.has("proxy_cache", "off"), path
    for location in conf.locations().values():
        assert not location.has("proxy_set_header"), "a location's own proxy_set_header drops the server's"
        assert not location.has("proxy_cache_valid"), "only the API's Cache-Control decides what is stored"


def test_nginx_lets_through_the_largest_upload_the_api_accepts() -> None:
    """The API names its own limit (413 with a reason) only if nginx passes the body on."""
    limit = NginxConf.read().server.first("client_max_body_size")[0]
    assert limit.endswith("m")
    environments = {
        f"compose service {name}": {k: interpolate(str(v)) for k, v in service["environment"].items()}
        for name, service in rekap_services().items()
    }
    environments.update({where: container_env(container) for where, _, container in rekap_containers()})
    for where, env in environments.items():
        largest = upload_body_limit(Settings.from_env(env))
        assert int(limit[:-1]) * 1024 * 1024 >= largest, f"{where}: the API accepts {largest} bytes"


def nginx_test_config(folder: Path, upstream_port: int, listen_port: int) -> Path:
    """deploy/nginx/rekap.conf in a main configuration of its own under ``folder``, with the
    upstream at 127.0.0.1 (nginx resolves host names when it reads the file)."""
    host, port = NginxConf.read().upstream_address()
    conf = NGINX_CONF.read_text()
    for old, new in (
        (f"server {host}:{port};", f"server 127.0.0.1:{upstream_port};"),
        ("/var/cache/nginx/rekap", str(folder / "cache")),
        ("listen 8080;", f"listen 127.0.0.1:{listen_port};"),
    ):
        assert conf.count(old) == 1, old
        conf = conf.replace(old, new)
    (folder / "rekap.conf").write_text(conf)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = folder / "nginx.conf"
    main.write_text(
        f"daemon off;\nmaster_process off;\npid {folder / 'nginx.pid'};\nerror_log stderr warn;\n"
        f"events {{}}\nhttp {{\n  access_log off;\n  {temp}\n  include {folder / 'rekap.conf'};\n}}\n"
    )
    return main


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    main = nginx_test_config(tmp_path, upstream_port=8000, listen_port=8080)
    result = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr


class Upstream(http.server.ThreadingHTTPServer):
    """Stands where the API would: a public document, a private answer, a held-open live feed
    and an upload, counting what reaches it."""

    daemon_threads = True

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.release_feed = threading.Event()
        super().__init__(("127.0.0.1", 0), UpstreamHandler)


class UpstreamHandler(http.server.BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        if self.path == "/api/v1/public/ppwp/changes":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"id: 1\ndata: first\n\n")
            self.wfile.flush()
            self.server.release_feed.wait(10)
            self.wfile.write(b"id: 2\ndata: second\n\n")
            return
        body = b'{"version": 1}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.path.startswith("/api/v1/public/"):
            self.send_header("Cache-Control", "public, max-age=5, stale-while-revalidate=30")
            self.send_header("ETag", '"v1"')
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        size = int(self.headers["Content-Length"])
        while size:
            size -= len(self.rfile.read(min(size, 1 << 20)))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def nginx_in_front(tmp_path: Path) -> Iterator[tuple[int, Upstream]]:
    upstream = Upstream()
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    port = free_port()
    main = nginx_test_config(tmp_path, upstream.server_address[1], port)
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(tmp_path), "-c", str(main)], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "nginx did not start"
                time.sleep(0.05)
        yield port, upstream
    finally:
        upstream.release_feed.set()
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_nginx_serves_documents_from_its_cache_and_streams_the_feed(
    nginx_in_front: tuple[int, Upstream], app: Litestar
) -> None:
    port, upstream = nginx_in_front
    document = "/api/v1/public/ppwp/regions/34"
    first, second = get(port, document), get(port, document)
    assert (first.status, first.getheader("X-Cache-Status")) == (200, "MISS")
    assert (second.status, second.getheader("X-Cache-Status")) == (200, "HIT")
    assert get(port, document, {"If-None-Match": '"v1"'}).status == 304
    assert upstream.hits[document] == 1

    private = "/api/v1/auth/me"
    assert get(port, private).getheader("X-Cache-Status") is None
    get(port, private)
    assert upstream.hits[private] == 2

    # The first event arrives while the API still holds the stream open: nothing is buffered.
    feed = socket.create_connection(("127.0.0.1", port), timeout=5)
    feed.sendall(b"GET /api/v1/public/ppwp/changes HTTP/1.1\r\nHost: rekap\r\n\r\n")
    received = b""
    while b"data: first" not in received:
        chunk = feed.recv(4096)
        assert chunk, received
        received += chunk
    assert b"data: second" not in received
    upstream.release_feed.set()
    feed.close()

    largest = upload_body_limit(Settings())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/v1/tps/3471010001001/ppwp/photos", body=b"\0" * largest)
    assert connection.getresponse().status == 201
    connection.close()
