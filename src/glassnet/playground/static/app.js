// The playground page: reads its configuration from the URL, keeps the URL in step with the
// controls, talks to the glassnet server and draws what the server sends. No training here.
"use strict";

const PROBLEMS = {classification: ["xor", "circles", "moons", "spirals", "gaussian"],
  regression: ["plane", "bump", "multi_gaussian"], digits: ["digits"]};
const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const DEFAULTS = {problem: "classification", dataset: "xor", noise: "0", train_ratio: "0.5", points: "300",
  batch_size: "10", hidden: "8,4", activation: "tanh", learning_rate: "0.01", optimizer: "adam",
  regularization: "none", regularization_rate: "0", features: "x1,x2", seed: "0"};
const VIEW_DEFAULTS = {show_test: "0", discretize: "0"};  // how the page draws; the server never sees these
const MAX_LAYERS = 6, MAX_NEURONS = 8;

let config = readParams(DEFAULTS), view = readParams(VIEW_DEFAULTS);
let session = null, state = null, events = null, point = null, selected = null, hovered = null, shape = null;
const $ = (id) => document.getElementById(id);

function readParams(defaults) {
  const params = new URLSearchParams(location.search);
  const c = {...defaults};
  for (const key of Object.keys(defaults)) if (params.has(key)) c[key] = params.get(key);
  return c;
}

function writeUrl() {
  history.replaceState(null, "", "?" + new URLSearchParams({...config, ...view}).toString());
}

function message(text) { $("message").textContent = text || ""; }

// Every request of the page goes through here: a GET without a body, a POST with a JSON body.
function request(path, body, extra = {}) {
  return fetch(path, body === undefined ? extra : {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body), ...extra});
}

async function api(path, body) {
  const response = await request(path, body);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function payload() {
  return {...config, hidden: config.hidden ? config.hidden.split(",").map(Number) : [],
    features: config.features.split(",").filter(Boolean)};
}

async function openSession() {
  const created = await api("/api/sessions", payload());
  session = created.id;
  document.body.dataset.session = session;
  $("export-model").href = `/api/sessions/${session}/export?format=model`;
  $("export-python").href = `/api/sessions/${session}/export?format=python`;
  render(created.state);
  listen();
}

async function start() {
  try {
    await openSession();
  } catch (err) {
    // NOTE: the server's message starts with the field's name: only that field goes back to its default.
    const bad = Object.keys(DEFAULTS).filter((k) => err.message.startsWith(k)).sort((a, b) => b.length - a.length)[0];
    message(err.message + (bad ? ` (${bad} reset to ${DEFAULTS[bad]})` : " (falling back to the defaults)"));
    config = bad ? {...config, [bad]: DEFAULTS[bad]} : {...DEFAULTS};
    writeUrl();
    syncControls();
    try {
      await openSession();
    } catch (again) {
      message(again.message + " (falling back to the defaults)");
      config = {...DEFAULTS};
      writeUrl();
      syncControls();
      await openSession();
    }
  }
}

function listen() {
  if (events) events.close();
  events = new EventSource(`/api/sessions/${session}/events`);
  events.onmessage = (e) => render(JSON.parse(e.data));
}

// change("dataset", "xor") or change({problem: "regression", dataset: "plane"})
async function change(key, value) {
  const updates = typeof key === "string" ? {[key]: value} : key;
  const previous = {...config};
  for (const [k, v] of Object.entries(updates)) config[k] = String(v);
  try {
    render(await api(`/api/sessions/${session}/config`, payload()));
    writeUrl();
    message("");
  } catch (err) {
    config = previous;
    message(err.message);
  }
  syncControls();
}

async function action(name) {
  try { render(await api(`/api/sessions/${session}/${name}`, {})); } catch (err) { message(err.message); }
}

// -- the network: columns of nodes, rebuilt only when the network's shape changes ------------------
function node(kind, key, size = 48) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  canvas.className = `node ${kind}`;
  canvas.dataset.key = key;
  return canvas;
}

function column(title, nodes, className = "layer") {
  const div = document.createElement("div");
  div.className = `column ${className}`;
  const head = document.createElement("div");
  head.className = "layer-title";
  head.append(...(Array.isArray(title) ? title : [title]));
  div.append(head, ...nodes);
  return div;
}

function layerButtons(l, count) {
  const buttons = document.createElement("div");
  buttons.innerHTML = `<button data-d="1" title="add a neuron">+</button>` +
    `<button data-d="-1" title="remove a neuron">&minus;</button><br>${count} neurons`;
  buttons.querySelectorAll("button").forEach((b) => b.onclick = () => resizeLayer(l, Number(b.dataset.d)));
  return buttons;
}

