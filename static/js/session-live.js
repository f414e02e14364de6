// Drop-in for a session page: <div data-live-session="{{ session.id }}">. Marks the attendee
// present in the session, shows how many watch now, and mounts the session's chat room.
import { Live, mountChat, presenceBadge } from "./live.js";

const root = document.querySelector("[data-live-session]");
if (root) {
  const sessionId = Number(root.dataset.liveSession);
  const place = `session:${sessionId}`;
  const live = new Live({ accountId: Number(root.dataset.account || 0) || null }).connect();
  const badge = document.createElement("span");
  badge.className = "badge badge--live";
  badge.textContent = "0";
  const line = document.createElement("p");
  line.className = "muted";
  line.append("Watching now: ", badge);
  const panel = document.createElement("div");
  panel.className = "stack";
  root.append(line, panel);
  presenceBadge(live, place, badge);
  (async () => {
    await live.subscribe(place);
    const entered = await live.enter(place);
    badge.textContent = String(entered.count);
    const { room } = await live.call("chat.open", { session_id: sessionId });
    const joined = await live.room(room.id);
    mountChat(panel, joined, { title: "Session chat" });
  })().catch((err) => { line.append(` (${err.message})`); });
  window.addEventListener("pagehide", () => live.close());
}
