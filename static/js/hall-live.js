// The exhibit hall's live visitor counts: each booth card's server-rendered count
// (<span data-hall-count="{booth id}">) follows its booth channel's presence.count pushes.
// Mounted only for members of the event (the booth channels refuse anyone else).
import { Live } from "./live.js";

const root = document.querySelector("[data-hall-live]");
const counters = new Map();
for (const node of document.querySelectorAll("[data-hall-count]")) {
  const place = `booth:${Number(node.dataset.hallCount)}`;
  if (!counters.has(place)) counters.set(place, []);
  counters.get(place).push(node); // a booth may show twice (recommended and in its tier)
}

if (root && counters.size) {
  const live = new Live().connect();
  live.on("presence.count", (body) => {
    const nodes = counters.get(body.place);
    if (!nodes) return;
    for (const node of nodes) node.textContent = String(Number(body.count) || 0);
  });
  (async () => {
    for (const place of counters.keys()) await live.subscribe(place);
    root.dataset.hallLive = "ready";
  })().catch((err) => console.warn("hall-live: subscribe failed", err));
  window.addEventListener("pagehide", () => live.close());
}