function buildNetwork(s) {
  const box = $("layers");
  box.innerHTML = "";
  const digitsMode = s.problem === "digits";
  const hidden = s.weights.slice(0, -1).map((w) => w.bias.length);
  const inputs = digitsMode ? [] : s.config.features.map((f) => node("input", `in:${f}`, 36));
  inputs.forEach((n, i) => { n.title = s.config.features[i]; });
  box.appendChild(column(digitsMode ? ["64 pixels", padView()] : "inputs", inputs, "io"));
  hidden.forEach((units, l) => {
    const nodes = [];
    for (let j = 0; j < units; j++) {
      const n = digitsMode ? unit(l, j) : node("neuron", `h:${l}:${j}`);
      n.dataset.layer = l;
      n.dataset.index = j;
      n.onclick = () => showNeuron(l, j);
      nodes.push(n);
    }
    box.appendChild(column(layerButtons(l, units), nodes));
  });
  const outputs = digitsMode ? [...Array(10).keys()].map((d) => outputUnit(d)) : [node("output", "out", 36)];
  box.appendChild(column(digitsMode ? "digit" : "output", outputs, "io"));
}

function paintNetwork(s) {
  const digitsMode = s.problem === "digits";
  document.querySelectorAll("#layers .node").forEach((n) => {
    const key = n.dataset.key;
    n.classList.toggle("selected", !!selected && n.dataset.layer === String(selected[0]) &&
      n.dataset.index === String(selected[1]));
    if (digitsMode) return paintUnit(n, s);
    const values = key === "out" ? s.output : key.startsWith("in:") ? s.feature_maps[key.slice(3)]
      : s.neurons[Number(n.dataset.layer)][Number(n.dataset.index)];
    const n2 = key === "out" ? s.grid : s.neuron_grid;
    heatmap(n, values, n2, key === "out" && s.classification, key === "out" && s.classification ? {} : {range: maxAbs(values)});
  });
  const columns = [...document.querySelectorAll("#layers .column")].map((c) => [...c.querySelectorAll(".node")]);
  drawLinks(columns, s.weights.map((w) => w.kernel), 0);
}

function preview(s) {
  if (!hovered || s.problem === "digits") return null;
  if (hovered.startsWith("in:")) return {name: hovered.slice(3), values: s.feature_maps[hovered.slice(3)], n: s.neuron_grid};
  if (!hovered.startsWith("h:")) return null;
  const [l, j] = hovered.slice(2).split(":").map(Number);
  const values = s.neurons[l] && s.neurons[l][j];
  return values ? {name: `layer ${l + 1}, neuron ${j + 1}`, values, n: s.neuron_grid} : null;
}

function render(s) {
  state = s;
  $("epoch").textContent = s.epoch;
  $("train-loss").textContent = Number.isFinite(s.train_loss) ? s.train_loss.toFixed(3) : "-";
  $("test-loss").textContent = Number.isFinite(s.test_loss) ? s.test_loss.toFixed(3) : "-";
  $("play").innerHTML = s.running ? "&#x275A;&#x275A; pause" : "&#x25B6; start";
  document.body.classList.toggle("digits", s.problem === "digits");
  const key = JSON.stringify([s.problem, s.config.features, s.weights.map((w) => w.bias.length)]);
  if (key !== shape) { shape = key; buildNetwork(s); }
  paintNetwork(s);
  drawLoss(s);
  if (s.problem === "digits") return renderDigits(s);
  const p = preview(s);
  $("preview-label").textContent = p ? `showing ${p.name}` : "";
  drawBoundary(s, {show_test: view.show_test === "1", discretize: view.discretize === "1"}, p, point);
  if (!point && s.test_idx.length) point = s.points[s.test_idx[0]];
  $("point").textContent = point ? `(${point[0].toFixed(2)}, ${point[1].toFixed(2)})` : "";
}

async function showNeuron(l, j) {
  selected = [l, j];
  try {
    const n = await api(`/api/sessions/${session}/neuron?layer=${l}&index=${j}`);
    const rows = Object.entries(n.weights).slice(0, 12).map(([k, w]) => `  ${k.padEnd(10)} ${w.toFixed(4)}`);
    if (Object.keys(n.weights).length > 12) rows.push(`  ... ${Object.keys(n.weights).length - 12} more`);
    $("neuron-info").textContent = `layer ${l + 1}, neuron ${j + 1}\n  bias       ${n.bias.toFixed(4)}\n` + rows.join("\n");
    if (state) paintNetwork(state);
  } catch (err) { message(err.message); }
}

function resizeLayer(l, delta) {
  const sizes = config.hidden.split(",").filter(Boolean).map(Number);
  sizes[l] = Math.max(1, Math.min(MAX_NEURONS, sizes[l] + delta));
  change("hidden", sizes.join(","));
}

