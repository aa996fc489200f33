"""The OpenAPI document: valid OpenAPI 3.1, covering every API route, served with a docs page;
and schemathesis against the live API (gunicorn as supervisord runs it, a real Celery worker,
real Redis): no generated request gets a 5xx or an answer the document does not describe."""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema_rs
import pytest
import requests
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.preview import MAX_CLIENT_MESSAGE_BYTES
from app.preview.session import CLOSE_POLICY_VIOLATION, CLOSE_UNSUPPORTED_DATA
from core.config import Settings
from core.keys import DEFAULT_CHANNEL
from tests.support.api_server import ApiServer
from tests.support.levels import LEVELS
from tests.support.preview import PreviewClient, PreviewServer
from tests.support.processes import free_port, wait_until

TOKEN = "openapi-test-token"
VIEWER = "openapi-viewer-token"
NOT_API = ("static", "ui.")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
# Generated cases per operation and mode; operations with little to vary run out sooner.
# 25 makes about 1,900 cases in 30 s (40 made about 3,100 in 44 s: the same answers seen).
EXAMPLES = 25
# The /channels/{channel}/stream/... operations run the same views as /stream/... (fuzzed
# with EXAMPLES): fewer cases each, half of them on a channel that exists.
NESTED_EXAMPLES = 6
NESTED_PREFIX = "/channels/{channel}/stream"
MIN_CASES = 500
# Of every this many cases one goes without a token and one with the viewer's, so the 401
# and 403 answers are held to the document too.
TOKEN_ROTATION = 9


@pytest.fixture
def token_app(settings: Settings) -> Iterator[Flask]:
    """The API app with API_TOKEN set (no worker needed: nothing here mutates)."""
    built = create_app(dataclasses.replace(settings, api_token=TOKEN))
    yield built
    built.extensions["stream_manager"].close()


def _document(app: Flask) -> dict:
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_document_is_valid_openapi_and_covers_every_route(token_app: Flask) -> None:
    document = _document(token_app)
    assert document["openapi"].startswith("3.1")
    schemathesis.openapi.from_dict(document).validate()

    for rule in token_app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_API):
            continue
        path = rule.rule.replace("<path:", "<").replace("<", "{").replace(">", "}")
        assert path in document["paths"], f"{rule.rule} is not documented"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = document["paths"][path][method.lower()]
            assert operation["summary"] and operation["responses"], (method, path)
    assert "/" not in document["paths"] and not any(p.startswith("/ui") for p in document["paths"])


