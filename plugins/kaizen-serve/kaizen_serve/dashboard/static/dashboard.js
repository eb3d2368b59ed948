// Kaizen dashboard: plain JavaScript, no build step, no dependencies.
//
// Security rules kept throughout this file:
// * Every value that comes from the server (agent names, inputs, tool arguments, results,
//   error text) reaches the page through textContent or element attributes set with
//   dataset / setAttribute, never innerHTML, so it is never parsed as HTML.
// * The API key lives in sessionStorage (this tab only, gone when it closes) and travels
//   only in the Authorization header of same-origin fetch() calls. The event stream is read
//   with fetch() and a stream reader instead of EventSource because EventSource cannot
//   send headers: the key never appears in a URL, a server log or the browser history.
"use strict";

const KEY_STORAGE = "kaizen.apiKey";
const RUNS_REFRESH_MS = 2000;

const state = {
  selected: null, // run id shown in the detail panel
  stream: null, // AbortController of the open event stream
  lastEventId: null,
  toolRows: new Map(), // tool call id -> table row
  approvals: new Map(), // request id -> approval / question card
  cost: 0,
  tokens: 0,
};

const $ = (id) => document.getElementById(id);

function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

// One line of feedback; `kind` lets a later success clear only its own kind of problem.
function notice(text, kind = "error") {
  const el = $("notice");
  el.textContent = text || "";
  el.dataset.kind = text ? kind : "";
  el.hidden = !text;
}

async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = apiKey();
  if (key) headers.set("Authorization", "Bearer " + key);
  if (options.body !== undefined) headers.set("Content-Type", "application/json");
  const response = await fetch(path, { ...options, headers, credentials: "omit" });
  if (response.status === 401 || response.status === 403) {
    notice(key ? "The API key was refused (" + response.status + ")." : "Enter an API key to see runs.");
  }
  return response;
}

async function errorText(response) {
  try {
    const body = await response.json();
    const err = body.error || body;
    return (err.code ? err.code + ": " : "") + (err.message || response.statusText);
  } catch (_) {
    return response.status + " " + response.statusText;
  }
}

// ---- key entry ----------------------------------------------------------------------
function showKeyState() {
  const has = apiKey() !== "";
  $("key-form").hidden = has;
  $("key-set").hidden = !has;
}

function setupKey() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("api-key").value.trim();
    $("api-key").value = "";
    if (value) sessionStorage.setItem(KEY_STORAGE, value);
    notice("");
    showKeyState();
    refreshRuns();
    if (state.selected) openRun(state.selected);
  });
  $("key-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    closeStream();
    state.selected = null;
    $("run-detail").hidden = true; // nothing read with the key stays on screen
    history.replaceState(null, "", location.pathname);
    showKeyState();
    refreshRuns();
  });
  showKeyState();
}

// ---- helpers ------------------------------------------------------------------------
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function pretty(value) {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

function setStatus(node, status) {
  const text = status || "unknown";
  node.textContent = text;
  node.className = "status " + text.replace(/[^a-z_-]/gi, "");
}

function when(value) {
  if (value === undefined || value === null) return "";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return isNaN(date.getTime()) ? String(value) : date.toLocaleTimeString();
}

// ---- runs list ----------------------------------------------------------------------
async function refreshRuns() {
  const body = $("runs").tBodies[0];
  if (!apiKey()) {
    body.replaceChildren();
    $("runs-empty").hidden = true;
    return;
  }
  let response;
  try {
    response = await api("/runs?limit=50");
  } catch (_) {
    notice("The server is not reachable.", "connection");
    return;
  }
  if (!response.ok) return;
  if ($("notice").dataset.kind === "connection") notice("");
  const runs = (await response.json()).runs || [];
  const rows = runs.map((run) => {
    const row = el("tr");
    row.dataset.runId = run.run_id;
    if (run.run_id === state.selected) row.classList.add("selected");
    const idCell = el("td");
    idCell.append(el("code", String(run.run_id).slice(0, 12)));
    const statusCell = el("td");
    const badge = el("span");
    setStatus(badge, run.status);
    statusCell.append(badge);
    row.append(idCell, el("td", run.agent), statusCell, el("td", when(run.created_at)));
    row.addEventListener("click", () => {
      location.hash = "#run=" + encodeURIComponent(run.run_id);
    });
    return row;
  });
  body.replaceChildren(...rows);
  $("runs-empty").hidden = runs.length > 0;
}

// ---- one run ------------------------------------------------------------------------
function closeStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
  $("stream-state").textContent = "closed";
}

function showRunFacts(run) {
  $("run-id").textContent = run.run_id;
  $("run-agent").textContent = run.agent || "";
  $("run-inputs").textContent = pretty(run.inputs || {});
  setStatus($("run-status"), run.status);
  if (run.result) showResult(run.result);
  if (run.error) $("run-result").textContent = pretty(run.error);
}

