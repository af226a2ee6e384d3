"""Errors in Partner Center's shape: {"code", "description", "data"}, with the matching status."""

from http import HTTPStatus

from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

# Partner Center's own codes for a self-serve policy; the rest are ours, as stable strings.
POLICY_NOT_FOUND = 600039
POLICY_ID_INVALID = 600040
POLICY_EXISTS = 600041


class ApiError(Exception):
    def __init__(self, status: HTTPStatus, code: int | str, description, data=(), headers=None):
        super().__init__(str(description))
        self.status = status
        self.code = code
        self.description = description
        self.data = [str(item) for item in data]
        self.headers = headers or {}

    def response(self) -> JsonResponse:
        return error_response(self.status, self.code, self.description, self.data, self.headers)


def error_response(status, code, description, data=(), headers=None) -> JsonResponse:
    response = JsonResponse(
        {"code": code, "description": str(description), "data": list(data)},
        status=status, json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def bad_request(code: str, description, data=()) -> ApiError:
    return ApiError(HTTPStatus.BAD_REQUEST, code, description, data)


def policy_not_found() -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, POLICY_NOT_FOUND,
                    _("Self-serve policy not found: the customer allows no purchases."))


def policy_id_invalid() -> ApiError:
    return ApiError(
        HTTPStatus.NOT_FOUND, POLICY_ID_INVALID,
        _("Self-serve policy id is invalid: expected {partnerTenantId}_{customerTenantId} "
          "with this partner's tenant id."),
    )


def customer_not_found() -> ApiError:
    return ApiError(HTTPStatus.NOT_FOUND, "customer_not_found",
                    _("No customer has that tenant id."))
