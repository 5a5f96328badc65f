// Drawing for the playground page: heat maps, the data points, the links between neurons and the
// loss chart. Pure rendering of what the server sent; nothing here changes any state.
"use strict";

const BLUE = [8, 119, 189], ORANGE = [245, 147, 34], GREY = [232, 234, 235];

function color(v, classification) {
  // 0 (or -1) blue ... 1 orange, through light grey, as the TensorFlow Playground
  const t = classification ? Math.max(0, Math.min(1, v)) : Math.max(0, Math.min(1, (v + 1) / 2));
  const mix = (p, q, s) => p.map((x, i) => Math.round(x + (q[i] - x) * s));
  return t < 0.5 ? mix(BLUE, GREY, t * 2) : mix(GREY, ORANGE, (t - 0.5) * 2);
}

// values: n*n numbers, row by row from the bottom of the square. options.range divides the values
// (regression, a neuron's output), options.discretize maps each value to its class or sign,
// options.pixelated keeps each grid cell a square (a digit's 8x8 pixels).
function heatmap(canvas, values, n, classification, options = {}) {
  const img = new ImageData(n, n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    let v = values[(n - 1 - r) * n + c];
    if (options.range) v /= options.range;
    if (options.discretize) v = classification ? (v >= 0.5 ? 1 : 0) : (v >= 0 ? 1 : -1);
    const [R, G, B] = color(v, classification);
    const k = (r * n + c) * 4;
    img.data[k] = R; img.data[k + 1] = G; img.data[k + 2] = B; img.data[k + 3] = 255;
  }
  const off = document.createElement("canvas");
  off.width = off.height = n;
  off.getContext("2d").putImageData(img, 0, 0);
  const ctx = canvas.getContext("2d");
  // NOTE: a discretized map keeps its hard edges; any other map is interpolated between grid
  // points, so a 64x64 grid reads as a smooth surface at 320 pixels.
  ctx.imageSmoothingEnabled = !options.discretize && !options.pixelated;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

function maxAbs(values) { return Math.max(1e-6, ...values.map(Math.abs)); }

function toCanvas(canvas, x, y) {
  return [(x + 1.2) / 2.4 * canvas.width, (1 - (y + 1.2) / 2.4) * canvas.height];
}

// The output panel: the network's output, or the hovered neuron's, with the data points on top.
function drawBoundary(s, view, preview, point) {
  const canvas = $("boundary");
  if (preview) heatmap(canvas, preview.values, preview.n, false, {range: maxAbs(preview.values), discretize: view.discretize});
  else heatmap(canvas, s.output, s.grid, s.classification, {discretize: view.discretize});
  canvas.dataset.preview = preview ? preview.name : "";
  const ctx = canvas.getContext("2d");
  const shown = view.show_test ? s.train_idx.concat(s.test_idx) : s.train_idx;
  const test = new Set(s.test_idx);
  canvas.dataset.points = shown.length;
  const range = s.classification ? 1 : maxAbs(s.targets);
  for (const i of shown) {
    const [cx, cy] = toCanvas(canvas, s.points[i][0], s.points[i][1]);
    const [R, G, B] = color(s.targets[i] / range, s.classification);
    ctx.beginPath();
    ctx.arc(cx, cy, 3.2, 0, 2 * Math.PI);
    ctx.fillStyle = `rgb(${R},${G},${B})`;
    ctx.fill();
    ctx.strokeStyle = test.has(i) ? "black" : "white";
    ctx.stroke();
  }
  if (point) {
    const [cx, cy] = toCanvas(canvas, point[0], point[1]);
    ctx.strokeStyle = "black";
    ctx.strokeRect(cx - 6, cy - 6, 12, 12);
  }
}

// The loss chart: both curves against the epoch, with axes, tick labels and a legend.
function drawLoss(s) {
  const canvas = $("loss-chart"), ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, left = 40, bottom = 20, top = 8, right = 8;
  ctx.clearRect(0, 0, W, H);
  const epochs = s.history.epochs || s.history.train_loss.map((_, i) => i);
  const all = s.history.train_loss.concat(s.history.test_loss).filter(Number.isFinite);
  const yMax = Math.max(...all, 1e-6), xMax = Math.max(epochs[epochs.length - 1] || 0, 1);
  const px = (e) => left + e / xMax * (W - left - right), py = (v) => H - bottom - v / yMax * (H - bottom - top);
  ctx.strokeStyle = "#444"; ctx.fillStyle = "#444"; ctx.lineWidth = 1; ctx.font = "10px sans-serif";
  ctx.beginPath(); ctx.moveTo(left, top); ctx.lineTo(left, H - bottom); ctx.lineTo(W - right, H - bottom); ctx.stroke();
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const v of [0, yMax / 2, yMax]) {
    ctx.fillText(v.toPrecision(2), left - 4, py(v));
    ctx.beginPath(); ctx.moveTo(left - 2, py(v)); ctx.lineTo(left, py(v)); ctx.stroke();
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const e of [0, Math.round(xMax / 2), xMax]) ctx.fillText(String(e), px(e), H - bottom + 3);
  ctx.textAlign = "left";
  ctx.fillText("epoch", px(xMax * 0.72), H - bottom + 3);
  ctx.save(); ctx.translate(9, (H - bottom) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center";
  ctx.fillText("loss", 0, 0); ctx.restore();
  const curves = [["train", "train_loss", "#555"], ["test", "test_loss", "#e65100"]];
  curves.forEach(([label, key, stroke], k) => {
    const ys = s.history[key];
    ctx.beginPath();
    ys.forEach((v, i) => (i ? ctx.lineTo(px(epochs[i]), py(v)) : ctx.moveTo(px(epochs[i]), py(v))));
    ctx.strokeStyle = stroke; ctx.lineWidth = 1.5; ctx.stroke();
    const lx = W - right - 90 + k * 45, ly = top + 4;  // legend, top right
    ctx.beginPath(); ctx.moveTo(lx, ly + 5); ctx.lineTo(lx + 14, ly + 5); ctx.stroke();
    ctx.fillStyle = "#222"; ctx.textBaseline = "middle"; ctx.fillText(label, lx + 17, ly + 5);
  });
  canvas.dataset.legend = curves.map((c) => c[0]).join(",");
}

// The links between neurons: one curve per weight, its width by |w| and its colour by sign,
// from the right edge of each node in column l to the left edge of each node in column l + 1.
// columns[l] holds the nodes (elements) of column l; kernels[l][i][j] joins node i of column l
// to node j of column l + 1 (an empty column draws no links).
function drawLinks(columns, kernels, firstKernel) {
  const svg = $("links"), box = $("network").getBoundingClientRect();
  const paths = [];
  kernels.forEach((kernel, k) => {
    const l = k + firstKernel, from = columns[l], to = columns[l + 1];
    if (!from || !to || !from.length) return;
    const big = Math.max(1e-6, ...kernel.flat().map(Math.abs));
    kernel.forEach((row, i) => row.forEach((w, j) => {
      const a = from[i].getBoundingClientRect(), b = to[j].getBoundingClientRect();
      const x1 = a.right - box.left, y1 = a.top + a.height / 2 - box.top;
      const x2 = b.left - box.left, y2 = b.top + b.height / 2 - box.top, mid = (x1 + x2) / 2;
      const [R, G, B] = color(w / big, false);
      paths.push(`<path d="M${x1.toFixed(1)},${y1.toFixed(1)} C${mid.toFixed(1)},${y1.toFixed(1)} ` +
        `${mid.toFixed(1)},${y2.toFixed(1)} ${x2.toFixed(1)},${y2.toFixed(1)}" stroke="rgb(${R},${G},${B})" ` +
        `stroke-width="${(0.5 + 4 * Math.abs(w) / big).toFixed(2)}" fill="none" data-from="${l}:${i}" ` +
        `data-to="${l + 1}:${j}" data-weight="${w}"><title>w = ${w}</title></path>`);
    }));
  });
  svg.innerHTML = paths.join("");
}
