import re
import uuid

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _traced(sent: str) -> str:
    return sent if _SAFE_ID.match(sent) else str(uuid.uuid4())


class RequestIdMiddleware:
    """Give every request Partner Center's trace ids, echoed in the response and kept in the log.

    ``MS-RequestId`` names this one request, ``MS-CorrelationId`` the caller's larger operation.
    A sane id the caller sends is kept; a missing or malformed one is replaced by a new UUID.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = _traced(request.META.get("HTTP_MS_REQUESTID", ""))
        request.correlation_id = _traced(request.META.get("HTTP_MS_CORRELATIONID", ""))
        response = self.get_response(request)
        response["MS-RequestId"] = request.request_id
        response["MS-CorrelationId"] = request.correlation_id
        return response
