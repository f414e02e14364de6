// Drop-in for a booth page: <section data-live-booth="{{ booth.id }}"> ... </section> and
// <script type="module" src="/static/js/booth-live.js">. Marks the visitor present (with
// heartbeats), shows the live visitor count, a private chat with the booth's staff and the
// booth's public room.
import { Live, mountChat, presenceBadge } from "./live.js";

const root = document.querySelector("[data-live-booth]");
if (root) {
  const boothId = Number(root.dataset.liveBooth);
  const place = `booth:${boothId}`;
  const live = new Live({ accountId: Number(root.dataset.account || 0) || null }).connect();
  const badge = document.createElement("span");
  badge.className = "badge badge--live";
  badge.textContent = "0";
  const unread = document.createElement("span");
  unread.className = "count";
  unread.hidden = true;
  const line = document.createElement("p");
  line.className = "muted";
  line.append("Here now: ", badge, " ", unread);
  const panel = document.createElement("div");
  panel.className = "stack";
  panel.dataset.chat = "private";
  const publicPanel = document.createElement("div");
  publicPanel.className = "stack";
  publicPanel.dataset.chat = "public";
  const publicUnread = document.createElement("span");
  publicUnread.className = "count";
  publicUnread.hidden = true;
  root.append(line, panel, publicPanel);
  presenceBadge(live, place, badge);
  (async () => {
    await live.subscribe(place);
    const entered = await live.enter(place);
    badge.textContent = String(entered.count);
    const { room } = await live.call("chat.open", { booth_id: boothId, private: true });
    const joined = await live.room(room.id);
    mountChat(panel, joined, { title: "Ask the team (only you and the staff)", badge: unread });
    const open = await live.call("chat.open", { booth_id: boothId, private: false });
    const everyone = await live.room(open.room.id);
    mountChat(publicPanel, everyone, { title: "Booth chat (everyone here)", badge: publicUnread });
  })().catch((err) => { line.append(` (${err.message})`); });
  window.addEventListener("pagehide", () => live.close());
}
