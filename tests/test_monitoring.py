"""The monitoring files under deploy/ work and speak the metrics contract.

- promtool (Debian's `prometheus` package; `make test` installs it) accepts the scrape config
  and the alert rules, the rule unit tests in deploy/prometheus/alerts.test.yml pass, and every
  alert has there a case where it fires and one where it must not;
- the Grafana dashboard loads, every panel has the `${datasource}` datasource and queries, and
  every query is valid PromQL (promtool checks them as recording rules);
- every metric the dashboard and the rules use is in METRICS below, with its labels and label
  values, and every job they select on is one prometheus.yml scrapes, on the default ports.

Fast and offline: nothing is started but promtool.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULES = PROMETHEUS_DIR / "alerts.yml"
RULE_TESTS = PROMETHEUS_DIR / "alerts.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "stream-manager.json"

# The metrics contract: name -> (type, {label: its values, or None when free}). Every series
# also has the `job` and `instance` labels Prometheus adds. Flower's own `flower_*` metrics are
# allowed as they are. Every figure of a channel has the `channel` label (CHANNEL): the API's
# per-channel ones and every render figure (a node merges its channel processes' figures,
# adding it); docs/operations.md, "Metrics", lists the label set.
FREE = None
OUTPUT_STATES = ("connecting", "live", "reconnecting", "failed", "stopped")
CHANNEL: dict[str, tuple[str, ...] | None] = {"channel": FREE}
METRICS: dict[str, tuple[str, dict[str, tuple[str, ...] | None]]] = {
    # API process (job stream-manager-api)
    "stream_manager_api_http_request_duration_seconds": (
        "histogram", {"method": FREE, "endpoint": FREE, "status": FREE}),
    "stream_manager_api_requests_total": (
        "counter", {"method": FREE, "endpoint": FREE, "status": FREE}),
    "stream_manager_api_redis_command_duration_seconds": ("histogram", {"command": FREE}),
    "stream_manager_redis_up": ("gauge", {}),
    "stream_manager_redis_ping_seconds": ("gauge", {}),
    "stream_manager_layers": ("gauge", CHANNEL),
    "stream_manager_layers_visible": ("gauge", CHANNEL),
    "stream_manager_stream_desired_state": (
        "gauge", {**CHANNEL, "state": ("live", "paused", "stopped")}),
    "stream_manager_channel_placed": ("gauge", CHANNEL),
    "stream_manager_render_heartbeat_age_seconds": ("gauge", CHANNEL),
    "stream_manager_health_checks_total": (
        "counter", {**CHANNEL, "check": ("render", "preview_clients", "chat")}),
    "stream_manager_health_render_stale_total": ("counter", CHANNEL),
    "stream_manager_health_last_check_timestamp_seconds": ("gauge", CHANNEL),
    "stream_manager_cue_runs_total": (
        "counter", {**CHANNEL, "result": ("ok", "missed", "failed")}),
    # render node (job stream-manager-render, one target per node): its own figures ...
    "stream_manager_render_node_capacity": ("gauge", {}),
    "stream_manager_render_node_load": ("gauge", {}),
    "stream_manager_render_node_channels": ("gauge", {}),
    "stream_manager_render_node_draining": ("gauge", {}),
    "stream_manager_render_node_placer": ("gauge", {}),
    "stream_manager_render_node_channel_up": ("gauge", CHANNEL),
    # ... and its channel processes' (the leader's of a channel placed on it, a warm
    # follower's of every other), each with `channel`
    "stream_manager_render_active": ("gauge", CHANNEL),
    "stream_manager_render_streaming": ("gauge", CHANNEL),
    "stream_manager_render_fps": ("gauge", CHANNEL),
    "stream_manager_render_target_fps": ("gauge", CHANNEL),
    "stream_manager_render_frame_seconds": ("histogram", CHANNEL),
    "stream_manager_render_frames_total": ("counter", CHANNEL),
    "stream_manager_render_dropped_frames_total": (
        "counter", {**CHANNEL, "reason": ("late", "repeated")}),
    "stream_manager_render_encoder_queue_packets": ("gauge", {**CHANNEL, "output": FREE}),
    "stream_manager_render_output_state": (
        "gauge", {**CHANNEL, "output": FREE, "state": OUTPUT_STATES}),
    "stream_manager_render_output_reconnects_total": ("counter", {**CHANNEL, "output": FREE}),
    "stream_manager_render_output_sent_bytes_total": ("counter", {**CHANNEL, "output": FREE}),
    "stream_manager_render_output_dropped_packets_total": (
        "counter", {**CHANNEL, "output": FREE}),
    "stream_manager_render_layer_raster_seconds": (
        "histogram", {**CHANNEL, "type": ("image", "text", "color", "chat", "clock")}),
    # ... its program audio, only while it holds the lease and mixes sound; a loudness window
    # is left out while below the gate; source is "program", "bed" or "layer:<layer id>"
    "stream_manager_render_audio_loudness_lufs": (
        "gauge", {**CHANNEL, "window": ("momentary", "short_term", "integrated")}),
    "stream_manager_render_audio_true_peak_dbtp": ("gauge", CHANNEL),
    "stream_manager_render_audio_normaliser_gain_db": ("gauge", CHANNEL),
    "stream_manager_render_audio_peak_dbfs": ("gauge", {**CHANNEL, "source": FREE}),
    "stream_manager_render_audio_rms_dbfs": ("gauge", {**CHANNEL, "source": FREE}),
    # preview process (job stream-manager-preview)
    "stream_manager_preview_clients": ("gauge", {"quality": ("high", "medium", "low")}),
    "stream_manager_preview_frames_sent_total": (
        "counter", {"quality": ("high", "medium", "low")}),
    "stream_manager_preview_frames_skipped_total": (
        "counter", {"quality": ("high", "medium", "low")}),
    # Prometheus's own, for every target
    "up": ("gauge", {}),
}
TARGET_LABELS = ("job", "instance")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")

# PromQL words that are neither metrics nor labels.
AGGREGATIONS = {"sum", "min", "max", "avg", "count", "group", "stddev", "stdvar", "topk",
                "bottomk", "quantile", "count_values"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
OPERATORS = {"and", "or", "unless", "bool", "offset", "atan2"}
FUNCTIONS = {"abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp",
             "clamp_max", "clamp_min", "count_over_time", "delta", "deriv", "floor",
             "histogram_quantile", "idelta", "increase", "irate", "label_replace",
             "last_over_time", "max_over_time", "min_over_time", "rate", "resets", "round",
             "scalar", "sort", "sort_desc", "sum_over_time", "time", "timestamp", "vector"}
TOKEN = re.compile(r"""
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<matchers>\{[^}]*\})
  | (?P<range>\[[^\]]*\])
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<variable>\$\w+)
  | (?P<punct>\S)
