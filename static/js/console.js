// The exhibitor's live console: visitors in the booth with their lead card, the staff feed,
// and a private chat with any of them. User text goes through textContent only.
import { Live, mountChat } from "./live.js";

const root = document.getElementById("live-console");
const exhibitorId = Number(root.dataset.exhibitor);
const boothId = Number(root.dataset.booth);
const place = `booth:${boothId}`;
const live = new Live({ accountId: Number(root.dataset.account) });
const count = document.getElementById("console-count");
const status = document.getElementById("console-status");
const visitors = document.getElementById("console-visitors");
const feed = document.getElementById("console-feed");
const chat = document.getElementById("console-chat");
const leadsPath = root.dataset.leads;

function text(tag, className, value) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.textContent = value == null ? "" : String(value);
  return node;
}

// "· A4 · MQL" after a name in the feed: the lead's cell and lifecycle stage.
function leadLine(card) {
  const lead = card && card.lead;
  if (!lead) return "";
  return [lead.cell, lead.stage === "mql" ? "MQL" : lead.stage].filter(Boolean).map((p) => ` · ${p}`).join("");
}

function ago(at) {
  const seconds = Math.max(0, (Date.now() - Date.parse(at)) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

// The lead behind a card: its cell and scores, the latest things done at this exhibitor,
// and a link to the whole lead (score reasons, timeline, calls and notes).
function leadDetails(lead) {
  const box = document.createElement("div");
  box.className = "stack stack--sm";
  const line = document.createElement("p");
  line.append(text("span", "tag", `${lead.cell} · fit ${lead.fit} · engagement ${lead.engagement}`));
  line.append(" ", text("span", "tag", lead.buying_stage ? `${lead.stage} · ${lead.buying_stage}` : lead.stage));
  if (lead.mql) line.append(" ", text("span", "badge badge--live", "MQL"));
  box.append(line);
  const recent = lead.last_activities || [];
  if (recent.length) {
    const list = text("ul", "muted");
    list.setAttribute("aria-label", "Latest activities here");
    for (const a of recent) {
      const what = a.label ? `${a.what}: ${a.label}` : a.what;
      list.append(text("li", null, `${what} · ${ago(a.at)}`));
    }
    box.append(list);
  }
  const link = text("a", null, "Open the lead");
  link.href = `${leadsPath}${lead.lead_id}`;
  box.append(link);
  return box;
}

// One conversation is shown at a time; a message from another visitor never takes it
// away (nor what is being typed in it): it is counted on that visitor and answerable from
// the feed.
let openWith = null; // account id of the visitor whose chat is shown
const unread = new Map(); // account id -> messages not seen

function showUnread(accountId) {
  const badge = visitors.querySelector(`[data-account="${accountId}"] .count`);
  if (!badge) return;
  const n = unread.get(accountId) || 0;
  badge.textContent = n ? `${n} new` : "";
  badge.hidden = !n;
}

async function startChat(card) {
  const { room } = await live.call("chat.open", {
    booth_id: boothId, private: true, visitor_id: card.account_id,
  });
  const joined = await live.room(room.id);
  // Only once it is open (a failed open, while reconnecting, leaves things as they were).
  openWith = card.account_id;
  unread.delete(card.account_id);
  showUnread(card.account_id);
  mountChat(chat, joined, { title: `Chat with ${card.name || "visitor"}` });
}

const cards = new Map(); // account id -> the card shown for a visitor in the booth

function visitorItem(card) {
  cards.set(card.account_id, card);
  const item = document.createElement("li");
  item.dataset.account = String(card.account_id);
  item.append(text("strong", null, card.name || "Visitor"));
  const meta = [card.job_title, card.company, card.country].filter(Boolean).join(", ");
  item.append(text("span", "muted", meta ? ` — ${meta}` : ""));
  if (card.lead) item.append(leadDetails(card.lead));
  const button = text("button", "button button--small", "Start chat");
  button.type = "button";
  button.addEventListener("click", () => startChat(card).catch((e) => { status.textContent = e.message; }));
  const waiting = unread.get(card.account_id) || 0;
  const badge = text("span", "count", waiting ? `${waiting} new` : "");
  badge.hidden = !waiting;
  item.append(" ", button, " ", badge);
  return item;
}

async function refresh() {
  const snapshot = await live.call("presence.list", { place });
  count.textContent = String(snapshot.count);
  cards.clear();
  visitors.replaceChildren(...(snapshot.visitors || []).map(visitorItem));
}

function log(message) {
  const item = text("li", null, message);
  feed.prepend(item);
  while (feed.children.length > 100) feed.lastChild.remove();
  return item;
}

live.on("open", () => { status.textContent = "Live"; });
live.on("close", () => { status.textContent = "Reconnecting…"; });
live.on("staff.visitor_entered", (body) => {
  count.textContent = String(body.count);
  log(`${body.visitor ? body.visitor.name : "A visitor"} entered the booth${leadLine(body.visitor)}`);
  if (body.visitor) {
    visitors.querySelector(`[data-account="${body.visitor.account_id}"]`)?.remove();
    visitors.prepend(visitorItem(body.visitor));
  }
});
live.on("staff.visitor_left", (body) => {
  count.textContent = String(body.count);
  log(`${body.visitor ? body.visitor.name : "A visitor"} left after ${body.seconds ?? 0} s`);
  if (body.visitor) {
    visitors.querySelector(`[data-account="${body.visitor.account_id}"]`)?.remove();
    cards.delete(body.visitor.account_id);
  }
});
live.on("staff.chat", (body) => {
  const item = log(`${body.message.author_name || "A visitor"}: ${body.message.body}`);
  const visitor = body.visitor;
  if (body.room.kind !== "booth_private" || !visitor || visitor.account_id === openWith) return;
  const open = () => startChat(visitor).catch((e) => { status.textContent = e.message; });
  if (openWith === null) {
    open();
    return;
  }
  unread.set(visitor.account_id, (unread.get(visitor.account_id) || 0) + 1);
  showUnread(visitor.account_id);
  const reply = text("button", "button button--small", `Reply to ${visitor.name || "visitor"}`);
  reply.type = "button";
  reply.addEventListener("click", open);
  item.append(" ", reply);
});
// What a visitor just did here (a download, a video watched): their card follows.
live.on("staff.activity", (body) => {
  const a = body.activity;
  log(`${body.name || "A visitor"} ${a.what}${a.label ? `: ${a.label}` : ""}`);
  const item = visitors.querySelector(`[data-account="${body.account_id}"]`);
  const card = cards.get(body.account_id);
  if (!item || !card) return;
  const recent = [a, ...((card.lead && card.lead.last_activities) || [])].slice(0, 3);
  item.replaceWith(visitorItem({ ...card, lead: { ...body.lead, last_activities: recent } }));
});
live.on("staff.hand_raise", (body) => log(`Hand raised: ${body.name || "a visitor"} ${body.what || ""}`));
live.on("staff.mql", (body) => log(`MQL reached: ${body.name || "a lead"} ${body.cell || ""}`));

live.connect();
live.subscribe(`staff:${exhibitorId}`).then(refresh).catch((e) => { status.textContent = e.message; });
live.on("open", () => refresh().catch(() => {}));
