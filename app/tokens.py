"""Bearer tokens: the operator's API_TOKEN changes anything, a VIEWER_TOKEN only reads.

Shared by the API and the preview handshake. Tokens are compared as SHA-256 digests with
`hmac.compare_digest`, and against both tokens every time, so neither the length nor the
content of a guess, nor which token it came close to, shows in the time taken.
"""

from __future__ import annotations

import hashlib
import hmac

OPERATOR = "operator"
VIEWER = "viewer"


def bearer_role(authorization: str, api_token: str | None,
                viewer_token: str | None) -> str | None:
    """OPERATOR or VIEWER for an `Authorization: Bearer <token>` header value, else None."""
    scheme, _, given = authorization.partition(" ")
    supplied = _digest(given.strip()) if scheme.lower() == "bearer" else b""
    is_operator = _matches(supplied, api_token)
    is_viewer = _matches(supplied, viewer_token)
    if is_operator:
        return OPERATOR
    return VIEWER if is_viewer else None


def _matches(supplied: bytes, token: str | None) -> bool:
    # Compared even when there is nothing to match, to keep the time the same.
    expected = _digest(token) if token else b"\0" * 32
    return hmac.compare_digest(supplied or b"\1" * 32, expected) and token is not None


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
