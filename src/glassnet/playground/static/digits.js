// Digits mode: the drawing pad, its 8x8 picture, and the network's answer for it: the ten class
// probabilities and every hidden unit's activation, asked of the server as the user draws.
"use strict";

let answer = null, asking = false, askAgain = false, drawing = false, lastPixels = null;

function unit(l, j) {
  const div = document.createElement("div");
  div.className = "node unit";
  div.dataset.key = `h:${l}:${j}`;
  if (l === 0) {  // the first layer's units read pixels: show each one's 64 weights as a picture
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 32;
    div.appendChild(canvas);
  }
  div.appendChild(document.createElement("span"));
  return div;
}

// the drawing as the network reads it: 8x8 grey levels (no links start here: 64 would hide the rest)
function padView() {
  const canvas = document.createElement("canvas");
  canvas.id = "pad-view";
  canvas.width = canvas.height = 64;
  paintPadView(canvas);
  return canvas;
}

function paintPadView(canvas = $("pad-view")) {
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "black";
  ctx.fillRect(0, 0, 64, 64);
  (lastPixels || []).forEach((v, k) => {
    const g = Math.round(255 * v);
    ctx.fillStyle = `rgb(${g},${g},${g})`;
    ctx.fillRect((k % 8) * 8, Math.floor(k / 8) * 8, 8, 8);
  });
}

function outputUnit(d) {
  const div = document.createElement("div");
  div.className = "node unit output-digit";
  div.dataset.key = `o:${d}`;
  div.innerHTML = `<span>${d}</span>`;
  return div;
}

// a first-layer unit's weights as an 8x8 picture, top row first (heatmap() wants the bottom row first)
function weightPicture(kernel, j) {
  const values = [];
  for (let r = 7; r >= 0; r--) for (let c = 0; c < 8; c++) values.push(kernel[r * 8 + c][j]);
  return values;
}

function paintUnit(n, s) {
  const [kind, ...rest] = n.dataset.key.split(":");
  const span = n.querySelector("span");
  if (kind === "o") {
    const p = answer ? answer.probabilities[Number(rest[0])] : null;
    n.style.background = p === null ? "" : `rgba(245,147,34,${p})`;
    if (p !== null) n.dataset.probability = p;
    return;
  }
  const [l, j] = rest.map(Number);
  const canvas = n.querySelector("canvas");
  if (canvas) {
    const values = weightPicture(s.weights[0].kernel, j);
    heatmap(canvas, values, 8, false, {range: maxAbs(values), pixelated: true});
  }
  const a = answer && answer.hidden[l] ? answer.hidden[l][j] : null;
  if (a === null || a === undefined) return;
  const [R, G, B] = color(Math.max(-1, Math.min(1, a)), false);
  n.style.borderColor = `rgb(${R},${G},${B})`;
  n.style.background = canvas ? "" : `rgb(${R},${G},${B})`;
  n.dataset.activation = a;
  span.textContent = a.toFixed(2);
}

function renderDigits(s) {
  $("train-accuracy").textContent = Number.isFinite(s.accuracy.train) ? (100 * s.accuracy.train).toFixed(1) + "%" : "-";
  $("test-accuracy").textContent = Number.isFinite(s.accuracy.test) ? (100 * s.accuracy.test).toFixed(1) + "%" : "-";
  if (lastPixels && !asking) ask(lastPixels);  // the network changed: ask again about the same drawing
}

function showAnswer() {
  $("prediction").textContent = answer ? String(answer.prediction) : "";
  $("probabilities").innerHTML = answer ? answer.probabilities.map((p, d) =>
    `<div class="${d === answer.prediction ? "best" : ""}">${d} <span class="bar" style="width:${(100 * p).toFixed(1)}px">` +
    `</span> ${(100 * p).toFixed(1)}%</div>`).join("") : "";
  paintPadView();
  if (state) paintNetwork(state);
}

async function ask(pixels) {
  if (asking) { askAgain = true; return; }
  asking = true;
  try {
    answer = await api(`/api/sessions/${session}/predict`, {pixels});
    $("pad").dataset.pixels = JSON.stringify(pixels);
    showAnswer();
  } catch (err) { message(err.message); }
  asking = false;
  if (askAgain) { askAgain = false; ask(lastPixels); }
}

// The pad as the data set's digits are made: the ink's bounding square scaled to 32x32, then
// the ink counted in 4x4 blocks (0..16), here divided by 16 as the network reads it.
function padPixels() {
  const pad = $("pad"), W = pad.width, H = pad.height;
  const ink = pad.getContext("2d").getImageData(0, 0, W, H).data;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (ink[(y * W + x) * 4] > 32) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (x1 < 0) return null;
  const side = Math.max(x1 - x0, y1 - y0) + 16, cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const off = document.createElement("canvas");
  off.width = off.height = 32;
  const o = off.getContext("2d");
  o.fillStyle = "black";
  o.fillRect(0, 0, 32, 32);
  o.imageSmoothingEnabled = true;
  o.imageSmoothingQuality = "high";
  o.drawImage(pad, cx - side / 2, cy - side / 2, side, side, 0, 0, 32, 32);
  const small = o.getImageData(0, 0, 32, 32).data, pixels = new Array(64).fill(0);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) pixels[(y >> 2) * 8 + (x >> 2)] += small[(y * 32 + x) * 4] / 255 / 16;
  return pixels.map((v) => Math.round(Math.min(1, v) * 1e4) / 1e4);
}

function clearPad() {
  const pad = $("pad"), ctx = pad.getContext("2d");
  ctx.fillStyle = "black";
  ctx.fillRect(0, 0, pad.width, pad.height);
  lastPixels = answer = null;
  delete pad.dataset.pixels;
  showAnswer();
}

function setupPad() {
  const pad = $("pad"), ctx = pad.getContext("2d", {willReadFrequently: true});
  clearPad();
  const at = (e) => {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  };
  // pointer events serve the mouse, a pen and a finger alike; touch-action: none keeps the page still
  pad.onpointerdown = (e) => {
    drawing = true;
    pad.setPointerCapture(e.pointerId);
    ctx.beginPath();
    ctx.moveTo(...at(e));
  };
  pad.onpointermove = (e) => {
    if (!drawing) return;
    ctx.lineTo(...at(e));
    ctx.strokeStyle = "white"; ctx.lineWidth = 18; ctx.lineCap = ctx.lineJoin = "round";
    ctx.stroke();
    lastPixels = padPixels();
    if (lastPixels) ask(lastPixels);
  };
  pad.onpointerup = pad.onpointercancel = () => { drawing = false; };
  $("clear-pad").onclick = clearPad;
}