// An explanation from the server (HTML), shown in the panel beside the network.
async function explainInPage(path, body, what) {
  try {
    const response = await request(path, body);
    const html = await response.text();
    if (!response.ok) throw new Error(JSON.parse(html).error);
    $("explanation").srcdoc = html;
    $("explained-point").textContent = what;
    $("explanation-panel").hidden = false;
  } catch (err) { message(err.message); }
}

function explainPoint() {
  if (point) explainInPage(`/api/sessions/${session}/explain?x1=${point[0]}&x2=${point[1]}&format=html`, undefined,
    `the point ${$("point").textContent}`);
}

function explainDrawing() {
  if (lastPixels) explainInPage(`/api/sessions/${session}/explain_digit`, {pixels: lastPixels, format: "html"},
    `the drawing, as a ${$("prediction").textContent}`);
}

// -- controls ------------------------------------------------------------------------------
const SELECTS = ["problem", "learning_rate", "activation", "optimizer", "regularization", "regularization_rate",
  "noise", "train_ratio", "batch_size"];

function syncControls() {
  for (const key of SELECTS) $(key).value = config[key];
  $("noise-value").textContent = config.noise;
  $("train_ratio-value").textContent = Math.round(Number(config.train_ratio) * 100) + "%";
  $("datasets").innerHTML = "";
  for (const name of PROBLEMS[config.problem] || []) {
    const b = document.createElement("button");
    b.textContent = name;
    b.classList.toggle("active", name === config.dataset);
    b.onclick = () => change("dataset", name);
    $("datasets").appendChild(b);
  }
  const on = config.features.split(",");
  document.querySelectorAll("#features input").forEach((c) => {
    c.checked = on.includes(c.value);
    c.parentElement.classList.toggle("active", c.checked);
  });
  for (const key of Object.keys(VIEW_DEFAULTS)) $(key).checked = view[key] === "1";
}

function paintFeatureMaps(s) {
  if (!s.feature_maps) return;
  document.querySelectorAll("#features canvas").forEach((c) => {
    const values = s.feature_maps[c.dataset.feature];
    heatmap(c, values, s.neuron_grid, false, {range: maxAbs(values)});
  });
}

function setup() {
  FEATURES.forEach((name) => {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${name}"><canvas width="28" height="28" data-feature="${name}">` +
      `</canvas> ${name}`;
    label.querySelector("input").onchange = () => {
      const on = [...document.querySelectorAll("#features input")].filter((c) => c.checked).map((c) => c.value);
      change("features", on.join(","));
    };
    $("features").appendChild(label);
  });
  for (const key of SELECTS.slice(1)) $(key).onchange = (e) => change(key, e.target.value);
  $("problem").onchange = (e) => change({problem: e.target.value, dataset: PROBLEMS[e.target.value][0]});
  for (const key of Object.keys(VIEW_DEFAULTS)) $(key).onchange = (e) => {
    view[key] = e.target.checked ? "1" : "0";
    writeUrl();
    if (state) render(state);
  };
  $("play").onclick = () => action(state && state.running ? "pause" : "start");
  $("step").onclick = () => action("step");
  $("reset").onclick = () => action("reset");
  $("add-layer").onclick = () => {
    const sizes = config.hidden.split(",").filter(Boolean);
    if (sizes.length < MAX_LAYERS) change("hidden", [...sizes, "2"].join(","));
  };
  $("remove-layer").onclick = () => change("hidden", config.hidden.split(",").filter(Boolean).slice(0, -1).join(","));
  $("layers").onmouseover = (e) => {
    const n = e.target.closest(".node");
    const key = n && (n.dataset.key.startsWith("h:") || n.dataset.key.startsWith("in:")) ? n.dataset.key : null;
    if (key !== hovered) { hovered = key; if (state) render(state); }
  };
  $("network").onmouseleave = () => { hovered = null; if (state) render(state); };
  $("boundary").onclick = (e) => {
    const r = e.target.getBoundingClientRect();
    point = [(e.clientX - r.left) / r.width * 2.4 - 1.2, 1.2 - (e.clientY - r.top) / r.height * 2.4];
    if (state) render(state);
  };
  $("explain").onclick = explainPoint;
  $("explain-digit").onclick = explainDrawing;
  $("close-explanation").onclick = () => { $("explanation-panel").hidden = true; };
  // NOTE: a closed or reloaded page pauses its session, so no training runs for a page nobody sees.
  // (keepalive lets the request outlive the page)
  addEventListener("pagehide", () => { if (session) request(`/api/sessions/${session}/pause`, {}, {keepalive: true}); });
  setupPad();
  syncControls();
  writeUrl();
  start().then(() => paintFeatureMaps(state));
}

setup();
