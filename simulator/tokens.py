"""Access and ID tokens: RS256 JWTs signed with the simulator's key, published as a JWKS."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization

PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
ARM = "https://management.azure.com"
GRAPH = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Each Microsoft API answers to several spellings of its identifier; a token's `aud` is the spelling asked.
RESOURCES = {
    PARTNER_CENTER: PARTNER_CENTER, PARTNER_CENTER + "/": PARTNER_CENTER,
    ARM: ARM, ARM + "/": ARM, "https://management.core.windows.net": ARM,
    "https://management.core.windows.net/": ARM,
    GRAPH: GRAPH, GRAPH + "/": GRAPH, GRAPH_APP_ID: GRAPH,
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


class Signer:
    def __init__(self, key, cert) -> None:
        self.key = key
        der = cert.public_bytes(serialization.Encoding.DER)
        self.x5t = b64url(hashlib.sha1(der).digest())  # noqa: S324 - x5t is defined as the SHA-1 thumbprint
        self.kid = self.x5t                            # as Entra does: kid equals x5t
        self.x5c = base64.b64encode(der).decode()
        self.public_key = key.public_key()

    def jwks(self, issuer: str | None = None) -> dict:
        numbers = self.public_key.public_numbers()
        key = {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.x5t,
               "n": _int_b64(numbers.n), "e": _int_b64(numbers.e), "x5c": [self.x5c]}
        if issuer:
            key["issuer"] = issuer
        return {"keys": [key]}

    def sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256",
                          headers={"typ": "JWT", "kid": self.kid, "x5t": self.x5t})

    def decode(self, token: str) -> dict:
        """The verified claims (signature and expiry); raises jwt.InvalidTokenError."""
        return jwt.decode(token, self.public_key, algorithms=["RS256"],
                          options={"verify_aud": False, "require": ["exp", "aud", "tid"]}, leeway=0)


def service_principal_id(app_id: str, tenant_id: str) -> str:
    """The app's service principal object id in a tenant (stable, made up)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp:{app_id.lower()}:{tenant_id.lower()}"))


def access_token(signer: Signer, *, audience: str, tenant_id: str, app_id: str, user: dict | None,
                 home_tenant: str, scopes: str, mfa: bool, lifetime: int, now: float | None = None) -> str:
    """A v1.0 access token, as Entra issues for Microsoft's first-party APIs (Partner Center, ARM, Graph).

    App-only tokens carry `idtyp: "app"` and the app's service principal as `oid`; App+User tokens carry
    the user's `oid`, `upn`, `scp` and `amr`.
    """
    now = int(now if now is not None else time.time())
    issuer = f"https://sts.windows.net/{tenant_id}/"
    claims = {
        "aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": app_id, "appidacr": "1", "tid": tenant_id, "ver": "1.0", "uti": b64url(uuid.uuid4().bytes),
    }
    if user is None:
        sp = service_principal_id(app_id, tenant_id)
        claims.update({"idtyp": "app", "oid": sp, "sub": sp, "idp": issuer})
    else:
        claims.update({
            "idtyp": "user", "oid": user["oid"], "sub": pairwise_sub(user["oid"], app_id),
            "upn": user["userPrincipalName"], "unique_name": user["userPrincipalName"],
            "name": user.get("displayName", ""), "scp": scopes,
            "amr": ["pwd", "mfa"] if mfa else ["pwd"],
        })
        if home_tenant.lower() != tenant_id.lower():
            # A partner's agent acting in a customer's tenant (delegated admin): the identity provider is
            # the partner's tenant.
            claims["idp"] = f"https://sts.windows.net/{home_tenant}/"
    return signer.sign(claims)


def pairwise_sub(oid: str, client_id: str) -> str:
    """Entra's `sub` is pairwise: one value per user and application."""
    return b64url(hashlib.sha256(f"{oid.lower()}:{client_id.lower()}".encode()).digest())


def id_token(signer: Signer, *, issuer: str, client_id: str, tenant_id: str, user: dict, mfa: bool,
             nonce: str | None, lifetime: int = 3600) -> str:
    now = int(time.time())
    upn = user["userPrincipalName"]
    claims = {
        "iss": issuer, "aud": client_id, "tid": tenant_id, "oid": user["oid"],
        "sub": pairwise_sub(user["oid"], client_id), "preferred_username": upn,
        "name": user.get("displayName", ""), "email": user.get("email", upn),
        "roles": list(user.get("roles", [])), "groups": list(user.get("groups", [])),
        "amr": ["pwd", "mfa"] if mfa else ["pwd"], "iat": now, "nbf": now, "exp": now + lifetime,
        "ver": "2.0",
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return signer.sign(claims)


def lower_eq(a, b) -> bool:
    return a is not None and b is not None and str(a).lower() == str(b).lower()
