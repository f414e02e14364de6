// Video progress for a booth's resources: each row with data-progress-url reports 25/50/75/100 %
// marks to POST {progress-url} (X-CSRF-Token from the list's data-csrf). Sources:
//   - an HTML5 <video data-video-progress> (uploaded MP4): its timeupdate/ended events;
//   - an embedded Vimeo player (iframe[data-video-progress]): its postMessage "timeupdate";
//   - anything else: the "Watched it" form (data-watched) posts 100 once; it works without JS,
//     and here it is sent with fetch so the page does not move.
// The server counts each mark once per attendee, so repeats (a replay, a refresh) are harmless.

const MARKS = [25, 50, 75, 100];

function reporter(row, csrf) {
  const url = row.dataset.progressUrl;
  const sent = new Set();
  return async (percent) => {
    const mark = MARKS.filter((m) => percent >= m).pop();
    if (!mark || sent.has(mark)) return;
    sent.add(mark);
    const body = new URLSearchParams({ percent: String(mark) });
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf },
        body,
        credentials: "same-origin",
      });
      if (!response.ok) sent.delete(mark);
    } catch {
      sent.delete(mark); // offline for a moment: the next event retries
    }
  };
}

function watchVideo(video, report) {
  const update = () => {
    if (video.duration > 0 && Number.isFinite(video.duration)) {
      report((video.currentTime / video.duration) * 100);
    }
  };
  video.addEventListener("timeupdate", update);
  video.addEventListener("ended", () => report(100));
}

function watchVimeo(frame, report) {
  const origin = new URL(frame.src).origin;
  const listen = () => {
    for (const value of ["timeupdate", "ended"]) {
      frame.contentWindow.postMessage(JSON.stringify({ method: "addEventListener", value }), origin);
    }
  };
  frame.addEventListener("load", listen);
  window.addEventListener("message", (event) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    let data;
    try {
      data = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
    } catch {
      return;
    }
    if (data.event === "ready") listen();
    else if (data.event === "timeupdate" && data.data) report(Number(data.data.percent) * 100);
    else if (data.event === "ended") report(100);
  });
}

function watchButton(form, report) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    await report(100);
    if (button) {
      button.disabled = true;
      button.textContent = "Thanks!";
    }
  });
}

const list = document.querySelector("[data-csrf]");
if (list) {
  const csrf = list.dataset.csrf;
  for (const row of list.querySelectorAll("[data-progress-url]")) {
    const report = reporter(row, csrf);
    const video = row.querySelector("video[data-video-progress]");
    const frame = row.querySelector("iframe[data-video-progress]");
    const form = row.querySelector("form[data-watched]");
    if (video) watchVideo(video, report);
    if (frame && /^https:\/\/player\.vimeo\.com\//.test(frame.src)) watchVimeo(frame, report);
    if (form) watchButton(form, report);
  }
}
