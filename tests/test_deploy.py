"""The deployment files agree: docker-compose.yml runs exactly what supervisord.conf runs.

Fast and offline: these tests parse supervisord.conf, docker-compose.yml, the Dockerfile and the
nginx-rtmp config. They start nothing and need no Docker.

Commands are compared as argument lists, after resolving what each tool would resolve itself:
supervisord's `%(ENV_X)s` takes the value X has in the compose service's environment (that
environment is what the process sees in the container), `%%` is a literal `%`, and compose's
`${X:-default}` interpolation is resolved as on a host that sets nothing (so the file must work
without a .env). Whitespace, quoting and list-versus-string form make no difference.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from core.config import load_settings
from tests.support.supervisord import SUPERVISORD_CONF, supervisord_argv, supervisord_programs

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX_RTMP_CONF = ROOT / "deploy" / "nginx-rtmp.conf"
CONFIG_MODULE = ROOT / "core" / "config.py"

# supervisord runs its own Redis only when none answers; compose always has a `redis` service.
NOT_APP_PROGRAMS = frozenset({"redis"})
# Compose always has an API token (API_TOKEN, or the one kept in API_TOKEN_FILE), so the
# opt-out from it, ALLOW_NO_TOKEN, is not passed on. (REDIS_PASSWORD is: the redis service
# requires it when set, and a render machine reaches the control plane's Redis with it.)
NOT_PASSED_SETTINGS = frozenset({"ALLOW_NO_TOKEN"})
REDIS_SHARED = ROOT / "deploy" / "redis-shared.yml"
# The control plane runs once; render nodes scale.
CONTROL_PLANE = ("api", "preview", "worker", "beat", "flower", "redis")

_COMPOSE_EXPANSION = re.compile(
    r"\$(?:(?P<dollar>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
_SETTING_READ = re.compile(r"""env\.get\(\s*["']([A-Z][A-Z0-9_]*)["']""")


APP_PROGRAMS = sorted(set(supervisord_programs()) - NOT_APP_PROGRAMS)


def compose_interpolate(text: str, host: Mapping[str, str] | None = None) -> str:
    """`text` with compose's `$`-interpolation resolved as on a host that sets the variables
    `host` (by default none)."""

    def replace(match: re.Match[str]) -> str:
        if match["dollar"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"]
        value = (host or {}).get(name)
        if value is not None and (value or op is None or not op.startswith(":")):
            return arg if op in (":+", "+") else value
        if op in ("-", ":-"):
            return arg
        if op in ("?", ":?"):
            pytest.fail(f"docker-compose.yml requires {name} from the host: {arg}")
        return ""  # unset: plain ${X} and $X are empty, ${X:+alt} is empty too

    return _COMPOSE_EXPANSION.sub(replace, text)


def _interpolate_tree(node: Any, host: Mapping[str, str] | None = None) -> Any:
    if isinstance(node, str):
        return compose_interpolate(node, host)
    if isinstance(node, list):
        return [_interpolate_tree(item, host) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(value, host) for key, value in node.items()}
    return node


@cache
def _raw_compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as stream:
        document = yaml.safe_load(stream)
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


def _compose(**host: str) -> dict[str, Any]:
    """docker-compose.yml as on a host whose environment (or .env) sets `host`."""
    return _interpolate_tree(_raw_compose(), host)


@pytest.fixture
def compose() -> dict[str, Any]:
    """docker-compose.yml parsed (anchors and `<<` merges applied) and interpolated."""
    return _compose()


@pytest.fixture
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services by name."""
    return compose["services"]


def app_services(services: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The services built from the project's Dockerfile."""
    return {name: service for name, service in services.items() if "build" in service}


def service_environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either compose form, as strings (unset names left out)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        pairs = [item.split("=", 1) for item in raw if "=" in item]
        return {key: value for key, value in pairs}
    return {key: _scalar(value) for key, value in raw.items() if value is not None}


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def compose_argv(service: Mapping[str, Any]) -> list[str]:
    """A service's `command` as the argument list the container runs."""
    command = service.get("command")
    assert command, "the service has no command"
    if isinstance(command, str):
        return shlex.split(command)
    return [_scalar(item) for item in command]


def named_volume_mounts(service: Mapping[str, Any], volumes: Mapping[str, Any]) -> list[str]:
    """Container paths where `service` mounts one of the top-level named `volumes`."""
    targets = []
    for mount in service.get("volumes") or []:
        if isinstance(mount, str):
            source, _, rest = mount.partition(":")
            target = rest.split(":", 1)[0]
        else:
            source, target = mount.get("source", ""), mount.get("target", "")
        if source in volumes:
            targets.append(target)
    return targets


def test_command_resolution_rules() -> None:
    """The helpers resolve what compose and supervisord resolve, and nothing else."""
    assert compose_interpolate("a${X:-1}b$$c${Y}d${Z-2}$W") == "a1b$cd2"
    assert supervisord_argv(
        "worker", "celery -A  workers --hostname w@%%h --port %(ENV_P)s", {"P": "5"}
    ) == ["celery", "-A", "workers", "--hostname", "w@%h", "--port", "5"]
    assert compose_argv({"command": 'redis-server --save ""'}) == ["redis-server", "--save", ""]
    assert compose_argv({"command": ["gunicorn", "--workers", 2]}) == ["gunicorn", "--workers", "2"]
    host = {"X": "9", "E": ""}
    assert compose_interpolate("${X:-1} ${X} ${E:-2} ${E-3} ${X:+y} ${U:-4}", host) == "9 9 2  y 4"


def test_supervisord_has_app_programs() -> None:
    """supervisord.conf parses and defines the processes the design names."""
    assert {"api", "worker", "beat"} <= set(APP_PROGRAMS)


@pytest.mark.parametrize("program", APP_PROGRAMS)
def test_compose_runs_the_supervisord_command(
    program: str, services: dict[str, dict[str, Any]]
) -> None:
    """Each supervisord program is a compose service running the very same command."""
    assert program in services, f"docker-compose.yml has no service for [program:{program}]"
    service = services[program]
    expected = supervisord_argv(
        program, supervisord_programs()[program], service_environment(service)
    )
    assert compose_argv(service) == expected


def test_every_app_service_is_a_supervisord_program(services: dict[str, dict[str, Any]]) -> None:
    """No process runs only under compose: `make run` starts the same set."""
    assert sorted(app_services(services)) == APP_PROGRAMS


def test_every_service_restarts(services: dict[str, dict[str, Any]]) -> None:
    """Compose restarts a dead process, as supervisord's autorestart does."""
    for name, service in services.items():
        assert service.get("restart") in ("unless-stopped", "always"), name


def test_app_services_share_one_image(services: dict[str, dict[str, Any]]) -> None:
    """The app services build one image from the project's Dockerfile."""
    apps = app_services(services)
    builds = {repr(service["build"]) for service in apps.values()}
    images = {service.get("image") for service in apps.values()}
    assert len(builds) == 1, builds
    assert len(images) == 1 and None not in images, images
    build = next(iter(apps.values()))["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert (COMPOSE_FILE.parent / context / dockerfile).resolve() == DOCKERFILE


def test_app_services_wait_for_healthy_redis(services: dict[str, dict[str, Any]]) -> None:
    """The app services start once Redis answers, and reach it by its service name."""
    for name, service in app_services(services).items():
        depends_on = service.get("depends_on")
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form"
        assert depends_on.get("redis", {}).get("condition") == "service_healthy", name
        settings = load_settings(service_environment(service))
        assert settings.redis_url.startswith("redis://redis:6379/"), name


def test_app_environment_is_valid_and_on_a_volume(compose: dict[str, Any]) -> None:
    """Each app service's environment loads, and its media and recordings live on a volume."""
    volumes = compose.get("volumes") or {}
    for name, service in app_services(compose["services"]).items():
        settings = load_settings(service_environment(service))
        mounts = [PurePosixPath(target) for target in named_volume_mounts(service, volumes)]
        for path in (settings.media_root, settings.recordings_dir):
            container_path = PurePosixPath(path.as_posix())
            assert container_path.is_absolute(), f"{name}: {path} is relative"
            assert any(container_path.is_relative_to(mount) for mount in mounts), (
                f"{name}: {path} is not on a named volume"
            )


def test_app_environment_passes_every_setting(services: dict[str, dict[str, Any]]) -> None:
    """Every variable core/config.py reads can be set for the compose deployment."""
    read = set(_SETTING_READ.findall(CONFIG_MODULE.read_text(encoding="utf-8")))
    assert {"PORT", "REDIS_URL", "MEDIA_ROOT"} <= read, "core/config.py changed its style"
    for name, service in app_services(services).items():
        missing = read - NOT_PASSED_SETTINGS - set(service_environment(service))
        assert not missing, f"{name} does not pass {sorted(missing)}"


def test_api_healthcheck_asks_health_on_its_port(services: dict[str, dict[str, Any]]) -> None:
    """Compose checks the API through GET /health on the port it listens on."""
    api = services["api"]
    port = load_settings(service_environment(api)).port
    assert port == 4200
    assert f"0.0.0.0:{port}" in compose_argv(api)
    test = api["healthcheck"]["test"]
    text = test if isinstance(test, str) else " ".join(test)
    assert f"127.0.0.1:{port}/health" in text or f"localhost:{port}/health" in text
    assert any(str(published).endswith(f":{port}") for published in api.get("ports", []))


def test_supervisord_listens_on_host() -> None:
    """`make run` binds its servers to HOST (127.0.0.1 unless set), never to a fixed address."""
    binds = {program: shlex.split(command)[shlex.split(command).index("--bind") + 1]
             for program, command in supervisord_programs().items() if "--bind" in command}
    assert binds.pop("redis") == "127.0.0.1"  # Redis never listens beyond this machine
    assert set(binds) == {"api", "preview"}, binds
    for program, bind in binds.items():
        assert bind.startswith("%(ENV_HOST)s:"), (program, bind)
    assert "0.0.0.0" not in SUPERVISORD_CONF.read_text(encoding="utf-8")


def test_compose_listens_everywhere_with_a_token(compose: dict[str, Any]) -> None:
    """In compose every process listens on all of its container's interfaces, and the API
    always has a token: API_TOKEN, or one kept on the shared volume (API_TOKEN_FILE)."""
    volumes = compose.get("volumes") or {}
    for name, service in app_services(compose["services"]).items():
        settings = load_settings(service_environment(service))
        assert settings.host == "0.0.0.0", name
        assert settings.api_token_file is not None and not settings.open_without_token, name
        token_file = PurePosixPath(settings.api_token_file.as_posix())
        mounts = [PurePosixPath(target) for target in named_volume_mounts(service, volumes)]
        assert any(token_file.is_relative_to(mount) for mount in mounts), name


def test_redis_is_persistent_and_checked(compose: dict[str, Any]) -> None:
    """Redis keeps an append-only file on a named volume and is health-checked with PING."""
    redis = compose["services"]["redis"]
    assert str(redis["image"]).startswith("redis:7")
    argv = redis["command"] if isinstance(redis["command"], list) else shlex.split(
        redis["command"]
    )
    assert "--appendonly" in argv and argv[argv.index("--appendonly") + 1] == "yes"
    assert "/data" in named_volume_mounts(redis, compose.get("volumes") or {})
    test = redis["healthcheck"]["test"]
    assert "redis-cli ping" in (test if isinstance(test, str) else " ".join(test))


def test_rtmp_sink_uses_the_project_config(services: dict[str, dict[str, Any]]) -> None:
    """The nginx-rtmp sink listens on 1935 with deploy/nginx-rtmp.conf as its nginx.conf."""
    rtmp = services["rtmp"]
    assert "nginx-rtmp" in str(rtmp["image"])
    assert any(str(port).split(":")[-1] == "1935" for port in rtmp.get("ports", []))
    sources = [
        (COMPOSE_FILE.parent / mount.split(":", 1)[0]).resolve()
        for mount in rtmp.get("volumes", [])
        if isinstance(mount, str) and mount.startswith(".")
    ]
    assert NGINX_RTMP_CONF in sources


def test_nginx_rtmp_conf() -> None:
    """deploy/nginx-rtmp.conf has a live application on 1935 that drops idle publishers."""
    text = re.sub(r"#[^\n]*", "", NGINX_RTMP_CONF.read_text(encoding="utf-8"))
    assert text.count("{") == text.count("}")
    assert re.search(r"\brtmp\s*\{", text) and re.search(r"\bevents\s*\{", text)
    assert re.search(r"\blisten\s+1935\s*;", text)
    application = re.search(r"\bapplication\s+live\s*\{([^}]*)\}", text)
    assert application, "no `application live` block"
    directives = {" ".join(line.split()) for line in application[1].split(";") if line.strip()}
    assert {"live on", "record off", "drop_idle_publisher 5s"} <= directives
    # The image's command passes `daemon off;`; repeating it makes nginx refuse to start.
    assert not re.search(r"^\s*daemon\b", text, re.MULTILINE)


def test_dockerfile_is_python_311_and_unprivileged() -> None:
    """The image is python:3.11, installs the project, and drops root."""
    lines = [
        line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert froms and froms[0].startswith("python:3.11"), froms
    assert any(line.upper().startswith("RUN ") and "pip install ." in line for line in lines)
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users


# ---- channels on a pool of render nodes (issue 17) ---------------------------------------------

SHELL_OPERATORS = re.compile(r"[()<>|&;`]")


def test_string_commands_split_as_compose_splits_them(services: dict[str, dict[str, Any]]) -> None:
    """Compose v2 splits a string `command` with shell-words rules and refuses an unquoted shell
    operator (`wsgi:api()` made `docker compose up` fail: "invalid command line string")."""
    for name, service in services.items():
        command = service.get("command")
        if not isinstance(command, str):
            continue
        lexer = shlex.shlex(command, posix=True, punctuation_chars="()<>|&;")
        lexer.whitespace_split = True
        operators = [token for token in lexer if SHELL_OPERATORS.fullmatch(token[:1])]
        assert not operators, f"{name}: quote {operators} in its command"


def test_render_nodes_scale_and_the_control_plane_runs_once(
        services: dict[str, dict[str, Any]]) -> None:
    """`docker compose up --scale render=N` runs N render nodes (2 by default; no
    deploy.replicas to disagree with --scale, no host port for replicas to fight over); every
    other service runs once."""
    render = services["render"]
    assert render.get("scale") == 2
    assert "replicas" not in (render.get("deploy") or {})
    assert not render.get("ports"), "scaled replicas cannot share a published port"
    assert compose_argv(render)[-2:] == ["--instance", "0"]  # each replica in its container
    for name in CONTROL_PLANE:
        assert services[name].get("scale", 1) == 1, name
        assert (services[name].get("deploy") or {}).get("replicas", 1) == 1, name


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "m" else 1)


def test_a_render_node_may_drain_before_it_is_killed(services: dict[str, dict[str, Any]]) -> None:
    """Stopping a render node (compose's stop_grace_period, supervisord's stopwaitsecs) waits
    for its drain and for its channel processes to close their streams; make run runs two."""
    import configparser

    from render.node import CHILD_STOP_TIMEOUT, DRAIN_TIMEOUT

    needed = DRAIN_TIMEOUT + CHILD_STOP_TIMEOUT
    assert _seconds(services["render"]["stop_grace_period"]) >= needed
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SUPERVISORD_CONF, encoding="utf-8")
    program = parser["program:render"]
    assert int(program["numprocs"]) == 2
    assert int(program["stopwaitsecs"]) >= needed
    assert program.getboolean("killasgroup") and not program.getboolean("stopasgroup", False)


def test_a_render_machine_uses_the_control_planes_redis_and_shared_data() -> None:
    """On another host, REDIS_URL, REDIS_PASSWORD and APP_DATA (a shared directory) in its .env
    make its render nodes use the control plane's Redis and the same media and recordings."""
    compose = _compose(REDIS_URL="redis://control:6379/0", REDIS_PASSWORD="s3cret",
                       APP_DATA="/mnt/stream-manager")
    render = compose["services"]["render"]
    settings = load_settings(service_environment(render))
    assert settings.redis_url == "redis://control:6379/0"
    assert settings.redis_password == "s3cret"
    assert "/mnt/stream-manager:/var/lib/stream-manager" in render["volumes"]
    for path in (settings.media_root, settings.recordings_dir):
        assert PurePosixPath(path.as_posix()).is_relative_to("/var/lib/stream-manager")
    # the control plane's own Redis then asks for that password, and its health check gives it
    redis = compose["services"]["redis"]
    argv = compose_argv(redis)
    assert argv[argv.index("--requirepass") + 1] == "s3cret"
    assert service_environment(redis)["REDIS_PASSWORD"] == "s3cret"
    assert "REDISCLI_AUTH=" in " ".join(redis["healthcheck"]["test"])


def test_without_a_password_redis_has_none_and_stays_on_the_project_network(
        compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    argv = compose_argv(redis)
    assert argv[argv.index("--requirepass") + 1] == ""  # an empty requirepass: no password
    assert not redis.get("ports")
    for name, service in app_services(compose["services"]).items():
        assert load_settings(service_environment(service)).redis_password is None, name


def test_the_shared_redis_override_publishes_redis_only_with_a_password() -> None:
    """deploy/redis-shared.yml publishes Redis for render machines and makes compose refuse to
    start without REDIS_PASSWORD."""
    override = yaml.safe_load(REDIS_SHARED.read_text(encoding="utf-8"))
    redis = override["services"]["redis"]
    assert re.fullmatch(r"\$\{REDIS_PASSWORD:\?[^}]+\}", redis["environment"]["REDIS_PASSWORD"])
    published = [compose_interpolate(port) for port in redis["ports"]]
    assert published == ["6379:6379"]
    with pytest.raises(pytest.fail.Exception, match="REDIS_PASSWORD"):
        compose_interpolate(redis["environment"]["REDIS_PASSWORD"])
    assert compose_interpolate(redis["environment"]["REDIS_PASSWORD"],
                               {"REDIS_PASSWORD": "s3cret"}) == "s3cret"