""", re.VERBOSE)
MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
# What a Grafana query may hold that PromQL does not, and what stands in for it.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h",
                     "$instance": ".*", "$channel": ".*"}


# ---- promtool ---------------------------------------------------------------------------------

def promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is missing: `make test` installs it (Debian package prometheus)"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)


def test_promtool_accepts_the_scrape_config_and_its_rule_file() -> None:
    result = promtool("check", "config", CONFIG.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout, result.stdout


def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


# ---- the rules and their tests ----------------------------------------------------------------

@cache
def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_every_alert_waits_has_a_severity_and_tells_what_to_look_at() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), names
    for rule in alert_rules():
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert "Look at" in rule["annotations"]["description"], rule["alert"]


def test_every_alert_has_a_case_where_it_fires_and_one_where_it_must_not() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fires if check.get("exp_alerts") else quiet).add(check["alertname"])
    alerts = {rule["alert"] for rule in alert_rules()}
    assert alerts - fires == set(), "never seen firing"
    assert alerts - quiet == set(), "never seen quiet"
    assert (fires | quiet) - alerts == set(), "tests of alerts that do not exist"


# ---- the scrape config --------------------------------------------------------------------------

@cache
def scrape_jobs() -> dict[str, list[str]]:
    """job name -> its static targets."""
    config = yaml.safe_load(CONFIG.read_text())
    return {job["job_name"]: [target for static in job.get("static_configs", [])
                              for target in static["targets"]]
            for job in config["scrape_configs"]}


def test_the_scrape_config_targets_the_default_ports() -> None:
    settings = load_settings({})
    render_ports = [settings.render_metrics_port + n for n in (0, 1)]  # python -m render -i N
    assert scrape_jobs() == {
        "stream-manager-api": [f"127.0.0.1:{settings.metrics_port}"],
        "stream-manager-render": [f"127.0.0.1:{port}" for port in render_ports],
        "stream-manager-preview": [f"127.0.0.1:{settings.ws_port}"],
        "flower": [f"127.0.0.1:{settings.flower_port}"],
    }
    config = yaml.safe_load(CONFIG.read_text())
    assert config["rule_files"] == [RULES.name]


# ---- the dashboard ------------------------------------------------------------------------------

@cache
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    """Every panel but the rows (collapsed rows keep theirs inside)."""
    found = []
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel query."""
    return [(f"panel {panel['title']!r} {target['refId']}", target["expr"])
            for panel in panels() for target in panel["targets"]]


