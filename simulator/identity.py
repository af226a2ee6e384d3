"""The Microsoft identity platform (login.microsoftonline.com): discovery, keys, tokens, sign-in, sign-out.

Served under `/login` and also at the root of the base URL (`/{tenant}/oauth2/v2.0/token`), because MSAL
takes the first path segment of an authority as its tenant (it keys its token cache by it): with the root
as MICROSOFT_LOGIN_URL, MSAL sees the real tenant, exactly as with login.microsoftonline.com.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from . import tokens
from .web import HttpError, Request, Response, Router, html_response, json_response, redirect

router = Router(ignore_case=True)
OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
USER_SCOPES = {tokens.PARTNER_CENTER: "user_impersonation", tokens.ARM: "user_impersonation",
               tokens.GRAPH: "Directory.AccessAsUser.All User.Read"}
REFRESH_TOKEN_INACTIVITY = 90 * 24 * 3600
CODE_LIFETIME = 600
DEFAULT_SCOPE_RULE = ("Client credential flows must have a scope value with /.default suffixed to the "
                      "resource identifier (application ID URI).")


def entra_error(status: int, error: str, code: int, description: str,
                req: Request | None = None) -> HttpError:
    """An error in Entra's shape: AADSTS code in the description and in error_codes."""
    trace_id, correlation_id = str(uuid.uuid4()), (req.header("client-request-id") if req else None)
    correlation_id = correlation_id or str(uuid.uuid4())
    timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return HttpError(json_response(status, {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace_id} "
                             f"Correlation ID: {correlation_id} Timestamp: {timestamp}",
        "error_codes": [code], "timestamp": timestamp, "trace_id": trace_id,
        "correlation_id": correlation_id, "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }))


def login_base(req: Request) -> str:
    return req.base + req.prefix


def _tenant(sim, req: Request, segment: str) -> str:
    tenant_id = sim.store.tenant_id(segment)
    if tenant_id is None:
        raise entra_error(400, "invalid_request", 90002, f"Tenant '{segment}' not found. Check to make sure "
                          "you have the correct tenant ID and are signing into the correct cloud.", req)
    req.tenant = tenant_id
    return tenant_id


def _apps(sim) -> list[dict]:
    partner = sim.store.partner or {}
    apps = list(partner.get("apps", []))
    if partner.get("appId"):
        apps.insert(0, {"appId": partner["appId"], "appSecret": partner.get("appSecret"),
                        "displayName": partner.get("name", "Partner application")})
    return apps


def _app(sim, req: Request, client_id: str | None, tenant_id: str) -> dict:
    for app in _apps(sim):
        if tokens.lower_eq(app["appId"], client_id):
            return app
    raise entra_error(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                      f"not found in the directory '{tenant_id}'. This can happen if the application has not "
                      "been installed by the administrator of the tenant or consented to by any user in the "
                      "tenant.", req)


# ------------------------------------------------------------------------------------------ discovery
@router.route("GET", r"/(?P<segment>[^/]+)/v2\.0/\.well-known/openid-configuration")
def openid_configuration(sim, req: Request, segment: str) -> Response:
    base = login_base(req)
    tenant_id = "{tenantid}" if segment.lower() in ("common", "organizations") else _tenant(sim, req, segment)
    path_tenant = segment if segment.lower() in ("common", "organizations") else tenant_id
    return json_response(200, {
        "token_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/{path_tenant}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{tenant_id}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{req.base}/graph/oidc/userinfo",
        "authorization_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/devicecode",
        "http_logout_supported": True, "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/{path_tenant}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                             "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time",
                             "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash",
                             "email"],
        "kerberos_endpoint": f"{base}/{path_tenant}/kerberos",
        "tenant_region_scope": "EU", "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    })


@router.route("GET", r"/(?P<segment>[^/]+)/\.well-known/openid-configuration")
def openid_configuration_v1(sim, req: Request, segment: str) -> Response:
    base = login_base(req)
    tenant_id = _tenant(sim, req, segment)
    return json_response(200, {
        "token_endpoint": f"{base}/{tenant_id}/oauth2/token",
        "jwks_uri": f"{base}/common/discovery/keys",
        "issuer": f"https://sts.windows.net/{tenant_id}/",
        "authorization_endpoint": f"{base}/{tenant_id}/oauth2/authorize",
        "end_session_endpoint": f"{base}/{tenant_id}/oauth2/logout",
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
    })


@router.route("GET", r"/(?P<segment>[^/]+)/discovery(?:/v2\.0)?/keys")
def keys(sim, req: Request, segment: str) -> Response:
    if segment.lower() not in ("common", "organizations"):
        _tenant(sim, req, segment)
    return json_response(200, sim.signer.jwks())


# ---------------------------------------------------------------------------------------------- token
@router.route("POST", r"/(?P<segment>[^/]+)/oauth2/v2\.0/token")
def token_v2(sim, req: Request, segment: str) -> Response:
    return _token(sim, req, segment, version=2)


@router.route("POST", r"/(?P<segment>[^/]+)/oauth2/token")
def token_v1(sim, req: Request, segment: str) -> Response:
    return _token(sim, req, segment, version=1)


def _client_credentials(req: Request, form: dict) -> tuple[str | None, str | None]:
    auth = req.header("Authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            return client_id, secret
        except ValueError:
            pass
    return form.get("client_id"), form.get("client_secret")


def _resource(req: Request, form: dict, version: int) -> tuple[str | None, str | None, set[str]]:
    """(the audience to issue for, the resource scope asked, the OpenID scopes asked)."""
    if version == 1:
        resource = form.get("resource")
        if resource and resource not in tokens.RESOURCES:
            raise entra_error(400, "invalid_resource", 500011, f"The resource principal named {resource} was "
                              "not found in the tenant.", req)
        return resource, None, set((form.get("scope") or "").split())
    asked = (form.get("scope") or "").split()
    oidc = {s for s in asked if s.lower() in OIDC_SCOPES}
    resources = {}
    for scope in asked:
        if scope in oidc:
            continue
        resource, _, permission = scope.rpartition("/")
        if not resource:
            resource, permission = tokens.GRAPH, scope   # "User.Read" means Microsoft Graph
        if resource not in tokens.RESOURCES:
            raise entra_error(400, "invalid_resource", 500011, f"The resource principal named {resource} was "
                              "not found in the tenant.", req)
        resources.setdefault(tokens.RESOURCES[resource], (resource, permission))
    if len(resources) > 1:
        raise entra_error(400, "invalid_scope", 28000, "Provided value for the input parameter scope is not "
                          "valid because it contains more than one resource. Scope "
                          f"{form.get('scope')} is not valid.", req)
    if not resources:
        return None, None, oidc
    resource, permission = next(iter(resources.values()))
    return resource, permission, oidc


def _token(sim, req: Request, segment: str, *, version: int) -> Response:
    form = req.form()
    tenant_id = _tenant(sim, req, segment)
    client_id, secret = _client_credentials(req, form)
    if not client_id:
        raise entra_error(400, "invalid_request", 900144, "The request body must contain the following "
                          "parameter: 'client_id'.", req)
    app = _app(sim, req, client_id, tenant_id)
    if not secret or not secrets.compare_digest(str(secret), str(app.get("appSecret") or "")):
        raise entra_error(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                          "secret being sent in the request is the client secret value, not the client "
                          f"secret ID, for a secret added to app '{app['appId']}'.", req)
    grant = form.get("grant_type")
    audience, permission, oidc = _resource(req, form, version)
    if grant == "client_credentials":
        return _grant_client_credentials(sim, req, app, tenant_id, audience, permission, version)
    if grant == "refresh_token":
        return _grant_refresh_token(sim, req, form, app, tenant_id, audience, oidc, version)
    if grant == "authorization_code":
        return _grant_authorization_code(sim, req, form, app, tenant_id, audience, oidc, version)
    if not grant:
        raise entra_error(400, "invalid_request", 900144, "The request body must contain the following "
                          "parameter: 'grant_type'.", req)
    raise entra_error(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type "
                      f"'{grant}'.", req)


def _lifetime(sim) -> int:
    return int(sim.store.settings["accessTokenLifetimeSeconds"])


def _answer(sim, *, version: int, audience: str, access: str, scope: str | None, refresh: str | None = None,
            id_tok: str | None = None, client_info: str | None = None) -> Response:
    lifetime = _lifetime(sim)
    if version == 1:
        now = int(time.time())
        body = {"token_type": "Bearer", "scope": scope or "", "expires_in": str(lifetime),
                "ext_expires_in": str(lifetime), "expires_on": str(now + lifetime), "not_before": str(now),
                "resource": audience, "access_token": access}
    else:
        body = {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                "access_token": access}
        if scope:
            body["scope"] = scope
    if refresh:
        body["refresh_token"] = refresh
    if id_tok:
        body["id_token"] = id_tok
    if client_info:
        body["client_info"] = client_info
    return json_response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})


def _grant_client_credentials(sim, req, app, tenant_id, audience, permission, version) -> Response:
    if audience is None:
        raise entra_error(400, "invalid_scope" if version == 2 else "invalid_request",
                          1002012 if version == 2 else 900144,
                          "The provided value for scope is not valid. " + DEFAULT_SCOPE_RULE
                          if version == 2 else "The request body must contain the following parameter: "
                          "'resource'.", req)
    if version == 2 and permission != ".default":
        raise entra_error(400, "invalid_scope", 1002012, "The provided value for scope "
                          f"{req.form().get('scope')} is not valid. " + DEFAULT_SCOPE_RULE, req)
    access = tokens.access_token(sim.signer, audience=audience, tenant_id=tenant_id, app_id=app["appId"],
                                 user=None, home_tenant=tenant_id, scopes="", mfa=False,
                                 lifetime=_lifetime(sim))
    return _answer(sim, version=version, audience=audience, access=access, scope=None)


def issue_refresh_token(sim, *, oid: str, client_id: str, mfa: bool) -> str:
    """A new opaque refresh token for a partner user and app (call with the store's lock held)."""
    token = "0.A" + secrets.token_urlsafe(96)
    now = time.time()
    sim.store.internal["refreshTokens"][token] = {"oid": oid.lower(), "clientId": client_id.lower(),
                                                  "mfa": mfa, "issuedAt": now, "lastUsed": now}
    sim.store.changed()
    return token


def _client_info(oid: str, tenant_id: str) -> str:
    return tokens.b64url(json.dumps({"uid": oid, "utid": tenant_id}).encode())


def _user_tokens(sim, req, *, app, tenant_id, audience, oidc, version, user, mfa, nonce=None,
                 issuer_base=None, want_client_info) -> Response:
    """The answer to an App+User grant: access token, rotated refresh token, ID token."""
    store = sim.store
    partner_tid = store.partner["tenantId"]
    if tenant_id.lower() != partner_tid.lower():
        customer = store.customer(tenant_id)
        if customer is not None and customer.get("allowDelegatedAccess") is False:
            raise entra_error(400, "invalid_grant", 50020, f"User account '{user['userPrincipalName']}' from "
                              f"identity provider 'https://sts.windows.net/{partner_tid}/' does not exist in "
                              f"tenant '{customer.get('companyName')}' and cannot access the application "
                              f"'{app['appId']}' in that tenant.", req)
    if audience is None:
        audience_id, permission_scope = tokens.GRAPH_APP_ID, "openid profile email User.Read"
    else:
        audience_id = audience
        permission_scope = USER_SCOPES[tokens.RESOURCES[audience]]
    access = tokens.access_token(sim.signer, audience=audience_id, tenant_id=tenant_id, app_id=app["appId"],
                                 user=user, home_tenant=partner_tid, scopes=permission_scope, mfa=mfa,
                                 lifetime=_lifetime(sim))
    granted_resource = tokens.RESOURCES.get(audience or "", tokens.GRAPH)
    scope = " ".join(f"{granted_resource}/{s}" if audience else s for s in permission_scope.split())
    refresh = None
    if version == 1 or "offline_access" in {s.lower() for s in oidc}:
        with store.lock:
            refresh = issue_refresh_token(sim, oid=user["oid"], client_id=app["appId"], mfa=mfa)
    id_tok = None
    if "openid" in {s.lower() for s in oidc}:
        base = issuer_base or login_base(req)
        id_tok = tokens.id_token(sim.signer, issuer=f"{base}/{tenant_id}/v2.0", client_id=app["appId"],
                                 tenant_id=tenant_id, user=user, mfa=mfa, nonce=nonce)
    client_info = _client_info(user["oid"], partner_tid) if want_client_info else None
    return _answer(sim, version=version, audience=audience_id, access=access, scope=scope, refresh=refresh,
                   id_tok=id_tok, client_info=client_info)


def _grant_refresh_token(sim, req, form, app, tenant_id, audience, oidc, version) -> Response:
    store = sim.store
    token = form.get("refresh_token")
    if not token:
        raise entra_error(400, "invalid_request", 900144, "The request body must contain the following "
                          "parameter: 'refresh_token'.", req)
    with store.lock:
        record = store.internal["refreshTokens"].get(token)
        if record is None or record["clientId"] != app["appId"].lower():
            raise entra_error(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or "
                              "invalid.", req)
        revoked = store.settings["revokeRefreshTokens"]
        now = time.time()
        if revoked == "expired" or now - record["lastUsed"] > REFRESH_TOKEN_INACTIVITY:
            issued = datetime.fromtimestamp(record["issuedAt"], UTC).strftime("%m/%d/%Y %H:%M:%S")
            raise entra_error(400, "invalid_grant", 700082, "The refresh token has expired due to "
                              f"inactivity. The token was issued on {issued} and was inactive for "
                              "90.00:00:00.", req)
        resource_name = audience or tokens.GRAPH
        if revoked == "mfa_required":
            raise entra_error(400, "interaction_required", 50076, "Due to a configuration change made by "
                              "your administrator, or because you moved to a new location, you must use "
                              f"multi-factor authentication to access '{resource_name}'.", req)
        user = store.staff.get(record["oid"])
        if user is None:
            raise entra_error(400, "invalid_grant", 50034, "The user account does not exist in the "
                              "directory. To sign into this application, the account must be added to the "
                              "directory.", req)
        # Entra rotates: each redemption answers a new refresh token. The old one stays valid until it
        # expires or is revoked (Entra does not invalidate a refresh token when it is redeemed).
        record["lastUsed"] = now
        store.changed()
    return _user_tokens(sim, req, app=app, tenant_id=tenant_id, audience=audience, oidc=oidc, version=version,
                        user=user, mfa=record["mfa"], want_client_info=form.get("client_info") == "1")


def _grant_authorization_code(sim, req, form, app, tenant_id, audience, oidc, version) -> Response:
    store = sim.store
    code = form.get("code") or ""
    with store.lock:
        grant = store.codes.get(code)
        if grant is None:
            raise entra_error(400, "invalid_grant", 70000, "The provided value for the 'code' parameter "
                              "is not valid.", req)
        if grant.get("redeemed"):
            raise entra_error(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                              "please retry with a new valid code or use an existing refresh token.", req)
        if time.time() > grant["expires"]:
            raise entra_error(400, "invalid_grant", 70008, "The provided authorization code or refresh token "
                              "has expired due to inactivity. Send a new interactive authorization request "
                              "for this user and resource.", req)
        if grant["clientId"] != app["appId"].lower():
            raise entra_error(400, "invalid_grant", 70000, "Provided grant is invalid or malformed. The code "
                              "was issued to another application.", req)
        if form.get("redirect_uri") != grant["redirectUri"]:
            raise entra_error(400, "invalid_grant", 50148, "The redirect_uri does not match the one used in "
                              "the authorization request.", req)
        challenge = grant.get("codeChallenge")
        if challenge:
            verifier = form.get("code_verifier") or ""
            if grant.get("codeChallengeMethod", "plain").upper() == "S256":
                computed = tokens.b64url(hashlib.sha256(verifier.encode()).digest())
            else:
                computed = verifier
            if not verifier or not secrets.compare_digest(computed, challenge):
                raise entra_error(400, "invalid_grant", 501481, "The Code_Verifier does not match the "
                                  "code_challenge supplied in the authorization request.", req)
        grant["redeemed"] = True
        user = store.staff.get(grant["oid"])
    if user is None:
        raise entra_error(400, "invalid_grant", 50034, "The user account does not exist in the directory.",
                          req)
    asked_oidc = oidc or set(grant["scope"].split()) & OIDC_SCOPES
    if audience is None and version == 2:
        audience, _, _ = _resource(req, {"scope": grant["scope"]}, 2)
    return _user_tokens(sim, req, app=app, tenant_id=grant["tenant"], audience=audience,
                        oidc=asked_oidc | (set(grant["scope"].split()) & OIDC_SCOPES), version=version,
                        user=user, mfa=grant["mfa"], nonce=grant.get("nonce"),
                        issuer_base=grant["issuerBase"],
                        want_client_info=form.get("client_info") == "1")


# ------------------------------------------------------------------------------------------- sign-in
def _error_page(status: int, code: int, message: str) -> Response:
    return html_response(status, _page("Sign in",
                                       f'<p class="error">AADSTS{code}: {html.escape(message)}</p>'))


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} – Microsoft (simulated)</title>
<style>body{{font-family:Segoe UI,system-ui,sans-serif;background:#f2f2f2;margin:0}}
main{{background:#fff;max-width:440px;margin:48px auto;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}}
h1{{font-size:24px;font-weight:600}} .account{{display:block;padding:8px 0}}
.muted{{color:#666;font-size:13px}}
.error{{color:#a80000}} button{{background:#0067b8;color:#fff;border:0;padding:8px 24px;font-size:15px;
margin-right:8px}} button.secondary{{background:#ccc;color:#000}}</style></head>
<body><main><p class="muted">Microsoft (simulated)</p><h1>{html.escape(title)}</h1>{body}</main>
</body></html>"""


def _redirect_with(redirect_uri: str, response_mode: str, params: dict) -> Response:
    params = {k: v for k, v in params.items() if v is not None}
    if response_mode == "form_post":
        inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(str(v))}">'
                         for k, v in params.items())
        return html_response(200, f"""<!doctype html><html><head><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="POST" action="{html.escape(redirect_uri)}">{inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form></body></html>""")
    separator = "#" if response_mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return redirect(redirect_uri + separator + urlencode(params))


def _check_authorize(sim, req: Request, segment: str, params: dict) -> tuple[str, dict] | Response:
    tenant_id = sim.store.tenant_id(segment)
    if tenant_id is None:
        return _error_page(400, 90002, f"Tenant '{segment}' not found.")
    req.tenant = tenant_id
    client_id = params.get("client_id")
    app = next((a for a in _apps(sim) if tokens.lower_eq(a["appId"], client_id)), None)
    if app is None:
        return _error_page(400, 700016, f"Application with identifier '{client_id}' was not found in the "
                           f"directory '{tenant_id}'.")
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or urlsplit(redirect_uri).scheme not in ("http", "https"):
        return _error_page(400, 900144, "The request body must contain the following parameter: "
                           "'redirect_uri'.")
    allowed = app.get("redirectUris")
    if allowed and redirect_uri not in allowed:
        return _error_page(400, 50011, f"The redirect URI '{redirect_uri}' specified in the request does not "
                           f"match the redirect URIs configured for the application '{app['appId']}'.")
    return tenant_id, app


@router.route("GET", r"/(?P<segment>[^/]+)/oauth2/v2\.0/authorize")
def authorize(sim, req: Request, segment: str) -> Response:
    params = req.query
    checked = _check_authorize(sim, req, segment, params)
    if isinstance(checked, Response):
        return checked
    mode = params.get("response_mode", "query")
    if params.get("response_type") != "code":
        return _redirect_with(params["redirect_uri"], mode, {
            "error": "unsupported_response_type", "state": params.get("state"),
            "error_description": "AADSTS700054: response_type is not enabled for the application."})
    if params.get("code_challenge_method", "plain").upper() not in ("S256", "PLAIN"):
        return _redirect_with(params["redirect_uri"], mode, {
            "error": "invalid_request", "state": params.get("state"),
            "error_description": "AADSTS501491: Invalid code_challenge_method."})
    if params.get("prompt") == "none":
        return _redirect_with(params["redirect_uri"], mode, {
            "error": "login_required", "state": params.get("state"),
            "error_description": "AADSTS50058: A silent sign-in request was sent but no user is signed in."})
    staff = (sim.store.partner or {}).get("staff", [])
    hint = (params.get("login_hint") or "").lower()
    chosen = next((s for s in staff if s["userPrincipalName"].lower() == hint), staff[0] if staff else None)
    hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in params.items())
    accounts = "".join(
        f'<label class="account"><input type="radio" name="user" value="{html.escape(s["oid"])}"'
        f'{" checked" if s is chosen else ""}> {html.escape(s.get("displayName", ""))} '
        f'<span class="muted">{html.escape(s["userPrincipalName"])} · '
        f'{html.escape(", ".join(s.get("roles", [])) or "no app role")}</span></label>'
        for s in staff) or '<p class="error">This tenant has no staff users in the scenario.</p>'
    body = f"""<p>Pick an account of {html.escape(sim.store.tenant_name(checked[0]))}.</p>
<form method="post">{hidden}<fieldset><legend>Account</legend>{accounts}</fieldset>
<p><label><input type="checkbox" name="mfa" value="1" checked> Multi-factor authentication done</label></p>
<p><button type="submit" name="action" value="sign_in">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary">Cancel</button></p></form>"""
    return html_response(200, _page("Sign in", body))


@router.route("POST", r"/(?P<segment>[^/]+)/oauth2/v2\.0/authorize")
def authorize_submit(sim, req: Request, segment: str) -> Response:
    params = req.form()
    checked = _check_authorize(sim, req, segment, params)
    if isinstance(checked, Response):
        return checked
    tenant_id, app = checked
    mode = params.get("response_mode", "query")
    state = params.get("state")
    if params.get("action") == "cancel":
        return _redirect_with(params["redirect_uri"], mode, {
            "error": "access_denied", "state": state,
            "error_description": "AADSTS65004: User declined to consent to access the app."})
    user = sim.store.staff.get((params.get("user") or "").lower())
    if user is None:
        return _error_page(400, 50034, "The user account does not exist in the directory.")
    code = "1.A" + secrets.token_urlsafe(64)
    with sim.store.lock:
        now = time.time()
        for stale in [c for c, g in sim.store.codes.items() if g["expires"] < now]:
            del sim.store.codes[stale]
        sim.store.codes[code] = {
            "clientId": app["appId"].lower(), "redirectUri": params["redirect_uri"],
            "scope": params.get("scope", "openid"), "nonce": params.get("nonce"),
            "codeChallenge": params.get("code_challenge"),
            "codeChallengeMethod": params.get("code_challenge_method", "plain"),
            "oid": user["oid"].lower(), "mfa": params.get("mfa") == "1", "tenant": tenant_id,
            "expires": now + CODE_LIFETIME, "issuerBase": login_base(req)}
    return _redirect_with(params["redirect_uri"], mode, {
        "code": code, "state": state, "session_state": str(uuid.uuid5(uuid.NAMESPACE_OID, user["oid"]))})


@router.route("GET,POST", r"/(?P<segment>[^/]+)/oauth2/(?:v2\.0/)?logout")
def logout(sim, req: Request, segment: str) -> Response:
    params = req.query if req.method == "GET" else req.form()
    target = params.get("post_logout_redirect_uri")
    if target:
        if params.get("state"):
            target += ("&" if "?" in target else "?") + urlencode({"state": params["state"]})
        return redirect(target)
    return html_response(200, _page("You signed out of your account",
                                    "<p>It's a good idea to close all browser windows.</p>"))


# --------------------------------------------------------------------------------------- the service
def handle(sim, req: Request) -> Response:
    from .web import dispatch
    return dispatch(router, sim, req, not_found=lambda: html_response(404, _page("Not found", (
        "<p>AADSTS900561: The endpoint only accepts POST, OPTIONS requests." if req.method == "GET"
        else "<p>The page does not exist.") + "</p>")))


def error_response(status: int, req: Request, *, retry_after: int) -> Response:
    if status == 429:
        return entra_error(429, "temporarily_unavailable", 90055, "Too many requests; retry later.",
                           req).response
    return entra_error(status, "temporarily_unavailable", 90033, "A transient error has occurred. Please "
                       "try again.", req).response


def decorate(req: Request, response: Response) -> None:
    response.header("x-ms-request-id", str(uuid.uuid4()))
    if req.header("client-request-id"):
        response.header("client-request-id", req.header("client-request-id"))
