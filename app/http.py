"""Request parsing and response helpers shared by every blueprint.

Bodies are parsed strictly here, once: size cap, content type, UTF-8, no NaN or Infinity, no
duplicate keys, an object at the top, then the marshmallow schema with unknown fields refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, jsonify, request, url_for
from marshmallow import Schema, ValidationError

from app.channel_scope import scoped
from app.services import services
from core.commit import Outcome
from core.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from core.schemas.fields import flatten_messages
from core.show import dump_tween, load_tween

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ETAG = re.compile(r'^(?:W/)?"?(\d{1,16})"?$')
Loaded = TypeVar("Loaded")


def json_body(schema: Schema, *, partial: bool = False,
              optional: bool = False) -> dict[str, Any]:
    """The request's JSON object, loaded through `schema` (400/413/415 on any problem).

    With `optional`, an empty body stands for `{}`.
    """
    loaded: dict[str, Any] = json_input(lambda data: schema.load(data, partial=partial),
                                        optional=optional)
    return loaded


def json_input(load: Callable[[dict[str, Any]], Loaded], *, optional: bool = False) -> Loaded:
    """The request's JSON object through `load` (a schema's load or a model's loader), which
    may raise ValidationError: 400/413/415 on any problem, as for `json_body`."""
    limit = services().settings.max_json_bytes
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"JSON bodies are limited to {limit} bytes", {"body": "too large"})
    if not raw.strip():
        if optional:
            return load({})
        raise InvalidInput("a JSON body is required", {"body": "missing"})
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json",
                                   {"Content-Type": f"got {request.mimetype or 'none'}"})
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", {"body": "not an object"})
    try:
        return load(data)
    except ValidationError as exc:
        raise InvalidInput("the body is not valid", flatten_messages(exc.messages)) from None


def json_with_transition(load: Callable[[dict[str, Any]], Loaded], *,
                         optional: bool = False) -> tuple[Loaded, dict[str, Any] | None]:
    """Like `json_input`, for a change that may also carry a `transition` (a tween,
    core.show): the body loaded without it, and the tween's JSON (None: a cut). Errors of
    both are answered together."""

    def load_both(data: dict[str, Any]) -> tuple[Loaded, dict[str, Any] | None]:
        rest = {key: value for key, value in data.items() if key != "transition"}
        errors: dict[str, str] = {}
        tween = loaded = None
        try:
            tween = load_tween(data.get("transition"))
        except ValidationError as exc:
            errors.update(flatten_messages(exc.messages, "transition"))
        try:
            loaded = load(rest)
        except ValidationError as exc:
            errors.update(flatten_messages(exc.messages))
        if errors:
            raise ValidationError(errors)
        return cast(Loaded, loaded), dump_tween(tween) if tween is not None else None

    return json_input(load_both, optional=optional)


_NO_FIELDS = Schema.from_dict({})()


def no_body() -> None:
    """Accept no body or `{}` for an action that takes no input (400 on anything else)."""
    json_body(_NO_FIELDS, optional=True)


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8 only, finite numbers, no duplicate keys."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                          object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise InvalidInput("the body is not valid UTF-8", {"body": "bad encoding"}) from None
    except RecursionError:
        raise InvalidInput("the body is nested too deeply", {"body": "too deep"}) from None
    except ValueError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}", {"body": "malformed"}) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def resource_id(value: str, what: str = "layer") -> str:
    """A path id, or 404 if it could not name anything."""
    if not _ID.fullmatch(value):
        raise NotFound(f"no {what} with that id", {"id": "malformed id"})
    return value


def if_match() -> int | None:
    """The version an If-Match header names (None when absent or `*`)."""
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.fullmatch(header.strip())
    if not match:
        raise InvalidInput('If-Match must be a version ETag such as "3"',
                           {"If-Match": "malformed"})
    return int(match.group(1))


def query_int(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within low..high (400 naming it otherwise)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not re.fullmatch(r"\d{1,9}", raw) or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number in {low}..{high}",
                           {name: "out of range"})
    return int(raw)


def resource_response(body: Any, status: int = 200) -> Response:
    """A JSON response; a resource with a version gets it as its ETag."""
    response = jsonify(body) if status != 204 else Response(status=204)
    response.status_code = status
    if isinstance(body, dict) and isinstance(body.get("version"), int):
        response.set_etag(str(body["version"]))
    return response


def command_response(command_id: str, outcome: Outcome | None) -> Response:
    """The outcome of a command, or 202 pointing at where it can be followed."""
    if outcome is None:
        location = url_for(scoped("commands.command_status"), command_id=command_id)
        response = jsonify({"taskId": command_id, "status": "pending", "statusUrl": location})
        response.status_code = 202
        response.headers["Location"] = location
        return response
    return resource_response(outcome.body, outcome.status)