def test_the_dashboard_has_its_variables_and_rows() -> None:
    board = dashboard()
    assert 39 <= board["schemaVersion"] < 45
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    instance = variables["instance"]
    assert instance["datasource"]["uid"] == "${datasource}"
    assert "stream_manager_render_active" in instance["definition"]
    rows = [panel["title"] for panel in board["panels"] if panel["type"] == "row"]
    assert rows == ["Stream", "Outputs", "Audio", "Layers", "API", "Preview",
                    "Health checks"]


def test_every_panel_queries_the_chosen_datasource() -> None:
    ids = [panel["id"] for panel in dashboard()["panels"]]
    ids += [inner["id"] for row in dashboard()["panels"] for inner in row.get("panels", [])]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    for panel in panels():
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24, panel["title"]


def test_every_render_panel_follows_the_instance_variable() -> None:
    for where, expr in dashboard_queries():
        for name, matchers in selectors(expr):
            if name.startswith("stream_manager_render_") and name in render_metrics():
                assert ("instance", "=~", "$instance") in matchers, where


@cache
def render_metrics() -> frozenset[str]:
    """The names (and histogram series) the render worker exports."""
    return frozenset(series for name in METRICS if name.startswith("stream_manager_render_")
                     and name != "stream_manager_render_heartbeat_age_seconds"
                     for series in series_names(name))


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    rules = []
    for n, (where, expr) in enumerate(dashboard_queries()):
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"{where}: unknown variable in {expr}"
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# ---- the metrics contract -----------------------------------------------------------------------

def series_names(name: str) -> list[str]:
    if METRICS[name][0] == "histogram":
        return [name + suffix for suffix in HISTOGRAM_SERIES]
    return [name]


def contract_entry(name: str) -> tuple[str, dict[str, tuple[str, ...] | None]] | None:
    """The contract's (type, labels) for a series name, with `le` for histogram buckets."""
    if name in METRICS:
        return METRICS[name]
    for suffix in HISTOGRAM_SERIES:
        base = name.removesuffix(suffix)
        if base != name and METRICS.get(base, ("",))[0] == "histogram":
            kind, labels = METRICS[base]
            return kind, {**labels, "le": FREE} if suffix == "_bucket" else labels
    return None


def tokens(expr: str) -> list[tuple[str, str]]:
    return [(match.lastgroup or "", match.group()) for match in TOKEN.finditer(expr)]


