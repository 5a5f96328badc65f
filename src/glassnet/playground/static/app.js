// The playground page: reads its configuration from the URL, keeps the URL in step with the
// controls, talks to the glassnet server and draws what the server sends. No training here.
"use strict";

const DATASETS = ["xor", "circles", "moons", "spirals", "gaussian", "plane", "bump"];
const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const DEFAULTS = {dataset: "xor", noise: "0", train_ratio: "0.5", points: "300", batch_size: "10",
  hidden: "8,4", activation: "tanh", learning_rate: "0.01", optimizer: "adam", regularization: "none",
  regularization_rate: "0", features: "x1,x2", seed: "0"};
const MAX_LAYERS = 6, MAX_NEURONS = 8;

let config = readConfig();
let session = null, state = null, events = null, point = null, selected = null;
const $ = (id) => document.getElementById(id);

function readConfig() {
  const params = new URLSearchParams(location.search);
  const c = {...DEFAULTS};
  for (const key of Object.keys(DEFAULTS)) if (params.has(key)) c[key] = params.get(key);
  return c;
}

function writeUrl() {
  history.replaceState(null, "", "?" + new URLSearchParams(config).toString());
}

function message(text) { $("message").textContent = text || ""; }

async function api(path, body) {
  const response = await fetch(path, body === undefined ? {} : {method: "POST",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function payload() {
  return {...config, hidden: config.hidden ? config.hidden.split(",").map(Number) : [],
    features: config.features.split(",").filter(Boolean)};
}

async function start() {
  try {
    const created = await api("/api/sessions", payload());
    session = created.id;
    document.body.dataset.session = session;
    render(created.state);
    listen();
  } catch (err) {
    message(err.message + " (falling back to the defaults)");
    config = {...DEFAULTS};
    writeUrl();
    const created = await api("/api/sessions", payload());
    session = created.id;
    document.body.dataset.session = session;
    render(created.state);
    listen();
  }
}

function listen() {
  if (events) events.close();
  events = new EventSource(`/api/sessions/${session}/events`);
  events.onmessage = (e) => render(JSON.parse(e.data));
}

async function change(key, value) {
  const previous = config[key];
  config[key] = String(value);
  try {
    render(await api(`/api/sessions/${session}/config`, payload()));
    writeUrl();
    syncControls();
    message("");
  } catch (err) {
    config[key] = previous;
    message(err.message);
    syncControls();
  }
}

async function action(name) {
  try { render(await api(`/api/sessions/${session}/${name}`, {})); } catch (err) { message(err.message); }
}

// -- drawing ---------------------------------------------------------------------------
function color(v, classification) {
  // -1 (or 0) blue ... 1 orange, as the TensorFlow Playground
  const t = classification ? Math.max(0, Math.min(1, v)) : Math.max(0, Math.min(1, (v + 1) / 2));
  const a = [8, 119, 189], b = [245, 147, 34], m = [232, 234, 235];
  const mix = (p, q, s) => p.map((x, i) => Math.round(x + (q[i] - x) * s));
  return t < 0.5 ? mix(a, m, t * 2) : mix(m, b, (t - 0.5) * 2);
}

function heatmap(canvas, values, n, classification, range) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(n, n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    let v = values[(n - 1 - r) * n + c];
    if (range) v = classification ? v : v / range;
    const [R, G, B] = color(v, classification);
    const k = (r * n + c) * 4;
    img.data[k] = R; img.data[k + 1] = G; img.data[k + 2] = B; img.data[k + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function toCanvas(canvas, x, y) {
  return [(x + 1.2) / 2.4 * canvas.width, (1 - (y + 1.2) / 2.4) * canvas.height];
}

function drawBoundary(s) {
  const canvas = $("boundary");
  heatmap(canvas, s.output, s.grid, s.classification);
  const ctx = canvas.getContext("2d");
  const test = new Set(s.test_idx);
  s.points.forEach((p, i) => {
    const [cx, cy] = toCanvas(canvas, p[0], p[1]);
    const [R, G, B] = color(s.targets[i], s.classification);
    ctx.beginPath();
    ctx.arc(cx, cy, 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${R},${G},${B})`;
    ctx.fill();
    ctx.strokeStyle = test.has(i) ? "black" : "white";
    ctx.stroke();
  });
  if (point) {
    const [cx, cy] = toCanvas(canvas, point[0], point[1]);
    ctx.strokeStyle = "black";
    ctx.strokeRect(cx - 6, cy - 6, 12, 12);
  }
}

function drawLoss(s) {
  const canvas = $("loss-chart"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const all = s.history.train_loss.concat(s.history.test_loss).filter(Number.isFinite);
  const top = Math.max(...all, 1e-6);
  [["train_loss", "#555"], ["test_loss", "#e65100"]].forEach(([key, stroke]) => {
    const ys = s.history[key];
    ctx.beginPath();
    ys.forEach((v, i) => {
      const x = ys.length > 1 ? i / (ys.length - 1) * canvas.width : 0;
      const y = canvas.height - v / top * (canvas.height - 4) - 2;
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.strokeStyle = stroke;
    ctx.stroke();
  });
}

function drawLayers(s) {
  const box = $("layers");
  box.innerHTML = "";
  s.neurons.forEach((layer, l) => {
    const column = document.createElement("div");
    column.className = "layer";
    const buttons = document.createElement("div");
    buttons.innerHTML = `<button data-l="${l}" data-d="1" title="add a neuron">+</button>` +
      `<button data-l="${l}" data-d="-1" title="remove a neuron">&minus;</button>`;
    buttons.querySelectorAll("button").forEach((b) => b.onclick = () => resizeLayer(l, Number(b.dataset.d)));
    column.appendChild(buttons);
    column.appendChild(document.createTextNode(`${layer.length} neurons`));
    layer.forEach((values, j) => {
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 48;
      canvas.dataset.layer = l;
      canvas.dataset.index = j;
      canvas.className = "neuron" + (selected && selected[0] === l && selected[1] === j ? " selected" : "");
      heatmap(canvas, values, s.neuron_grid, false, Math.max(1e-6, ...values.map(Math.abs)));
      canvas.onclick = () => showNeuron(l, j);
      column.appendChild(canvas);
    });
    box.appendChild(column);
  });
}

function render(s) {
  state = s;
  $("epoch").textContent = s.epoch;
  $("train-loss").textContent = Number.isFinite(s.train_loss) ? s.train_loss.toFixed(3) : "-";
  $("test-loss").textContent = Number.isFinite(s.test_loss) ? s.test_loss.toFixed(3) : "-";
  $("play").innerHTML = s.running ? "&#x275A;&#x275A; pause" : "&#x25B6; start";
  drawBoundary(s);
  drawLoss(s);
  drawLayers(s);
  if (!point && s.test_idx.length) point = s.points[s.test_idx[0]];
  $("point").textContent = point ? `(${point[0].toFixed(2)}, ${point[1].toFixed(2)})` : "";
}

async function showNeuron(l, j) {
  selected = [l, j];
  try {
    const n = await api(`/api/sessions/${session}/neuron?layer=${l}&index=${j}`);
    const rows = Object.entries(n.weights).map(([k, w]) => `  ${k.padEnd(8)} ${w.toFixed(4)}`);
    $("neuron-info").textContent = `layer ${l + 1}, neuron ${j + 1}\n  bias     ${n.bias.toFixed(4)}\n` + rows.join("\n");
    if (state) drawLayers(state);
  } catch (err) { message(err.message); }
}

function resizeLayer(l, delta) {
  const sizes = config.hidden.split(",").filter(Boolean).map(Number);
  sizes[l] = Math.max(1, Math.min(MAX_NEURONS, sizes[l] + delta));
  change("hidden", sizes.join(","));
}

// -- controls ------------------------------------------------------------------------------
function syncControls() {
  for (const key of ["learning_rate", "activation", "optimizer", "regularization", "regularization_rate",
                     "noise", "train_ratio", "batch_size"]) $(key).value = config[key];
  $("noise-value").textContent = config.noise;
  $("train_ratio-value").textContent = Math.round(Number(config.train_ratio) * 100) + "%";
  document.querySelectorAll("#datasets button").forEach((b) => b.classList.toggle("active", b.textContent === config.dataset));
  const on = config.features.split(",");
  document.querySelectorAll("#features input").forEach((c) => {
    c.checked = on.includes(c.value);
    c.parentElement.classList.toggle("active", c.checked);
  });
}

function setup() {
  DATASETS.forEach((name) => {
    const b = document.createElement("button");
    b.textContent = name;
    b.onclick = () => change("dataset", name);
    $("datasets").appendChild(b);
  });
  FEATURES.forEach((name) => {
    const label = document.createElement("label");
    label.innerHTML = `<input type="checkbox" value="${name}"> ${name}`;
    label.querySelector("input").onchange = () => {
      const on = [...document.querySelectorAll("#features input")].filter((c) => c.checked).map((c) => c.value);
      change("features", on.join(","));
    };
    $("features").appendChild(label);
  });
  for (const key of ["learning_rate", "activation", "optimizer", "regularization", "regularization_rate",
                     "noise", "train_ratio", "batch_size"]) $(key).onchange = (e) => change(key, e.target.value);
  $("play").onclick = () => action(state && state.running ? "pause" : "start");
  $("step").onclick = () => action("step");
  $("reset").onclick = () => action("reset");
  $("add-layer").onclick = () => {
    const sizes = config.hidden.split(",").filter(Boolean);
    if (sizes.length < MAX_LAYERS) change("hidden", [...sizes, "2"].join(","));
  };
  $("remove-layer").onclick = () => change("hidden", config.hidden.split(",").filter(Boolean).slice(0, -1).join(","));
  $("boundary").onclick = (e) => {
    const r = e.target.getBoundingClientRect();
    point = [(e.clientX - r.left) / r.width * 2.4 - 1.2, 1.2 - (e.clientY - r.top) / r.height * 2.4];
    if (state) render(state);
  };
  $("explain").onclick = () => {
    if (!point) return;
    window.open(`/api/sessions/${session}/explain?x1=${point[0]}&x2=${point[1]}&format=html`, "_blank");
  };
  syncControls();
  writeUrl();
  start();
}

setup();