function showCost(cost, tokens) {
  if (typeof cost === "number") $("run-cost").textContent = "$" + cost.toFixed(6);
  if (typeof tokens === "number") $("run-tokens").textContent = String(tokens);
}

// Running totals while the run goes (one model_call event per provider call); the result's
// _meta is the authoritative figure once the run completes.
function addCallCost(data) {
  if (typeof data.cost_usd_call === "number") state.cost += data.cost_usd_call;
  const usage = data.usage || {};
  if (typeof usage.total_tokens === "number") state.tokens += usage.total_tokens;
  showCost(state.cost, state.tokens);
}

// Output field names of each agent (from GET /agents/{name}), so a result shows the fields
// the signature declares, not the run's bookkeeping (tool calls are in their own table).
const outputFields = new Map();

async function loadOutputFields(agent) {
  if (!agent || outputFields.has(agent)) return;
  const response = await api("/agents/" + encodeURIComponent(agent));
  if (!response.ok) return;
  const info = await response.json();
  outputFields.set(agent, Object.keys((info.output_schema || {}).properties || {}));
}

function showResult(result) {
  const fields = outputFields.get($("run-agent").textContent) || [];
  const outputs = {};
  for (const [key, value] of Object.entries(result || {})) {
    if (key !== "_meta" && (fields.length === 0 || fields.includes(key))) outputs[key] = value;
  }
  $("run-result").textContent = pretty(outputs);
  const meta = (result || {})._meta;
  if (meta) showCost(meta.cost, (meta.usage || {}).total_tokens);
}

async function openRun(runId) {
  closeStream();
  state.selected = runId;
  state.lastEventId = null;
  state.cost = 0;
  state.tokens = 0;
  state.toolRows.clear();
  state.approvals.clear();
  $("tool-calls").tBodies[0].replaceChildren();
  $("approvals").replaceChildren();
  $("events").replaceChildren();
  $("run-result").textContent = "-";
  $("run-inputs").textContent = "";
  $("run-cost").textContent = "-";
  $("run-tokens").textContent = "-";
  $("run-detail").hidden = false;
  for (const row of $("runs").tBodies[0].rows) row.classList.toggle("selected", row.dataset.runId === runId);
  if (!apiKey()) return;
  const response = await api("/runs/" + encodeURIComponent(runId));
  if (!response.ok) {
    notice(await errorText(response));
    return;
  }
  const run = await response.json();
  await loadOutputFields(run.agent);
  showRunFacts(run);
  streamEvents(runId);
}

// Server-Sent Events over fetch(): parses the text/event-stream framing (event, id, data
// lines, blank line ends an event) and resumes with Last-Event-ID after a dropped connection.
async function streamEvents(runId) {
  const controller = new AbortController();
  state.stream = controller;
  let retryMs = 1000;
  while (!controller.signal.aborted && state.selected === runId) {
    const headers = { Accept: "text/event-stream" };
    if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
    let response;
    try {
      response = await api("/runs/" + encodeURIComponent(runId) + "/events", { headers, signal: controller.signal });
    } catch (_) {
      if (controller.signal.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      continue;
    }
    if (!response.ok) {
      notice(await errorText(response));
      $("stream-state").textContent = "closed";
      return;
    }
    $("stream-state").textContent = "open";
    let finished = false;
    try {
      finished = await readEventStream(response.body, (event) => {
        if (event.id) state.lastEventId = event.id;
        if (event.retry) retryMs = event.retry;
        return handleEvent(event);
      });
    } catch (_) {
      if (controller.signal.aborted) return;
    }
    if (finished) break;
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
  if (state.stream === controller) $("stream-state").textContent = "closed";
}

async function readEventStream(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { event: "message", data: [], id: null, retry: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buffer += value;
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith("\r\n", newline) ? 2 : 1));
      if (line === "") {
        if (event.data.length) {
          const stop = onEvent({ ...event, data: event.data.join("\n") });
          if (stop) {
            reader.cancel();
            return true;
          }
        }
        event = { event: "message", data: [], id: null, retry: null };
        continue;
      }
      if (line.startsWith(":")) continue; // comment / keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "event") event.event = text;
      else if (field === "data") event.data.push(text);
      else if (field === "id") event.id = text;
      else if (field === "retry" && /^\d+$/.test(text)) event.retry = Number(text);
    }
  }
}

