import re
import uuid

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Give every request an id (the caller's MS-RequestId when it sends a sane one) for the log."""

    header = "HTTP_MS_REQUESTID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        sent = request.META.get(self.header, "")
        request.request_id = sent if _SAFE_ID.match(sent) else str(uuid.uuid4())
        response = self.get_response(request)
        response["MS-RequestId"] = request.request_id
        return response
