// Drop-in for agenda and session pages: every <time datetime="ISO" data-local="Event/Zone">
// gets the same instant in the viewer's own zone appended ("14:10 CET · 08:10 your time"),
// only when the viewer's wall clock differs from the event's. textContent only.
const own = Intl.DateTimeFormat().resolvedOptions().timeZone;

const parts = (date, timeZone) => {
  const fmt = new Intl.DateTimeFormat(undefined, {
    timeZone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const out = {};
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
  return out;
};

const localize = (el) => {
  if (el.dataset.localDone) return;
  const date = new Date(el.getAttribute("datetime") || "");
  if (Number.isNaN(date.getTime())) return;
  const eventZone = el.dataset.local || "UTC";
  let there;
  try {
    there = parts(date, eventZone);
  } catch {
    return; // an unknown zone name: leave the event's time alone
  }
  const here = parts(date, own);
  if (here.hour === there.hour && here.minute === there.minute && here.weekday === there.weekday) return;
  const day = here.weekday !== there.weekday ? `${here.weekday} ` : "";
  const span = document.createElement("span");
  span.className = "local-time";
  span.textContent = ` · ${day}${here.hour}:${here.minute} your time`;
  el.dataset.localDone = "true";
  el.append(span);
};

document.querySelectorAll("time[datetime][data-local]").forEach(localize);
