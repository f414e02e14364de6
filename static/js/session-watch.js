// Drop-in for a session page: <section data-watch-session data-watch-url data-csrf>. Sends a
// heartbeat every 15 s while the tab is visible ("start" on load and on return, "stop" when
// hidden or left), with the player's position when a <video> plays the recording. The server
// turns them into distinct seconds watched, so several tabs and reconnects never double-count.
const root = document.querySelector("[data-watch-session]");
if (root) {
  const url = root.dataset.watchUrl;
  const csrf = root.dataset.csrf;
  const live = root.dataset.watchLive === "true";
  const video = root.querySelector("video");
  const tabId = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/[^A-Za-z0-9_-]/g, "");
  let timer = null;

  const send = (kind, keepalive = false) => {
    const body = { tab_id: tabId, kind };
    if (!live && video && Number.isFinite(video.currentTime)) body.position_s = Math.floor(video.currentTime);
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive,
      headers: { accept: "application/json", "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(body),
    }).catch(() => null); // a lost beat only costs its seconds; the next one resumes
  };
  const watching = () => !document.hidden && (!video || !video.paused);
  const start = () => {
    if (timer !== null || !watching()) return;
    send("start");
    timer = setInterval(() => send("beat"), 15000);
  };
  const stop = () => {
    if (timer === null) return;
    clearInterval(timer);
    timer = null;
    send("stop", true);
  };
  document.addEventListener("visibilitychange", () => (document.hidden ? stop() : start()));
  window.addEventListener("pagehide", stop);
  if (video) {
    video.addEventListener("play", start);
    video.addEventListener("pause", stop);
    video.addEventListener("seeking", () => { if (timer !== null) { stop(); } });
    video.addEventListener("seeked", start);
  } else {
    start();
  }
}
