// The browser side of /ws (docs/realtime.md): one connection per tab, reconnect with
// jittered backoff, resume each joined room from the last change seen (`changed_seq`), and
// small DOM helpers that insert user text with textContent only.

const HEARTBEAT_MS = 15000;
const CLOSE_UNAUTHENTICATED = 4401;

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

export class LiveError extends Error {
  constructor(body) {
    super(body.message || body.code);
    this.code = body.code;
    this.body = body;
  }
}

/** The room sequence number of a message's last change (sent, edited or deleted). */
const changedSeq = (message) => message.changed_seq ?? message.seq;

/**
 * A joined chat room: messages by seq (a message's place, which never changes), resumed
 * after every reconnect from `lastSeq`, the highest `changed_seq` seen.
 */
class Room extends EventTarget {
  constructor(live, id) {
    super();
    this.live = live;
    this.id = id;
    this.lastSeq = null;
    this.messages = new Map();
    this.unread = 0;
  }

  _saw(number) {
    if (Number.isFinite(number) && (this.lastSeq === null || number > this.lastSeq)) {
      this.lastSeq = number;
    }
  }

  /**
   * Show a message, or its newer state if it is already shown. `page`: it comes from
   * chat.history, so it may be older than every message held.
   */
  _accept(message, { page = false } = {}) {
    this._saw(changedSeq(message));
    const shown = this.messages.get(message.seq);
    const known = shown !== undefined;
    // A push and a join answer can cross: never put an older state over a newer one.
    if (known && changedSeq(shown) > changedSeq(message)) return;
    // A change to a message older than any held is not on screen: chat.history brings it
    // in its current state when the reader pages back.
    if (!known && !page && this.messages.size && message.seq < Math.min(...this.messages.keys())) {
      return;
    }
    this.messages.set(message.seq, message);
    this.dispatchEvent(new CustomEvent(known ? "update" : "message", { detail: message }));
    if (!known && message.author_id !== this.live.accountId) {
      this.unread += 1;
      this.dispatchEvent(new CustomEvent("unread", { detail: this.unread }));
    }
  }

  markRead() {
    this.unread = 0;
    this.dispatchEvent(new CustomEvent("unread", { detail: 0 }));
  }

  /** Join, or rejoin after a reconnect: new messages, edits and deletes since `lastSeq`. */
  async join() {
    const first = this.lastSeq === null; // then the answer is the latest page of history
    const data = await this.live.call("chat.join", { room_id: this.id, after_seq: this.lastSeq });
    if (data.gap) {
      this.messages.clear();
      this.dispatchEvent(new CustomEvent("reset"));
      const page = await this.live.call("chat.history", { room_id: this.id, limit: 50 });
      page.messages.forEach((m) => this._accept(m, { page: true }));
      // The page was read after `last_seq`: every change up to it is either on the page or
      // to a message not held (which chat.history brings current when paging back).
      this._saw(data.last_seq);
    } else {
      // Ordered by changed_seq: new messages and changes to ones already shown.
      data.messages.forEach((m) => this._accept(m, { page: first }));
    }
    return data;
  }

  /** A `chat.deleted` push: `{room_id, id, seq, changed_seq}`. */
  _deleted(body) {
    const shown = this.messages.get(body.seq);
    if (!shown) {
      this._saw(body.changed_seq);
      return;
    }
    this._accept({ ...shown, deleted: true, body: "", html: "", changed_seq: body.changed_seq });
  }

  async send(text) {
    const clientId = crypto.randomUUID();
    // Retried with the same client id after a reconnect: the server stores it once.
    for (let attempt = 0; ; attempt += 1) {
      try {
        const data = await this.live.call("chat.send", {
          room_id: this.id, client_msg_id: clientId, body: text,
        });
        this._accept(data.message);
        return data.message;
      } catch (err) {
        if (err instanceof LiveError || attempt >= 5) throw err;
        await this.live.opened();
      }
    }
  }

  async older() {
    const first = Math.min(...this.messages.keys());
    const page = await this.live.call("chat.history", {
      room_id: this.id, before_seq: Number.isFinite(first) ? first : null, limit: 50,
    });
    page.messages.forEach((m) => this._accept(m, { page: true }));
    return page.more;
  }
}

/** The tab's one connection. Events: "open", "close", "push" and each push's name. */
export class Live extends EventTarget {
  constructor({ url = socketUrl(), accountId = null } = {}) {
    super();
    this.url = url;
    this.accountId = accountId;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.channels = new Set();
    this.places = new Set();
    this.rooms = new Map();
    this.attempt = 0;
    this.stopped = false;
    this._waiters = [];
    this._heartbeat = null;
  }

