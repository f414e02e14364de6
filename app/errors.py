"""The AppError tree and its rendering: JSON under /api, a friendly HTML page elsewhere."""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger()


class AppError(Exception):
    """Base of every error a service raises; `code` is dotted (`booth.not_found`)."""

    code: ClassVar[str] = "app.error"
    status: ClassVar[int] = 400
    message: str

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message()
        self.extra = extra
        super().__init__(self.message)

    @classmethod
    def default_message(cls) -> str:
        return "The request could not be completed."

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class NotFound(AppError):
    code = "app.not_found"
    status = 404

    @classmethod
    def default_message(cls) -> str:
        return "We could not find that page."


class Unauthenticated(AppError):
    code = "auth.required"
    status = 401

    @classmethod
    def default_message(cls) -> str:
        return "Please log in to continue."


class Forbidden(AppError):
    code = "auth.forbidden"
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "You do not have access to this."


class Conflict(AppError):
    code = "app.conflict"
    status = 409


class Invalid(AppError):
    """Bad input that passed schema validation but fails a business rule."""

    code = "app.invalid"
    status = 422


class RateLimited(AppError):
    code = "app.rate_limited"
    status = 429


class CsrfFailed(AppError):
    code = "auth.csrf"
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "This form has expired or was not sent from Expohall. Reload the page and try again."


def wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


async def _render(request: Request, status: int, body: dict[str, Any]) -> Response:
    if wants_json(request):
        return JSONResponse({"error": body}, status_code=status)
    from app.auth.deps import viewer_for
    from app.templating import templates

    context = {"status": status, "error": body, "account": await viewer_for(request)}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        headers = (
            {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra else None
        )
        response = await _render(request, exc.status, exc.to_dict())
        if headers:
            response.headers.update(headers)
        if isinstance(exc, Unauthenticated) and not wants_json(request):
            from urllib.parse import quote

            from fastapi.responses import RedirectResponse

            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]}
            for e in exc.errors()
        ]
        body = {"code": "app.validation", "message": "Some fields are not valid.", "fields": fields}
        return await _render(request, 422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "We could not find that page.", 405: "That action is not allowed here."}
        body = {
            "code": f"http.{exc.status_code}",
            "message": messages.get(exc.status_code, str(exc.detail)),
        }
        return await _render(request, exc.status_code, body)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("request.failed", path=request.url.path)
        body = {
            "code": "app.internal",
            "message": "Something went wrong on our side. It has been logged; please try again.",
        }
        return await _render(request, 500, body)
