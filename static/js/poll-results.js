// Drop-in for a session page: every open poll (<article data-poll data-results-url
// data-poll-open>) re-fetches its JSON results every 10 s and updates its bars and counts
// (textContent only). Stops once the poll closes, and pauses while the tab is hidden.
const INTERVAL = 10000;

const update = (article, data) => {
  const list = article.querySelector(".poll__results");
  if (list) {
    for (const o of data.options || []) {
      const row = list.querySelector(`[data-option="${Number(o.id)}"]`);
      if (!row) continue;
      const bar = row.querySelector("progress");
      if (bar) {
        bar.value = Number(o.percent) || 0;
        bar.textContent = `${Number(o.percent) || 0}%`;
      }
      const count = row.querySelector(".poll__count");
      if (count) count.textContent = `${Number(o.percent) || 0}% (${Number(o.votes) || 0})`;
    }
  }
  const total = article.querySelector(".poll__total");
  if (total) {
    const n = Number(data.total) || 0;
    total.textContent = `${n} vote${n === 1 ? "" : "s"}`;
  }
};

const watchPoll = (article) => {
  const url = article.dataset.resultsUrl;
  if (!url) return;
  let timer = null;
  const refresh = async () => {
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!res.ok) return;
      const data = await res.json();
      update(article, data);
      if (data.status !== "open") {
        article.dataset.pollOpen = "false";
        stop();
      }
    } catch {
      // a missed refresh is retried on the next tick
    }
  };
  const start = () => {
    if (timer === null && !document.hidden) timer = setInterval(refresh, INTERVAL);
  };
  const stop = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
  };
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      stop();
    } else if (article.dataset.pollOpen === "true") {
      refresh();
      start();
    }
  });
  start();
};

document.querySelectorAll("[data-poll][data-results-url][data-poll-open='true']").forEach(watchPoll);