  connect() {
    this.stopped = false;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => this._opened());
    ws.addEventListener("message", (e) => this._frame(e.data));
    ws.addEventListener("close", (e) => this._closed(e));
    return this;
  }

  close() {
    this.stopped = true;
    clearInterval(this._heartbeat);
    if (this.ws) this.ws.close(1000);
  }

  opened() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => this._waiters.push(resolve));
  }

  async call(action, body = {}) {
    await this.opened();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify([action, id, body]));
    });
  }

  on(event, handler) {
    this.addEventListener(event, (e) => handler(e.detail));
  }

  async subscribe(channel) {
    this.channels.add(channel);
    return this.call("realtime.subscribe", { channel });
  }

  async enter(place) {
    this.places.add(place);
    return this.call("presence.enter", { place });
  }

  async leave(place) {
    this.places.delete(place);
    return this.call("presence.leave", { place });
  }

  async room(roomId) {
    let room = this.rooms.get(roomId);
    if (!room) {
      room = new Room(this, roomId);
      this.rooms.set(roomId, room);
      await room.join();
    }
    return room;
  }

  async _opened() {
    this.attempt = 0;
    this._waiters.splice(0).forEach((resolve) => resolve());
    clearInterval(this._heartbeat);
    this._heartbeat = setInterval(() => this._beat(), HEARTBEAT_MS);
    this.dispatchEvent(new CustomEvent("open"));
    await this._resume();
  }

  async _resume() {
    try {
      for (const channel of this.channels) await this.call("realtime.subscribe", { channel });
      for (const place of this.places) await this.call("presence.enter", { place });
      for (const room of this.rooms.values()) await room.join();
    } catch (err) {
      console.warn("live: resume failed", err);
    }
  }

  _beat() {
    for (const place of this.places) {
      this.call("presence.heartbeat", { place }).catch(() => {});
    }
  }

  _frame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const [kind, id, body] = frame;
    if ((kind === "success" || kind === "error") && this.pending.has(id)) {
      const { resolve, reject } = this.pending.get(id);
      this.pending.delete(id);
      if (kind === "success") resolve(body);
      else reject(new LiveError(body));
      return;
    }
    if (kind === "chat.message" || kind === "chat.edited") {
      const room = this.rooms.get(body.room_id);
      if (room) room._accept(body);
    } else if (kind === "chat.deleted") {
      const room = this.rooms.get(body.room_id);
      if (room) room._deleted(body);
    } else if (kind === "realtime.resync") {
      this._resume();
    }
    this.dispatchEvent(new CustomEvent("push", { detail: frame }));
    this.dispatchEvent(new CustomEvent(kind, { detail: body }));
  }

  _closed(event) {
    clearInterval(this._heartbeat);
    const error = new Error("connection closed");
    this.pending.forEach(({ reject }) => reject(error));
    this.pending.clear();
    this.dispatchEvent(new CustomEvent("close", { detail: event.code }));
    if (this.stopped) return;
    if (event.code === CLOSE_UNAUTHENTICATED) {
      location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    // Full jitter: 0.5 s doubling to 30 s, a random fraction of it, so a restarted server
    // is not hit by every tab at once.
    const cap = Math.min(30000, 500 * 2 ** this.attempt);
    this.attempt += 1;
    setTimeout(() => this.connect(), Math.random() * cap);
  }
}

const ALLOWED = new Set(["P", "BR", "STRONG", "EM", "CODE", "A"]);

/** Rebuild a message's sanitised HTML as DOM nodes, copying text with textContent only. */
export function messageNodes(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  const copy = (source, target) => {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        target.append(document.createTextNode(node.textContent));
      } else if (node.nodeType === Node.ELEMENT_NODE && ALLOWED.has(node.tagName)) {
        const tag = node.tagName === "P" ? "span" : node.tagName.toLowerCase();
        const el = document.createElement(tag);
        if (node.tagName === "A") {
          const href = node.getAttribute("href") || "";
          if (/^(https?:|mailto:)/i.test(href)) el.href = href;
          el.rel = "noopener noreferrer nofollow ugc";
          el.target = "_blank";
        }
        copy(node, el);
        target.append(el);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        target.append(document.createTextNode(node.textContent));
      }
    }
  };
  const fragment = document.createDocumentFragment();
  copy(parsed.body, fragment);
  return fragment;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** A chat panel bound to `room` inside `container`: list, composer, unread badge. */
export function mountChat(container, room, { title = "Chat", badge = null } = {}) {
  container.replaceChildren();
  const heading = el("h3", "section-title", title);
  const list = el("ol", "stack stack--sm chat-list");
  list.setAttribute("aria-live", "polite");
  const form = el("form", "form-grid chat-form");
  const input = el("input");
  input.name = "body";
  input.maxLength = 4000;
  input.required = true;
  input.placeholder = "Write a message";
  input.setAttribute("aria-label", "Message");
  const button = el("button", "button button--primary button--small", "Send");
  button.type = "submit";
  const status = el("p", "hint");
  form.append(input, button);
  container.append(heading, list, form, status);

  const rows = new Map();
  const render = (message) => {
    const row = rows.get(message.seq) || el("li", "chat-message");
    row.replaceChildren();
    row.append(el("strong", null, message.author_name || "Someone"), document.createTextNode(" "));
    if (message.deleted) row.append(el("em", "muted", "message deleted"));
    else row.append(messageNodes(message.html));
    if (!rows.has(message.seq)) {
      rows.set(message.seq, row);
      const later = [...rows.keys()].filter((s) => s > message.seq).sort((a, b) => a - b)[0];
      if (later !== undefined) list.insertBefore(row, rows.get(later));
      else list.append(row);
    }
  };
  [...room.messages.values()].sort((a, b) => a.seq - b.seq).forEach(render);
  room.addEventListener("message", (e) => render(e.detail));
  room.addEventListener("update", (e) => render(e.detail));
  room.addEventListener("reset", () => { rows.clear(); list.replaceChildren(); });
  if (badge) {
    room.addEventListener("unread", (e) => {
      badge.textContent = e.detail ? String(e.detail) : "";
      badge.hidden = !e.detail;
    });
  }
  container.addEventListener("focusin", () => room.markRead());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    status.textContent = "";
    try {
      await room.send(text);
    } catch (err) {
      status.textContent = err.message;
      input.value = text;
    }
  });
  return { list, input };
}

/** Keep `badge`'s text equal to the live visitor count of `place`. */
export function presenceBadge(live, place, badge) {
  live.on("presence.count", (body) => {
    if (body.place === place) badge.textContent = String(body.count);
  });
}
