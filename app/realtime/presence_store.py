"""Presence state (who is where, per tab) in memory or in Redis, with the dwell visits it closes.

A visitor's visit to a place runs from their first tab entering to their last tab leaving or
timing out, so a visit is the union of their tabs' intervals and is counted once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import redis.asyncio as aioredis


@dataclass(frozen=True, slots=True)
class Visit:
    place: str
    visitor: int
    started: float
    ended: float

    @property
    def seconds(self) -> int:
        return max(0, round(self.ended - self.started))


@dataclass(frozen=True, slots=True)
class Change:
    """The outcome of one enter/leave: the place's visitor count, and what it means."""

    place: str
    visitor: int
    count: int
    entered: bool = False  # the visitor's first tab arrived
    visit: Visit | None = None  # the visitor's last tab left: their visit ended


class PresenceStore(ABC):
    """Where presence lives: in this process (MemoryPresence) or in Redis (RedisPresence)."""

    @abstractmethod
    async def enter(self, place: str, conn: str, visitor: int, now: float) -> Change:
        """Enter or refresh (heartbeat) one tab's presence."""

    @abstractmethod
    async def leave(self, place: str, conn: str, now: float) -> Change | None:
        """One tab left; the visitor's visit ends with their last tab."""

    @abstractmethod
    async def expire(self, cutoff: float) -> list[Change]:
        """Drop tabs not seen since `cutoff`; visits they close end when they were last seen."""

    @abstractmethod
    async def count(self, place: str) -> int:
        """Distinct visitors in `place` now."""

    @abstractmethod
    async def visitors(self, place: str) -> list[int]:
        """Who is in `place` now."""


@dataclass
class _Place:
    tabs: dict[str, tuple[int, float]] = field(default_factory=dict)  # conn -> (visitor, seen)
    open_tabs: dict[int, int] = field(default_factory=dict)
    started: dict[int, float] = field(default_factory=dict)


class MemoryPresence(PresenceStore):
    def __init__(self) -> None:
        self._places: dict[str, _Place] = {}

    async def enter(self, place: str, conn: str, visitor: int, now: float) -> Change:
        state = self._places.setdefault(place, _Place())
        existed = conn in state.tabs
        state.tabs[conn] = (visitor, now)
        entered = False
        if not existed:
            state.open_tabs[visitor] = state.open_tabs.get(visitor, 0) + 1
            if state.open_tabs[visitor] == 1:
                state.started[visitor] = now
                entered = True
        return Change(place, visitor, len(state.open_tabs), entered=entered)

    def _drop(self, place: str, conn: str, end: float | None) -> Change | None:
        state = self._places.get(place)
        if state is None or conn not in state.tabs:
            return None
        visitor, seen = state.tabs.pop(conn)
        state.open_tabs[visitor] -= 1
        visit = None
        if state.open_tabs[visitor] <= 0:
            del state.open_tabs[visitor]
            started = state.started.pop(visitor)
            visit = Visit(place, visitor, started, seen if end is None else end)
        if not state.tabs:
            del self._places[place]
        return Change(place, visitor, len(state.open_tabs), visit=visit)

    async def leave(self, place: str, conn: str, now: float) -> Change | None:
        return self._drop(place, conn, now)

    async def expire(self, cutoff: float) -> list[Change]:
        changes: list[Change] = []
        for place, state in list(self._places.items()):
            for conn, (_visitor, seen) in list(state.tabs.items()):
                if seen < cutoff:
                    change = self._drop(place, conn, None)
                    if change is not None:
                        changes.append(change)
        return changes

    async def count(self, place: str) -> int:
        state = self._places.get(place)
        return len(state.open_tabs) if state else 0

    async def visitors(self, place: str) -> list[int]:
        state = self._places.get(place)
        return sorted(state.open_tabs) if state else []


_ENTER = """
local existed = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local entered = 0
if not existed then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  local n = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  if n == 1 then
    redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
    entered = 1
  end
end
redis.call('SADD', KEYS[5], ARGV[4])
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ARGV[5]) end
return {entered, redis.call('HLEN', KEYS[3])}
"""

# Shared by leave and expire: drop one tab, returning {visitor, started or "", count}.
_DROP = """
local function drop(pz, pc, pn, pv, conn)
  local v = redis.call('HGET', pc, conn)
  if not v then return nil end
  redis.call('ZREM', pz, conn)
  redis.call('HDEL', pc, conn)
  local started = ''
  if redis.call('HINCRBY', pn, v, -1) <= 0 then
    started = redis.call('HGET', pv, v) or ''
    redis.call('HDEL', pn, v)
    redis.call('HDEL', pv, v)
  end
  return {v, started, redis.call('HLEN', pn)}
end
"""

_LEAVE = (
    _DROP
    + """
local r = drop(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
if not r then return false end
return r
"""
)

_EXPIRE = (
    _DROP
    + """
local out = {}
for _, place in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local p = ARGV[2]
  local pz, pc, pn, pv = p..'pz:'..place, p..'pc:'..place, p..'pn:'..place, p..'pv:'..place
  local stale = redis.call('ZRANGEBYSCORE', pz, '-inf', '('..ARGV[1], 'WITHSCORES')
  for i = 1, #stale, 2 do
    local r = drop(pz, pc, pn, pv, stale[i])
    if r then
      table.insert(out, place); table.insert(out, r[1]); table.insert(out, r[2])
      table.insert(out, stale[i + 1]); table.insert(out, r[3])
    end
  end
  if redis.call('ZCARD', pz) == 0 then redis.call('SREM', KEYS[1], place) end
end
return out
"""
)


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisPresence(PresenceStore):
    """Presence shared by every worker: per place a sorted set of tabs by last-seen time."""

    def __init__(self, client: aioredis.Redis, prefix: str, ttl: int = 86400) -> None:
        self.client = client
        self.prefix = prefix + "presence:"
        self.ttl = ttl
        self._enter = client.register_script(_ENTER)
        self._leave = client.register_script(_LEAVE)
        self._expire = client.register_script(_EXPIRE)

    def _keys(self, place: str) -> list[str]:
        return [f"{self.prefix}{k}:{place}" for k in ("pz", "pc", "pn", "pv")]

    async def enter(self, place: str, conn: str, visitor: int, now: float) -> Change:
        keys = [*self._keys(place), self.prefix + "places"]
        entered, count = await self._enter(keys=keys, args=[conn, visitor, now, place, self.ttl])
        return Change(place, visitor, int(count), entered=bool(entered))

    async def leave(self, place: str, conn: str, now: float) -> Change | None:
        result = await self._leave(keys=self._keys(place), args=[conn])
        if not result:
            return None
        visitor, started, count = result
        visit = None
        if _str(started):
            visit = Visit(place, int(visitor), float(started), now)
        return Change(place, int(visitor), int(count), visit=visit)

    async def expire(self, cutoff: float) -> list[Change]:
        flat = await self._expire(keys=[self.prefix + "places"], args=[cutoff, self.prefix])
        changes = []
        for i in range(0, len(flat), 5):
            place, visitor, started, seen, count = (_str(v) for v in flat[i : i + 5])
            visit = Visit(place, int(visitor), float(started), float(seen)) if started else None
            changes.append(Change(place, int(visitor), int(count), visit=visit))
        return changes

    async def count(self, place: str) -> int:
        return int(await self.client.hlen(self._keys(place)[2]))

    async def visitors(self, place: str) -> list[int]:
        keys = await self.client.hkeys(self._keys(place)[2])
        return sorted(int(_str(k)) for k in keys)
