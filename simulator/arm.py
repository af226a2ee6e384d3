from __future__ import annotations

from .web import Request, Response, json_response


def handle(sim, req: Request) -> Response:
    return json_response(404, {"error": "not yet"})


def error_response(status: int, req: Request, *, retry_after: int) -> Response:
    return json_response(status, {"error": "fault"})


def decorate(req: Request, response: Response) -> None:
    pass
