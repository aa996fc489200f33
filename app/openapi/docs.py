"""The /docs page: the OpenAPI document as plain HTML, rendered on the server.

No scripts at all (the API's pages allow only their own code, and a CDN is out of the
question), so the page is a Jinja template over a view of the document built here: each
operation with its parameters, body and responses, each schema with its properties, and the
preview's WebSocket protocol.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from flask import render_template

# Inline, allowed by its hash in the page's CSP (no 'unsafe-inline').
CSS = """
body{font:15px/1.45 system-ui,sans-serif;max-width:70rem;margin:0 auto;padding:1rem 2rem;
color:#1d2430}
h1{margin-bottom:.2rem}h2{border-bottom:2px solid #d5dae1;padding-top:1rem}
h3{margin:1.6rem 0 .3rem}code,pre{font:13px ui-monospace,monospace;background:#f1f3f6}
code{padding:0 .2rem}pre{padding:.6rem;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem}
td,th{border:1px solid #d5dae1;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f6}.method{font-weight:700;color:#fff;background:#4a5568;padding:0 .4rem;
border-radius:3px}.m-get{background:#2f6f4f}.m-post{background:#2b5797}
.m-patch{background:#8a5a00}.m-delete{background:#a33}.desc{white-space:pre-wrap}
.open{color:#2f6f4f}.muted{color:#5b6472}
"""
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src 'sha256-{CSS_HASH}'; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
_REF = "#/components/"


def render_docs(spec: dict[str, Any]) -> str:
    """The page for `spec` (called once per app; the result is cached by the caller)."""
    components = spec.get("components", {})
    operations = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            operations.append(_operation(path, method, operation, components))
    schemas = [{"name": name, "description": schema.get("description", ""),
                "rows": _properties(schema)}
               for name, schema in components.get("schemas", {}).items()]
    ws = spec.get("x-websocket")
    messages = [{"type": message["type"], "when": message["when"],
                 "rows": _properties(message["payload"]),
                 "payload": describe(message["payload"])}
                for message in (ws or {}).get("serverMessages", [])]
    return render_template("openapi_docs.html", css=CSS, info=spec["info"],
                           tags=spec.get("tags", []), operations=operations, schemas=schemas,
                           ws=ws, messages=messages, version=spec["openapi"])


def _operation(path: str, method: str, operation: dict[str, Any],
               components: dict[str, Any]) -> dict[str, Any]:
    parameters = []
    for parameter in operation.get("parameters", []):
        parameter = _resolve(parameter, components)
        parameters.append({
            "name": parameter["name"], "in": parameter["in"],
            "required": parameter.get("required", False),
            "type": describe(parameter.get("schema", {})),
            "constraints": constraints(parameter.get("schema", {})),
            "description": parameter.get("description", "")})
    body = None
    if "requestBody" in operation:
        request_body = operation["requestBody"]
        body = {"required": request_body.get("required", False),
                "content": [{"mediaType": kind, "type": describe(media.get("schema", {}))}
                            for kind, media in request_body["content"].items()]}
    responses = []
    for status, response in operation["responses"].items():
        resolved = _resolve(response, components)
        responses.append({
            "status": status, "description": resolved.get("description", ""),
            "content": [{"mediaType": kind, "type": describe(media.get("schema", {}))}
                        for kind, media in resolved.get("content", {}).items()],
            "headers": [{"name": name, "required": header.get("required", False)}
                        for name, header in resolved.get("headers", {}).items()]})
    return {"id": operation["operationId"], "method": method.upper(), "path": path,
            "tag": (operation.get("tags") or [""])[0], "summary": operation.get("summary", ""),
            "description": operation.get("description", ""),
            "open": operation.get("security") == [], "parameters": parameters, "body": body,
            "responses": responses}


def _resolve(item: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A component a `$ref` points at (or the item itself)."""
    ref = item.get("$ref")
    if not ref:
        return item
    section, _, name = ref.removeprefix(_REF).partition("/")
    found: dict[str, Any] = components[section][name]
    return found


def _properties(schema: dict[str, Any]) -> list[dict[str, Any]]:
    required = set(schema.get("required", []))
    return [{"name": name, "required": name in required, "type": describe(prop),
             "constraints": constraints(prop), "description": prop.get("description", "")}
            for name, prop in schema.get("properties", {}).items()]


def describe(schema: dict[str, Any]) -> list[tuple[str, str | None]]:
    """A schema's type as text parts; a part with a name links to that schema."""
    if "$ref" in schema:
        name = schema["$ref"].rpartition("/")[2]
        return [(name, name)]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts: list[tuple[str, str | None]] = []
            for index, option in enumerate(schema[key]):
                parts += ([(" | ", None)] if index else []) + describe(option)
            return parts
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if "array" in kinds:
        parts = [("array of ", None), *describe(schema.get("items", {}))]
        rest = [other for other in kinds if other != "array"]
        if rest:
            parts.append((" | " + " | ".join(rest), None))
        return parts
    text = " | ".join(kinds) or "any"
    if isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"]:
        return [(text + " of ", None)] + describe(schema["additionalProperties"])
    if "format" in schema:
        text += f" ({schema['format']})"
    return [(text, None)]


def constraints(schema: dict[str, Any]) -> str:
    """Ranges, lengths, patterns, choices and defaults, in a few words."""
    found = []
    if "enum" in schema:
        found.append("one of " + ", ".join(json.dumps(value) for value in schema["enum"]))
    if "minimum" in schema or "maximum" in schema:
        found.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    if "minLength" in schema or "maxLength" in schema:
        found.append(f"length {schema.get('minLength', 0)}..{schema.get('maxLength', '')}")
    if "maxItems" in schema:
        found.append(f"at most {schema['maxItems']} items")
    if "pattern" in schema:
        found.append(f"pattern {schema['pattern']}")
    if "default" in schema:
        found.append(f"default {json.dumps(schema['default'])}")
    return "; ".join(found)
