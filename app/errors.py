"""Every error becomes the JSON body of the wire contract, here and nowhere else."""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, jsonify
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException

from core.errors import DomainError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "1"

_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
    416: "range_not_satisfiable", 429: "rate_limited",
}


def error_response(status: int, code: str, message: str, **extra: object) -> Response:
    """A JSON error response."""
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, outages and HTTP errors to JSON; every 503 says when to retry."""

    @app.after_request
    def retry_after_unavailable(response: Response) -> Response:
        # Whatever answered 503 (an outage, a refused store, a command's recorded outcome,
        # /health), the client is told when to try again.
        if response.status_code == 503:
            response.headers.setdefault("Retry-After", RETRY_AFTER_SECONDS)
        return response

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        response = jsonify(exc.to_body())
        response.status_code = exc.status
        return response

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(OperationalError)
    def unavailable(exc: Exception) -> Response:
        log.warning("dependency unreachable: %s", exc)
        return error_response(503, "unavailable", "Redis or the broker is unreachable; retry")

    @app.errorhandler(redis.ResponseError)
    def store_refused(exc: redis.ResponseError) -> Response:
        # A key of the wrong type (WRONGTYPE) or a full Redis (OOM): the store is in a state
        # the operator must fix; the client's request was fine, so no 4xx, and no crash.
        log.error("Redis refused a command: %s", exc)
        return error_response(503, "unavailable",
                              "the state store refused the operation; retry later")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        # werkzeug's 413: a body (sent without a length) ran past its limit as it was read.
        extra = {"fields": {"body": "too large"}} if status == 413 else {}
        response = error_response(status, _HTTP_CODES.get(status, "http_error"),
                                  exc.description or exc.name, **extra)
        for name, value in exc.get_headers():
            if name in ("Allow", "Content-Range", "Retry-After", "WWW-Authenticate"):
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred")
