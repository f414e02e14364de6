"""The frame protocol: `[action, id, body]` in, `[success|error|event, id, body]` out."""

from __future__ import annotations

import struct
from typing import Annotated, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from app.errors import AppError

JsonDict = dict[str, object]

Action = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z_]*(\.[a-z_]+)*$", max_length=64)]
FrameId = int | Annotated[str, StringConstraints(max_length=64)] | None

# Close codes (1xxx from RFC 6455, 4xxx ours).
CLOSE_TOO_BIG: Final = 1009
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_RECONNECT: Final = 4000
CLOSE_UNAUTHENTICATED: Final = 4401
CLOSE_BAD_ORIGIN: Final = 4403


class ProtocolInvalid(AppError):
    code = "protocol.invalid"

    @classmethod
    def default_message(cls) -> str:
        return "Frames are JSON arrays: [action, id, body]."


class UnknownAction(AppError):
    code = "protocol.unknown_action"
    status = 404

    @classmethod
    def default_message(cls) -> str:
        return "There is no such action."


class RateLimited(AppError):
    code = "protocol.rate_limited"
    status = 429

    @classmethod
    def default_message(cls) -> str:
        return "Too many messages; slow down."


class Denied(AppError):
    code = "realtime.denied"
    status = 403

    @classmethod
    def default_message(cls) -> str:
        return "You cannot listen to that channel."


class Frame(BaseModel):
    """One client frame, validated."""

    model_config = ConfigDict(frozen=True)

    action: Action
    id: FrameId = None
    body: JsonDict = Field(default_factory=dict)


_shape: TypeAdapter[tuple[Action, FrameId, JsonDict]] = TypeAdapter(
    tuple[Action, FrameId, JsonDict]
)


def parse_frame(text: str | bytes) -> Frame:
    """Decode and validate a client frame; ProtocolInvalid (with the id when known) otherwise."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolInvalid("That frame is not valid JSON.", id=None) from None
    frame_id = None
    if isinstance(raw, list) and len(raw) >= 2 and isinstance(raw[1], int | str):
        frame_id = raw[1] if not isinstance(raw[1], str) or len(raw[1]) <= 64 else None
    try:
        action, fid, body = _shape.validate_python(raw)
    except ValidationError as exc:
        fields = [
            {"at": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        raise ProtocolInvalid(fields=fields, id=frame_id) from None
    return Frame.model_construct(action=action, id=fid, body=body)  # validated just above


def validation_error(exc: ValidationError) -> ProtocolInvalid:
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return ProtocolInvalid("Some fields are not valid.", fields=fields)


def dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def success(frame_id: FrameId, data: object) -> str:
    return dumps(["success", frame_id, data])


def error(frame_id: FrameId, exc: AppError) -> str:
    body = exc.to_dict()
    body.pop("id", None)
    return dumps(["error", frame_id, body])


def push(event: str, body: object) -> bytes:
    """A server push, serialised once and shared by every recipient."""
    return orjson.dumps([event, None, body])


def text_frame(data: bytes) -> bytes:
    """`data` (UTF-8) as one unmasked, uncompressed websocket text frame (RFC 6455 5.2)."""
    size = len(data)
    if size < 126:
        return bytes((0x81, size)) + data
    if size < 65536:
        return struct.pack("!BBH", 0x81, 126, size) + data
    return struct.pack("!BBQ", 0x81, 127, size) + data


class Outgoing(str):
    """A pushed frame's JSON text, shared by every recipient; its websocket frame is built once."""

    _data: bytes | None = None
    _frame: bytes | None = None

    @classmethod
    def of(cls, data: bytes) -> Outgoing:
        out = cls(data.decode())
        out._data = data
        return out

    @property
    def frame(self) -> bytes:
        frame = self._frame
        if frame is None:
            frame = self._frame = text_frame(self._data or self.encode())
        return frame
