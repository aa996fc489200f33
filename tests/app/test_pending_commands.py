"""A command the worker has not finished in time answers 202 and can be followed."""

import signal

from flask.testing import FlaskClient

from core.config import Settings
from tests.support.processes import Process, wait_until


def test_202_while_the_worker_is_frozen_then_the_outcome(settings: Settings, app,
                                                         celery_worker: Process) -> None:
    from dataclasses import replace

    from app import create_app

    quick = create_app(replace(settings, command_timeout=0.3))
    client: FlaskClient = quick.test_client()
    celery_worker.send(signal.SIGSTOP)
    try:
        response = client.post("/stream/layers", json={"type": "color",
                                                       "content": {"color": "#00ff00"}})
        assert response.status_code == 202
        body = response.get_json()
        assert body["status"] == "pending" and response.headers["Location"] == body["statusUrl"]
        assert client.get(body["statusUrl"]).status_code == 202
    finally:
        celery_worker.send(signal.SIGCONT)

    def done() -> dict | None:
        answer = client.get(body["statusUrl"])
        return answer.get_json() if answer.status_code == 200 else None

    outcome = wait_until(done, 20, "the command's outcome")
    assert outcome["status"] == "done" and outcome["httpStatus"] == 201
    assert client.get(f"/stream/layers/{outcome['result']['id']}").status_code == 200
    quick.extensions["stream_manager"].close()