// One SSE event -> the page (event types: kaizen_serve.runs). Returns true when the run is
// over, so the stream can close.
function handleEvent(event) {
  let envelope;
  try {
    envelope = JSON.parse(event.data); // {id, run_id, type, data, timestamp}
  } catch (_) {
    return false;
  }
  const type = event.event || envelope.type || "message";
  const data = envelope.data || {};
  data.timestamp = envelope.timestamp;
  logEvent(type, data);
  switch (type) {
    case "status":
      setStatus($("run-status"), data.status);
      break;
    case "tool_call":
      toolStarted(data);
      break;
    case "tool_result":
      toolFinished(data);
      break;
    case "approval_request":
    case "question":
      showRequest(data);
      break;
    case "response":
      answered(data.request_id, data);
      break;
    case "model_call":
      addCallCost(data);
      break;
    case "completed":
      setStatus($("run-status"), "completed");
      showResult(data.result);
      return true;
    case "failed":
    case "interrupted":
      setStatus($("run-status"), type);
      $("run-result").textContent = pretty(data.error || data.message || data);
      return true;
    default:
      break;
  }
  return false;
}

function logEvent(type, data) {
  const item = el("li");
  item.dataset.type = type;
  const summary = data.tool || data.name || data.message || data.action || data.status || "";
  item.textContent = (data.timestamp ? when(data.timestamp) + " " : "") + type + (summary ? " " + summary : "");
  const list = $("events");
  list.append(item);
  list.scrollTop = list.scrollHeight; // follow the newest event inside the list, not the page
}

function toolStarted(data) {
  const id = data.tool_call_id || "call-" + state.toolRows.size;
  if (state.toolRows.has(id)) return;
  const row = el("tr");
  row.dataset.callId = id;
  row.append(el("td", data.tool), el("td", pretty(data.arguments)), el("td", "running", "outcome"));
  $("tool-calls").tBodies[0].append(row);
  state.toolRows.set(id, row);
}

function toolFinished(data) {
  if (!state.toolRows.has(data.tool_call_id)) toolStarted(data);
  const row = state.toolRows.get(data.tool_call_id);
  const outcome = data.error ? "error: " + pretty(data.error) : pretty(data.result);
  row.cells[2].textContent = (data.outcome && data.outcome !== "success" ? data.outcome + ": " : "") + outcome;
}

// An approval request (Approve / Deny) or a question (an answer box) waiting on the run.
function showRequest(data) {
  const requestId = data.request_id;
  if (!requestId || state.approvals.has(requestId)) return;
  setStatus($("run-status"), "waiting");
  const card = $("request-template").content.firstElementChild.cloneNode(true);
  card.dataset.requestId = requestId;
  card.dataset.kind = data.kind || "approval";
  const question = data.kind === "question";
  card.querySelector("h3").textContent = question ? "Question" : "Approval requested";
  card.querySelector(".request-text").textContent = question ? data.question : data.action;
  const details = question ? data.options : data.details;
  card.querySelector(".request-details").textContent = pretty(details);
  card.querySelector(".request-details").hidden = !details || Object.keys(details).length === 0;
  card.querySelector(".approval-buttons").hidden = question;
  card.querySelector(".answer-form").hidden = !question;
  card.querySelector(".approve").addEventListener("click", () => respond(requestId, { approved: true }));
  card.querySelector(".deny").addEventListener("click", () => respond(requestId, { approved: false }));
  card.querySelector(".answer-form").addEventListener("submit", (event) => {
    event.preventDefault();
    respond(requestId, { answer: card.querySelector(".answer").value });
  });
  $("approvals").append(card);
  state.approvals.set(requestId, card);
}

function answered(requestId, data) {
  const card = state.approvals.get(requestId);
  if (!card) return;
  card.classList.add("answered");
  for (const control of card.querySelectorAll("button, input")) control.disabled = true;
  let label = "Answered";
  if (data.outcome === "timeout") label = "No answer in time (denied)";
  else if (data.outcome === "cancelled") label = "Cancelled";
  else if (data.approved === true) label = "Approved";
  else if (data.approved === false) label = "Denied";
  card.querySelector("h3").textContent = label;
  if ($("run-status").textContent === "waiting") setStatus($("run-status"), "running");
}

async function respond(requestId, body) {
  const card = state.approvals.get(requestId);
  for (const control of card.querySelectorAll("button, input")) control.disabled = true;
  const response = await api(
    "/runs/" + encodeURIComponent(state.selected) + "/responses/" + encodeURIComponent(requestId),
    { method: "POST", body: JSON.stringify(body) },
  );
  if (!response.ok) {
    notice(await errorText(response));
    for (const control of card.querySelectorAll("button, input")) control.disabled = false;
  }
  // The card is marked answered by the run's "response" event, which every viewer receives.
}

// ---- routing ------------------------------------------------------------------------
function route() {
  const match = /^#run=(.+)$/.exec(location.hash);
  if (match) openRun(decodeURIComponent(match[1]));
}

document.addEventListener("DOMContentLoaded", () => {
  setupKey();
  window.addEventListener("hashchange", route);
  refreshRuns();
  route();
  setInterval(refreshRuns, RUNS_REFRESH_MS);
});
