// Live parts of the console: the event timeline of a running execution and a service's log.
// Plain JavaScript, no build step; the pages work without it (reload to refresh).
"use strict";

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function appendEvent(tbody, event) {
  const row = document.createElement("tr");
  row.dataset.seq = String(event.seq);
  row.append(cell(String(event.seq)), cell(event.event_type));
  const data = document.createElement("td");
  const code = document.createElement("code");
  code.textContent = JSON.stringify(event.data);
  data.append(code);
  row.append(data, cell(event.created_at || ""));
  tbody.append(row);
}

// A running execution's stdout and stderr grow with its message events, line by line as it prints.
function showPrinted(event) {
  const data = event.data || {};
  if (event.event_type !== "message" || !["stdout", "stderr"].includes(data.stream)) { return; }
  const pre = document.getElementById(data.stream);
  if (pre) { pre.textContent += String(data.text || ""); }
}

async function followTimeline(table) {
  const terminal = table.dataset.terminal.split(",");
  const tbody = table.querySelector("tbody");
  const status = document.getElementById("status");
  let state = table.dataset.status;
  if (terminal.includes(state)) { return; }
  let after = 0;
  tbody.querySelectorAll("tr[data-seq]").forEach((row) => { after = Math.max(after, Number(row.dataset.seq)); });
  while (!terminal.includes(state)) {
    let answer;
    try {
      const response = await fetch(`${table.dataset.live}&after_seq=${after}`, { credentials: "same-origin" });
      if (!response.ok) { return; }
      answer = await response.json();
    } catch (error) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      continue;
    }
    for (const event of answer.events) {
      after = Math.max(after, event.seq);
      appendEvent(tbody, event);
      showPrinted(event);
    }
    if (answer.status !== state) {
      state = answer.status;
      status.textContent = state;
      status.className = `status ${state}`;
    }
  }
  // The execution ended: reload once to show its output, stdout and stderr.
  window.location.reload();
}

async function followLog(pre) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    try {
      const response = await fetch(pre.dataset.live, { credentials: "same-origin" });
      if (!response.ok) { return; }
      const logs = await response.json();
      const text = logs.lines.join("\n");
      if (pre.textContent !== text) {
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.textContent = text;
        if (atBottom) { pre.scrollTop = pre.scrollHeight; }
      }
    } catch (error) {
      // the platform may be restarting: try again on the next tick
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const timeline = document.getElementById("timeline");
  if (timeline) { followTimeline(timeline); }
  const log = document.getElementById("service-log");
  if (log) { followLog(log); }
});
