// Live progress of the latest rules version's rescore on the scoring page.
// The page works without this: it shows the progress as of its load, and a reload updates it.

const box = document.getElementById("rescore");

function render(rescore) {
  const bar = document.getElementById("rescore-bar");
  const status = document.getElementById("rescore-status");
  if (!bar || !status || !rescore) return;
  const total = rescore.total ?? 0;
  bar.max = Math.max(total, 1);
  bar.value = total ? rescore.done : rescore.finished_at ? 1 : 0;
  if (rescore.error) {
    status.textContent = `The rescore failed: ${rescore.error}. Save the rules again to retry.`;
  } else if (rescore.finished_at) {
    status.textContent = `Done: ${rescore.done} of ${total} leads rescored.`;
  } else if (rescore.total === null) {
    status.textContent = "Waiting to start…";
  } else {
    status.textContent = `Rescoring: ${rescore.done} of ${total} leads done.`;
  }
}

async function poll() {
  let delay = 1000;
  for (;;) {
    try {
      const response = await fetch(box.dataset.rescoreUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const body = await response.json();
      if (String(body.version) !== box.dataset.version) return; // a newer save: reload to see it
      render(body.rescore);
      if (!body.rescore || body.rescore.finished_at || body.rescore.error) return;
    } catch {
      delay = Math.min(delay * 2, 15000);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

if (box && box.dataset.finished !== "true") {
  poll();
}