def selectors(expr: str) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Every metric selector in `expr`: (name, [(label, op, value), ...])."""
    found = []
    items = tokens(expr)
    skip_group = False
    for i, (kind, text) in enumerate(items):
        following = items[i + 1] if i + 1 < len(items) else ("", "")
        if kind == "punct" and text == ")":
            skip_group = False
        if kind != "ident" or skip_group:
            continue
        if text in GROUPING:
            skip_group = following[1] == "("
            continue
        if text in AGGREGATIONS | OPERATORS or following[1] == "(":
            continue
        matchers = []
        if following[0] == "matchers":
            body = following[1][1:-1]
            matchers = [(m[1], m[2], m[3]) for m in MATCHER.finditer(body)]
            assert MATCHER.sub("", body).strip() == "", f"unparsed matchers in {body!r}"
        found.append((text, matchers))
    return found


def functions(expr: str) -> set[str]:
    items = tokens(expr)
    return {text for i, (kind, text) in enumerate(items[:-1])
            if kind == "ident" and items[i + 1][1] == "(" and text not in GROUPING}


def grouping_labels(expr: str) -> set[str]:
    labels: set[str] = set()
    items = tokens(expr)
    for i, (kind, text) in enumerate(items):
        if kind == "ident" and text in GROUPING and i + 1 < len(items) and items[i + 1][1] == "(":
            for _, label in items[i + 2:]:
                if label == ")":
                    break
                if label != ",":
                    labels.add(label)
    return labels


def all_queries() -> list[tuple[str, str]]:
    rules = [(f"alert {rule['alert']}", rule["expr"]) for rule in alert_rules()]
    return rules + dashboard_queries()


def test_the_queries_use_only_functions_promql_has() -> None:
    for where, expr in all_queries():
        unknown = functions(expr) - FUNCTIONS - AGGREGATIONS
        assert not unknown, f"{where}: {unknown}"


def test_every_metric_used_is_in_the_contract_with_its_labels() -> None:
    jobs = set(scrape_jobs())
    used = set()
    for where, expr in all_queries():
        names = set()
        for name, matchers in selectors(expr):
            names.add(name)
            if name.startswith("flower_"):
                continue
            entry = contract_entry(name)
            assert entry, f"{where}: {name} is not in the metrics contract"
            labels = {**entry[1], "job": tuple(jobs), "instance": FREE}
            for label, op, value in matchers:
                assert label in labels, f"{where}: {name} has no label {label!r}"
                allowed = labels[label]
                if allowed is None or value.startswith("$"):
                    continue
                if op in ("=", "!="):
                    assert value in allowed, f"{where}: {label}={value!r}"
                else:  # a regex: each of its alternatives must match some value
                    for alternative in value.split("|"):
                        assert any(re.fullmatch(alternative, v) for v in allowed), \
                            f"{where}: {label}=~{value!r}"
        allowed_grouping = set(TARGET_LABELS) | {"le"}
        for name in names:
            entry = contract_entry(name)
            allowed_grouping |= set(entry[1]) if entry else {"worker"}
        assert grouping_labels(expr) <= allowed_grouping, f"{where}: {grouping_labels(expr)}"
        used |= names
    # and the dashboard's variable
    variable = next(v for v in dashboard()["templating"]["list"] if v["name"] == "instance")
    assert contract_entry(re.search(r"label_values\((\w+)", variable["definition"])[1])
    # the contract is not a list of wishes: the rules and the dashboard use most of it
    unused = {name for name in METRICS
              if not any(series in used for series in series_names(name))}
    assert not unused, f"contract metrics used nowhere: {unused}"


@pytest.mark.parametrize(("expr", "expected"), [
    ('sum by (job, le) (rate(a_bucket{x="1", y=~"a|b"}[5m])) > on () b',
     [("a_bucket", [("x", "=", "1"), ("y", "=~", "a|b")]), ("b", [])]),
    ("absent(c == 1) or max(d and on (instance) e) == 0", [("c", []), ("d", []), ("e", [])]),
    ("time() - max(f)", [("f", [])]),
])
def test_the_selector_parser(expr: str, expected: list[Any]) -> None:
    assert selectors(expr) == expected


# ---- channels -----------------------------------------------------------------------------------

# The alerts about the deployment as a whole (Redis, the API, the beat and worker, scrapes), not
# about one channel; every other alert that reads a channel's figures fires per channel.
DEPLOYMENT_WIDE_ALERTS = {"RedisDown", "ApiDown", "ScrapeTargetDown", "HealthChecksStopped",
                          "ApiHighErrorRate"}


def per_channel(name: str) -> bool:
    entry = contract_entry(name)
    return entry is not None and "channel" in entry[1]


def test_every_channel_panel_follows_the_channel_variable() -> None:
    for where, expr in dashboard_queries():
        for name, matchers in selectors(expr):
            if per_channel(name):
                assert ("channel", "=~", "$channel") in matchers, where
    variables = {variable["name"]: variable for variable in dashboard()["templating"]["list"]}
    assert "label_values(stream_manager_stream_desired_state, channel)" in \
        variables["channel"]["definition"]


def test_alerts_about_a_channel_fire_per_channel() -> None:
    """No alert about a channel aggregates its figures across channels: each aggregation keeps
    `channel`, each join matches on it, and the alert's labels name the channel."""
    for rule in alert_rules():
        expr = rule["expr"]
        if rule["alert"] in DEPLOYMENT_WIDE_ALERTS:
            continue
        assert any(per_channel(name) for name, _ in selectors(expr)), rule["alert"]
        assert "on ()" not in expr, rule["alert"]
        for aggregation in re.finditer(r"\b(sum|max|min|avg|count)\s*(by\s*\(([^)]*)\))?\s*\(",
                                       expr):
            assert aggregation[3] is not None and "channel" in aggregation[3], \
                f"{rule['alert']}: {aggregation[0]}"
        for join in re.finditer(r"\bon\s*\(([^)]*)\)", expr):
            assert "channel" in join[1], f"{rule['alert']}: {join[0]}"
        assert "$labels.channel" in rule["annotations"]["summary"], rule["alert"]


def test_the_rule_tests_hold_two_channels_apart() -> None:
    """A case with two channels at once, where an alert fires for one channel only."""
    channel = re.compile(r'channel="([^"]+)"')
    cases = []
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        seen = {found for series in case["input_series"]
                for found in channel.findall(series["series"])}
        fired = [alert["exp_labels"].get("channel") for check in case["alert_rule_test"]
                 for alert in check.get("exp_alerts") or []]
        if len(seen) >= 2 and fired and len(set(fired)) == 1 and None not in fired:
            cases.append(case["name"])
    assert cases, "no case with two channels where an alert fires for one of them"