def test_every_operation_documents_its_errors(token_app: Flask) -> None:
    document = _document(token_app)
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert {"429", "503"} <= codes, (method, path)
            if operation.get("security") != []:
                assert "401" in codes, (method, path)
            if method != "get" and path != "/preview/ticket":
                assert "403" in codes, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
    layer = document["paths"]["/stream/layers/{layer_id}"]
    assert {"202", "412"} <= set(layer["patch"]["responses"])
    assert "409" in document["paths"]["/stream/layers"]["post"]["responses"]
    assert "multipart/form-data" in document["paths"]["/media"]["post"]["requestBody"]["content"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/health"]["get"]["security"] == []


def test_the_strict_fields_have_their_json_types(token_app: Flask) -> None:
    schemas = _document(token_app)["components"]["schemas"]
    transform = schemas["Transform"]["properties"]
    assert transform["x"]["type"] == "integer"
    assert transform["scale"]["type"] == "number"
    assert transform["width"]["type"] == ["integer", "null"]
    assert schemas["LayerInput"]["properties"]["visible"]["type"] == "boolean"
    color = schemas["ColorContent"]["properties"]["color"]
    assert color["type"] == "string" and color["pattern"].startswith("^#")
    assert schemas["LayerInput"]["additionalProperties"] is False
    assert "current" in schemas["VersionConflict"]["required"]


def test_the_websocket_protocol_is_documented_alongside(token_app: Flask) -> None:
    ws = _document(token_app)["x-websocket"]
    assert "/preview?quality=high|medium|low" in ws["url"]
    assert {m["type"] for m in ws["serverMessages"]} == {
        "hello", "streamState", "layerUpdate", "audioLevels", "ping", "pong"}
    assert set(ws["closeCodes"]) == {str(CLOSE_UNSUPPORTED_DATA), str(CLOSE_POLICY_VIOLATION),
                                     "1009"}
    assert str(MAX_CLIENT_MESSAGE_BYTES) in ws["closeCodes"]["1009"]
    assert {h["status"] for h in ws["handshake"]} == {400, 401, 403, 426}


def test_the_preview_speaks_as_documented(token_app: Flask, base_env: dict[str, str],
                                          redis_client, tmp_path: Path) -> None:
    document = _document(token_app)
    ws = document["x-websocket"]
    payloads = {message["type"]: message["payload"] for message in ws["serverMessages"]}
    live = token_app.extensions["stream_manager"].store.live
    server = PreviewServer(base_env, tmp_path).start()
    try:
        client = PreviewClient(server.url(quality="low"))
        try:
            received = [client.wait_for("hello"), client.wait_for("streamState")]
            # Published until the relay has subscribed (one sent before is missed).
            received.append(wait_until(
                lambda: live.publish_audio_levels(LEVELS) or client.messages("audioLevels"),
                10, "audioLevels", interval=0.1)[0])
        finally:
            client.close()
    finally:
        server.stop()
    for message in received:
        # jsonschema_rs comes with schemathesis; the payloads may $ref the API's schemas.
        schema = {**payloads[message["type"]], "components": document["components"]}
        jsonschema_rs.validator_for(schema).validate(message["payload"])
    hello = received[0]["payload"]
    assert f"{hello['width']}x{hello['height']}" == ws["query"]["quality"]["frameSizes"]["low"]


def test_the_document_and_docs_page_are_open_and_self_contained(token_app: Flask) -> None:
    client = token_app.test_client()
    assert client.get("/stream/status").status_code == 401
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script" not in html and "http://" not in html and "https://" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    for path, methods in _document(token_app)["paths"].items():
        for method in methods:
            assert f'id="op-{methods[method]["operationId"]}"' in html, (method, path)
    assert "The preview WebSocket" in html and "layerUpdate" in html
    assert 'id="schema-LayerInput"' in html


def _validated(app: Flask, method: str, path: str, *, body: object = None,
               **path_parameters: str) -> int:
    """Send one request to `app` and hold the answer to the document (the fuzz run below
    cannot make Redis vanish or the worker slow); returns the status."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operation = schema[path][method]
    if body is None:
        case = operation.Case(path_parameters=path_parameters)
    else:
        case = operation.Case(path_parameters=path_parameters, body=body,
                              media_type="application/json")
    response = case.call()
    # A 503 is the expected answer here, so only conformance is checked.
    case.validate_response(response, checks=[check for check in CHECKS
                                             if check is not not_a_server_error])
    return response.status_code


def test_outage_answers_match_the_document(settings: Settings) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(dataclasses.replace(settings, redis_url=nowhere, redis_timeout=0.2))
    try:
        assert _validated(app, "GET", "/stream/status") == 503
        assert _validated(app, "GET", "/health") == 503
        assert _validated(app, "GET", "/stream/layers/{layer_id}", layer_id="abc") == 503
        assert _validated(app, "POST", "/stream/chat", body={"author": "a", "message": "b"}) == 503
    finally:
        app.extensions["stream_manager"].close()


def test_pending_answers_match_the_document(settings: Settings, redis_client) -> None:
    # No worker consumes this prefix's queue, so every command stays pending.
    app = create_app(dataclasses.replace(settings, redis_prefix="smpending:",
                                         command_timeout=0.1))
    try:
        client = app.test_client()
        created = client.post("/stream/layers", json={"type": "color",
                                                      "content": {"color": "#00ff00"}})
        assert created.status_code == 202
        assert _validated(app, "POST", "/stream/layers",
                          body={"type": "color", "content": {"color": "#00ff00"}}) == 202
        assert _validated(app, "GET", "/stream/commands/{command_id}",
                          command_id=created.get_json()["taskId"]) == 202
        assert _validated(app, "POST", "/stream/pause") == 202
    finally:
        app.extensions["stream_manager"].close()


def test_rate_limited_answers_match_the_document(settings: Settings, redis_client) -> None:
    app = create_app(dataclasses.replace(settings, rate_limit="2/minute"))
    try:
        statuses = [_validated(app, "POST", "/preview/ticket") for _ in range(3)]
        assert statuses == [201, 201, 429]
    finally:
        app.extensions["stream_manager"].close()


# ---- schemathesis against the live API --------------------------------------------------------


@pytest.fixture
def api_server(base_env: dict[str, str], celery_worker, redis_client,
               tmp_path: Path) -> Iterator[ApiServer]:
    """The API process (gunicorn, 2 workers) on the test Redis, with both tokens set."""
    server = ApiServer({**base_env, "API_TOKEN": TOKEN, "VIEWER_TOKEN": VIEWER},
                       tmp_path).start()
    yield server
    server.stop()


class Run:
    """Counts the cases sent and keeps every failure, so one run reports them all."""

    def __init__(self, server: ApiServer) -> None:
        self.server = server
        self.session = requests.Session()
        self.cases = 0
        self.failures: dict[str, str] = {}
        self.statuses: dict[int, int] = {}

    @property
    def auth(self) -> dict[str, str]:
        """The operator's token header."""
        return {"Authorization": f"Bearer {TOKEN}"}

    def headers(self) -> dict[str, str] | None:
        """Mostly the operator's token; now and then none, or the viewer's."""
        slot = self.cases % TOKEN_ROTATION
        if slot == 0:
            return None
        return {"Authorization": f"Bearer {VIEWER}"} if slot == 4 else self.auth

    def existing_layer(self) -> str:
        """The id of a layer that exists now (made if there is none)."""
        found = self.session.get(f"{self.server.url}/stream/layers", headers=self.auth,
                                 timeout=10).json()
        if found:
            return found[-1]["id"]
        made = self.session.post(f"{self.server.url}/stream/layers", headers=self.auth,
                                 json={"type": "text", "content": {"text": "fuzz"}}, timeout=10)
        assert made.status_code == 201, made.text
        return made.json()["id"]

    def send(self, case: schemathesis.Case, use_real_id: bool) -> None:
        """Send one case and run the checks, keeping the first failure of each kind."""
        if use_real_id and "layer_id" in case.path_parameters:
            case.path_parameters["layer_id"] = self.existing_layer()
        if use_real_id and "name" in case.path_parameters:
            case.path_parameters["name"] = "known.png"
        if use_real_id and "channel" in case.path_parameters:
            case.path_parameters["channel"] = DEFAULT_CHANNEL
        self.cases += 1
        try:
            response = case.call_and_validate(session=self.session, headers=self.headers(),
                                              checks=CHECKS, timeout=15)
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        except Exception as exc:  # noqa: BLE001 - every failure is reported at the end
            key = f"{case.operation.label}: {type(exc).__name__}: {str(exc)[:200]}"
            self.failures.setdefault(key, f"{exc}\n{case.as_curl_command()}")


def _fuzz(run: Run, operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    nested = operation.path.startswith(NESTED_PREFIX)

    # No shrinking: a failure is recorded and the run goes on, so the time stays bounded.
    @settings(max_examples=NESTED_EXAMPLES if nested else EXAMPLES, deadline=None,
              derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy, use_real_id=st.booleans())
    def fuzz(case: schemathesis.Case, use_real_id: bool) -> None:
        run.send(case, use_real_id)

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body.
        assert mode is GenerationMode.NEGATIVE, operation.label


def _known_image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 128, 255)).save(out, "PNG")
    return out.getvalue()


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(
        api_server: ApiServer, base_env: dict[str, str]) -> None:
    (Path(base_env["MEDIA_ROOT"]) / "known.png").write_bytes(_known_image())
    schema = schemathesis.openapi.from_url(f"{api_server.url}/openapi.json", timeout=10)
    run = Run(api_server)
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(run, operation, mode)
    elapsed = time.monotonic() - started
    run.session.close()  # no idle connection for the server's graceful stop to wait on

    report = "\n\n".join(run.failures.values())
    assert not run.failures, f"{len(run.failures)} kinds of failure:\n{report}\n" \
                             f"{api_server.tail()}"
    assert run.cases >= MIN_CASES, (run.cases, run.statuses)
    print(f"schemathesis: {run.cases} cases in {elapsed:.1f} s, "
          f"statuses {sorted(run.statuses.items())}")
