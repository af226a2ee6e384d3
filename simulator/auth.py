"""Checking a bearer token as Microsoft's APIs do: signature, expiry, audience; who and which tenant."""

from __future__ import annotations

import contextlib

import jwt

from . import tokens
from .web import Request


class TokenProblem(Exception):
    """Why a token is refused: kind is missing, invalid, expired or audience."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def bearer(sim, req: Request, *, resource: str) -> dict:
    """The verified claims of the request's bearer token for `resource`; raises TokenProblem."""
    header = req.header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenProblem("missing", "The 'Authorization' header is missing or not a bearer token.")
    try:
        claims = sim.signer.decode(token.strip())
    except jwt.ExpiredSignatureError as exc:
        _note_tenant(req, token)
        raise TokenProblem("expired", "The access token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise TokenProblem("invalid", f"The access token is not valid: {exc}.") from exc
    req.tenant = claims.get("tid")
    if tokens.RESOURCES.get(claims.get("aud")) != resource:
        raise TokenProblem("audience", f"The access token has an invalid audience '{claims.get('aud')}'; "
                           f"this API expects '{resource}'.")
    req.principal = claims
    return claims


def _note_tenant(req: Request, token: str) -> None:
    with contextlib.suppress(jwt.InvalidTokenError):
        req.tenant = jwt.decode(token, options={"verify_signature": False}).get("tid")


def is_app_only(claims: dict) -> bool:
    return claims.get("idtyp") == "app" or "scp" not in claims


def has_mfa(claims: dict) -> bool:
    return "mfa" in (claims.get("amr") or [])
