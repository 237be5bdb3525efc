// The troupe HTML timeline (tools/troupe/html_timeline.h): draws the embedded run on a canvas.
// Lanes are DOM labels on the left and canvas rows on the right; the time axis zooms and pans.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("timeline-data").textContent);
  const app = document.getElementById("app");
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const FAIL = color("--fail");

  const AXIS_HEIGHT = 30;
  const PROCESS_HEIGHT = 30;
  const ROW_HEIGHT = 18;
  const ACTOR_PADDING = 8;

  // ---- Data: lanes, and per lane its spans, marks and bars -------------------------------------
  const lanes = data.lanes.map(([id, kind, name, node], index) => ({
    index, id, kind, name, node, rows: 1, spans: [], marks: [], bars: [], top: 0, height: 0,
  }));
  const spans = data.spans.map(([lane, start, end, row, ended, method, outcome, call, caller, n0, n1]) =>
    ({ lane, start, end, row, ended: ended === 1, method, outcome, call, caller, n0, n1 }));
  const arrows = data.arrows.map(([from, to, sent, arrived, status, bytes, detail, n0, n1]) =>
    ({ from, to, sent, arrived, status, bytes, detail, n0, n1 }));
  const marks = data.marks.map(([lane, time, style, kind, detail, n], index) =>
    ({ index, lane, time, style, kind, detail, n }));
  const bars = data.bars.map(([lane, start, end, state]) => ({ lane, start, end, state }));
  for (const span of spans) {
    lanes[span.lane].spans.push(span);
    lanes[span.lane].rows = Math.max(lanes[span.lane].rows, span.row + 1);
  }
  for (const mark of marks) lanes[mark.lane].marks.push(mark);
  for (const bar of bars) lanes[bar.lane].bars.push(bar);
  let totalHeight = 0;
  for (const lane of lanes) {
    lane.height = lane.kind === "actor" ? lane.rows * ROW_HEIGHT + ACTOR_PADDING : PROCESS_HEIGHT;
    lane.top = totalHeight;
    totalHeight += lane.height;
  }
  // Sorted by start time (trace order already is under the simulator; real clocks may interleave),
  // each lane keeps its longest span and the arrows their longest flight, so drawing can
  // binary-search the visible window.
  for (const lane of lanes) {
    lane.spans.sort((a, b) => a.start - b.start);
    lane.marks.sort((a, b) => a.time - b.time);
  }
  arrows.sort((a, b) => a.sent - b.sent);
  for (const lane of lanes) lane.longest = lane.spans.reduce((m, span) => Math.max(m, span.end - span.start), 0);
  const longestFlight = arrows.reduce((m, arrow) => Math.max(m, arrow.arrived - arrow.sent), 0);
  for (const span of spans) {
    const h = hue(span.method);
    span.fill = "hsl(" + h + ", 58%, " + (span.ended ? 72 : 85) + "%)";
    span.stroke = "hsl(" + h + ", 45%, 48%)";
  }
  // The first index of `items` whose key(item) >= value (items sorted by key).
  function lowerBound(items, value, key) {
    let lo = 0, hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (key(items[mid]) < value) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  const failure = data.failureMark >= 0 ? marks[data.failureMark] : null;
  const failureTime = failure ? failure.time : data.endTime;
  const fullEnd = Math.max(data.endTime, 1);

  // ---- Formatting ------------------------------------------------------------------------------
  const UNITS = [[1e9, "s"], [1e6, "ms"], [1e3, "\u00b5s"], [1, "ns"]];
  function formatDuration(ns) {
    const magnitude = Math.abs(ns);
    for (const [scale, unit] of UNITS) {
      if (magnitude >= scale || scale === 1) {
        const value = ns / scale;
        const digits = scale === 1 ? 0 : value >= 100 ? 1 : value >= 10 ? 2 : 3;
        const text = value.toFixed(digits);
        return (text.includes(".") ? text.replace(/\.?0+$/, "") : text) + " " + unit;
      }
    }
    return ns + " ns";
  }
  function formatTime(ns) {  // exact: milliseconds with 6 decimals, like the text trace
    const ms = Math.floor(ns / 1e6);
    return ms + "." + String(ns - ms * 1e6).padStart(6, "0") + " ms";
  }
  function hue(text) {  // a stable colour per method name, never red (red means failure)
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
    return 35 + h % 290;
  }
  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // ---- DOM -------------------------------------------------------------------------------------
  const MARK_STYLES = {
    failure: { color: FAIL, label: "failed check" },
    check: { color: "#1a73e8", label: "check held" },
    fault: { color: "#e8710a", label: "fault" },
    exit: { color: "#a50e0e", label: "process exit" },
    dead: { color: "#202124", label: "actor dead" },
    restart: { color: "#f9ab00", label: "actor restarting" },
    alive: { color: "#188038", label: "alive again" },
    create: { color: "#80868b", label: "actor created" },
    drop: { color: "#ea4335", label: "dropped" },
    lost: { color: "#ea4335", label: "connection lost" },
    deliver: { color: "#80868b", label: "unmatched delivery" },
    info: { color: "#9aa0a6", label: "other event" },
  };
  const BAR_COLORS = { running: "#dbe6f7", pending: "#eceff1", alive: "#e6f4ea", restarting: "#fef3d6" };

  app.innerHTML =
    '<div class="toolbar">' +
    '<button id="fit" type="button" title="Show the whole run (0)">Fit</button>' +
    '<button id="zoom-in" type="button" title="Zoom in (W)">+</button>' +
    '<button id="zoom-out" type="button" title="Zoom out (S)">\u2212</button>' +
    '<label><input id="show-messages" type="checkbox" checked> messages</label>' +
    '<span class="range mono" id="range"></span>' +
    '<span class="hint">ctrl+wheel or W/S: zoom \u00b7 drag, shift+wheel or A/D: pan \u00b7 hover: details</span>' +
    '<div class="legend" id="legend"></div></div>' +
    '<div class="viewport" id="viewport"><div class="content" id="content">' +
    '<div class="labels" id="labels"></div><div class="tracks" id="tracks"><canvas id="canvas"></canvas></div>' +
    '</div></div><div class="tooltip" id="tooltip"></div>';
  const viewport = document.getElementById("viewport");
  const content = document.getElementById("content");
  const labels = document.getElementById("labels");
  const tracks = document.getElementById("tracks");
  const canvas = document.getElementById("canvas");
  const tooltip = document.getElementById("tooltip");
  const ctx = canvas.getContext("2d");

  content.style.height = AXIS_HEIGHT + totalHeight + "px";
  const corner = document.createElement("div");
  corner.className = "corner";
  corner.style.height = AXIS_HEIGHT + "px";
  corner.textContent = lanes.length + " lanes \u00b7 " + spans.length + " calls \u00b7 " + arrows.length + " messages";
  corner.id = "summary";
  labels.appendChild(corner);
  for (const lane of lanes) {
    const label = document.createElement("div");
    label.className = "lane-label";
    if (failure && failure.lane === lane.index) label.classList.add("failing");
    label.dataset.kind = lane.kind;
    label.dataset.lane = lane.id;
    label.style.height = lane.height + "px";
    label.title = lane.name + (lane.node ? " on " + lane.node : "");
    label.innerHTML = '<span class="chip"></span><span class="lane-name"></span>' +
      (lane.node ? '<span class="lane-node"></span>' : "");
    label.querySelector(".lane-name").textContent = lane.name;
    if (lane.node) label.querySelector(".lane-node").textContent = lane.node;
    labels.appendChild(label);
  }

  // The legend: each entry's swatch is drawn by the same code as the timeline.
  const legend = document.getElementById("legend");
  const legendEntries = [
    ["span", "call"], ["arrow", "message"], ["dropped", "dropped message"], ["failure", "failed check"],
    ["fault", "fault"], ["exit", "process exit"], ["dead", "actor dead"], ["restart", "restarting"],
    ["alive", "alive again"], ["check", "check held"], ["info", "other event"],
  ];
  for (const [what, text] of legendEntries) {
    const entry = document.createElement("span");
    const swatch = document.createElement("canvas");
    const ratio = window.devicePixelRatio || 1;
    swatch.width = 18 * ratio;
    swatch.height = 14 * ratio;
    const g = swatch.getContext("2d");
    g.scale(ratio, ratio);
    if (what === "span") {
      g.fillStyle = "hsl(210, 60%, 72%)";
      g.fillRect(1, 3, 16, 8);
    } else if (what === "arrow" || what === "dropped") {
      drawArrow(g, 1, 10, 15, 4, what === "dropped" ? "#ea4335" : "#5f6368", what === "dropped");
    } else {
      drawMark(g, what, 9, 7);
    }
    entry.appendChild(swatch);
    entry.appendChild(document.createTextNode(text));
    legend.appendChild(entry);
  }

  // ---- View: the visible time window -----------------------------------------------------------
  const view = { start: 0, end: fullEnd };
  const MIN_WINDOW = 20;  // ns
  let width = 0, height = 0, ratio = 1;

  function x(time) { return (time - view.start) / (view.end - view.start) * width; }
  function timeAt(px) { return view.start + px / width * (view.end - view.start); }
  function setView(start, end) {
    let span = Math.max(MIN_WINDOW, end - start);
    const maxSpan = fullEnd * 1.2;
    span = Math.min(span, maxSpan);
    const pad = fullEnd * 0.1;
    start = Math.min(Math.max(start, -pad), fullEnd + pad - span);
    view.start = start;
    view.end = start + span;
    requestDraw();
  }
  function zoom(factor, anchorPx) {
    const anchor = timeAt(anchorPx === undefined ? width / 2 : anchorPx);
    setView(anchor - (anchor - view.start) * factor, anchor + (view.end - anchor) * factor);
  }
  function pan(px) {
    const dt = px / width * (view.end - view.start);
    setView(view.start + dt, view.end + dt);
  }
  function fit() { setView(-fullEnd * 0.01, fullEnd * 1.01); }

  // ---- Drawing ---------------------------------------------------------------------------------
  function drawArrow(g, x0, y0, x1, y1, stroke, dashed) {
    g.strokeStyle = stroke;
    g.fillStyle = stroke;
    g.lineWidth = 1;
    g.setLineDash(dashed ? [3, 3] : []);
    g.beginPath();
    g.moveTo(x0, y0);
    g.lineTo(x1, y1);
    g.stroke();
    g.setLineDash([]);
    arrowHead(g, x0, y0, x1, y1);
    g.fill();
  }
  function arrowHead(g, x0, y0, x1, y1) {
    g.beginPath();
    addArrowHead(g, x0, y0, x1, y1);
  }
  function addArrowHead(g, x0, y0, x1, y1) {  // to the current path
    const angle = Math.atan2(y1 - y0, x1 - x0);
    g.moveTo(x1, y1);
    g.lineTo(x1 - 6 * Math.cos(angle - 0.45), y1 - 6 * Math.sin(angle - 0.45));
    g.lineTo(x1 - 6 * Math.cos(angle + 0.45), y1 - 6 * Math.sin(angle + 0.45));
    g.closePath();
  }
  function drawMark(g, style, cx, cy) {
    const c = (MARK_STYLES[style] || MARK_STYLES.info).color;
    g.fillStyle = c;
    g.strokeStyle = c;
    g.lineWidth = 2;
    g.beginPath();
    switch (style) {
      case "failure":
        g.moveTo(cx, cy - 7); g.lineTo(cx + 7, cy); g.lineTo(cx, cy + 7); g.lineTo(cx - 7, cy); g.closePath();
        g.fill();
        g.strokeStyle = "#fff"; g.lineWidth = 1.5; g.beginPath();
        g.moveTo(cx - 2.5, cy - 2.5); g.lineTo(cx + 2.5, cy + 2.5); g.moveTo(cx + 2.5, cy - 2.5); g.lineTo(cx - 2.5, cy + 2.5);
        g.stroke();
        break;
      case "check":
        g.moveTo(cx, cy - 5); g.lineTo(cx + 5, cy); g.lineTo(cx, cy + 5); g.lineTo(cx - 5, cy); g.closePath(); g.fill();
        break;
      case "fault":
        g.moveTo(cx - 6, cy - 5); g.lineTo(cx + 6, cy - 5); g.lineTo(cx, cy + 6); g.closePath(); g.fill();
        break;
      case "exit": case "dead": case "drop": case "lost": {
        const r = style === "drop" || style === "lost" ? 3.5 : 5;
        g.lineWidth = style === "dead" ? 3 : 2;
        g.moveTo(cx - r, cy - r); g.lineTo(cx + r, cy + r); g.moveTo(cx + r, cy - r); g.lineTo(cx - r, cy + r); g.stroke();
        break;
      }
      case "restart":
        g.arc(cx, cy, 4.5, 0.3, Math.PI * 1.8); g.stroke();
        break;
      case "alive":
        g.moveTo(cx, cy - 6); g.lineTo(cx + 6, cy + 5); g.lineTo(cx - 6, cy + 5); g.closePath(); g.fill();
        break;
      case "create":
        g.lineWidth = 1.5; g.arc(cx, cy, 3.5, 0, Math.PI * 2); g.stroke();
        break;
      case "deliver":
        g.arc(cx, cy, 2.5, 0, Math.PI * 2); g.fill();
        break;
      default:
        g.lineWidth = 1.5; g.moveTo(cx, cy - 5); g.lineTo(cx, cy + 5); g.stroke();
    }
  }

  function laneY(lane) { return AXIS_HEIGHT + lane.top - viewport.scrollTop; }
  function laneCenter(index) { const lane = lanes[index]; return laneY(lane) + lane.height / 2; }
  function spanRect(span) {
    const lane = lanes[span.lane];
    const x0 = x(span.start), x1 = Math.max(x(span.end), x0 + 2);
    return { x0, x1, y: laneY(lane) + ACTOR_PADDING / 2 + span.row * ROW_HEIGHT + 1, h: ROW_HEIGHT - 3 };
  }
  function visibleLane(lane) { const y = laneY(lane); return y + lane.height >= AXIS_HEIGHT && y <= height; }

  function niceStep(window) {
    const raw = window / Math.max(1, width / 110);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const m of [1, 2, 5, 10]) if (m * power >= raw) return Math.max(1, m * power);
    return 10 * power;
  }

  function drawAxis() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, AXIS_HEIGHT);
    const step = niceStep(view.end - view.start);
    ctx.fillStyle = "#5f6368";
    ctx.strokeStyle = "#e8eaed";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let t = Math.ceil(view.start / step) * step; t <= view.end; t += step) {
      const px = Math.round(x(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(px, AXIS_HEIGHT - 6);
      ctx.lineTo(px, height);
      ctx.stroke();
      ctx.fillText(formatDuration(t), px + 3, AXIS_HEIGHT / 2 - 2);
    }
    ctx.strokeStyle = "#dadce0";
    ctx.beginPath();
    ctx.moveTo(0, AXIS_HEIGHT - 0.5);
    ctx.lineTo(width, AXIS_HEIGHT - 0.5);
    ctx.stroke();
  }

  function drawLane(lane) {
    const y = laneY(lane);
    ctx.fillStyle = lane.index % 2 ? "#fafbfc" : "#fff";
    if (failure && failure.lane === lane.index) ctx.fillStyle = "#fef6f5";
    ctx.fillRect(0, y, width, lane.height);
    for (const bar of lane.bars) {
      const x0 = Math.max(x(bar.start), -10), x1 = Math.min(x(bar.end), width + 10);
      if (x1 < 0 || x0 > width) continue;
      ctx.fillStyle = BAR_COLORS[bar.state] || "#eceff1";
      if (lane.kind === "actor") ctx.fillRect(x0, y + 2, Math.max(1, x1 - x0), lane.height - 4);
      else ctx.fillRect(x0, y + lane.height / 2 - 2, Math.max(1, x1 - x0), 4);
    }
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    const lastPixel = [];  // per row: the pixel column a sub-pixel span was last drawn in
    const visibleEnd = timeAt(width + 1);
    for (let i = lowerBound(lane.spans, view.start - lane.longest, (s) => s.start); i < lane.spans.length; i++) {
      const span = lane.spans[i];
      if (span.start > visibleEnd) break;
      const r = spanRect(span);
      if (r.x1 < 0 || r.x0 > width) continue;
      if (r.x1 - r.x0 <= 2) {  // zoomed out: one mark per pixel column is enough
        const column = Math.floor(r.x0);
        if (lastPixel[span.row] === column) continue;
        lastPixel[span.row] = column;
        ctx.fillStyle = span.stroke;
        ctx.fillRect(r.x0, r.y, 2, r.h);
        continue;
      }
      ctx.fillStyle = span.fill;
      ctx.fillRect(r.x0, r.y, r.x1 - r.x0, r.h);
      ctx.strokeStyle = span.stroke;
      ctx.lineWidth = 1;
      ctx.setLineDash(span.ended ? [] : [3, 2]);
      ctx.strokeRect(r.x0 + 0.5, r.y + 0.5, r.x1 - r.x0 - 1, r.h - 1);
      ctx.setLineDash([]);
      if (r.x1 - r.x0 > 36) {
        const left = Math.max(r.x0, 0) + 4;
        const room = Math.min(r.x1, width) - left - 3;
        if (room > 20) {
          ctx.save();
          ctx.beginPath();
          ctx.rect(left, r.y, room, r.h);
          ctx.clip();
          ctx.fillStyle = "#202124";
          ctx.fillText(span.method, left, r.y + r.h / 2 + 0.5);
          ctx.restore();
        }
      }
    }
    ctx.strokeStyle = "#e3e6ea";
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, y + lane.height - 0.5);
    ctx.lineTo(width, y + lane.height - 0.5);
    ctx.stroke();
  }

  function drawArrows() {
    if (!document.getElementById("show-messages").checked) return;
    const groups = { delivered: [], dropped: [], "in flight": [] };
    const visibleEnd = timeAt(width + 1);
    for (let i = lowerBound(arrows, timeAt(-14) - longestFlight, (a) => a.sent); i < arrows.length; i++) {
      const arrow = arrows[i];
      if (arrow.sent > visibleEnd) break;
      const x0 = x(arrow.sent), x1 = arrow.status === "in flight" ? x0 + 12 : x(arrow.arrived);
      if (Math.max(x0, x1) < 0 || Math.min(x0, x1) > width) continue;
      const y0 = laneCenter(arrow.from), yTarget = laneCenter(arrow.to);
      const y1 = arrow.status === "in flight" ? y0 + Math.sign(yTarget - y0) * 12 : yTarget;
      if (Math.max(y0, y1) < AXIS_HEIGHT || Math.min(y0, y1) > height) continue;
      groups[arrow.status].push([x0, y0, x1, y1]);
    }
    // Many arrows at once fade, so the lanes stay readable when zoomed out.
    const alpha = Math.max(0.15, Math.min(0.55, 0.55 * 400 / Math.max(1, groups.delivered.length)));
    const styles = { delivered: ["rgba(95, 99, 104, " + alpha.toFixed(2) + ")", []], dropped: ["#ea4335", [3, 3]],
                     "in flight": ["#9aa0a6", [2, 2]] };
    for (const status in groups) {
      const [stroke, dash] = styles[status];
      ctx.strokeStyle = stroke;
      ctx.fillStyle = stroke;
      ctx.lineWidth = 1;
      ctx.setLineDash(dash);
      ctx.beginPath();
      for (const [x0, y0, x1, y1] of groups[status]) { ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); }
      ctx.stroke();
      ctx.setLineDash([]);
      if (groups[status].length > 3000) continue;  // heads would be noise at that density
      for (const [x0, y0, x1, y1] of groups[status]) {
        if (Math.hypot(x1 - x0, y1 - y0) < 8) continue;
        arrowHead(ctx, x0, y0, x1, y1);
        ctx.fill();
      }
    }
  }

  function drawMarks(lane) {
    const cy = laneY(lane) + lane.height / 2;
    const visibleEnd = timeAt(width + 8);
    for (let i = lowerBound(lane.marks, timeAt(-8), (m) => m.time); i < lane.marks.length; i++) {
      const mark = lane.marks[i];
      if (mark.time > visibleEnd) break;
      drawMark(ctx, mark.style, x(mark.time), cy);
    }
  }

  function drawFailureLine() {
    if (data.passed) return;
    const px = Math.round(x(failureTime)) + 0.5;
    if (px < 0 || px > width) return;
    ctx.strokeStyle = FAIL;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(px, AXIS_HEIGHT - 4);
    ctx.lineTo(px, height);
    ctx.stroke();
    const text = (failure ? "failed" : "run ended") + " @ " + formatTime(failureTime);
    ctx.font = "600 11px system-ui, sans-serif";
    const w = ctx.measureText(text).width + 10;
    const left = px + w + 4 > width ? px - w - 2 : px + 2;
    ctx.fillStyle = FAIL;
    ctx.fillRect(left, 3, w, 17);
    ctx.fillStyle = "#fff";
    ctx.textBaseline = "middle";
    ctx.fillText(text, left + 5, 12);
  }

  let drawPending = false;
  function requestDraw() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(draw);
  }
  function draw() {
    drawPending = false;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const shown = lanes.filter(visibleLane);
    for (const lane of shown) drawLane(lane);
    drawArrows();
    for (const lane of shown) drawMarks(lane);
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, 0, width, height);
    ctx.clip();
    drawAxis();
    drawFailureLine();
    ctx.restore();
    document.getElementById("range").textContent =
      formatTime(Math.max(0, Math.round(view.start))) + " \u2013 " + formatTime(Math.round(view.end)) +
      "  (" + formatDuration(view.end - view.start) + ")";
  }

  function resize() {
    ratio = window.devicePixelRatio || 1;
    width = Math.max(100, tracks.clientWidth);
    height = Math.max(100, viewport.clientHeight);
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    requestDraw();
  }

  // ---- Hover -----------------------------------------------------------------------------------
  function laneAt(py) {
    const y = py - AXIS_HEIGHT + viewport.scrollTop;
    for (const lane of lanes) if (y >= lane.top && y < lane.top + lane.height) return lane;
    return null;
  }
  function distanceToSegment(px, py, x0, y0, x1, y1) {
    const dx = x1 - x0, dy = y1 - y0;
    const length = dx * dx + dy * dy;
    const t = length === 0 ? 0 : Math.max(0, Math.min(1, ((px - x0) * dx + (py - y0) * dy) / length));
    return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
  }
  function row(name, value) { return '<div class="tt-row"><b>' + escapeHtml(name) + ":</b> " + escapeHtml(value) + "</div>"; }
  function describeAt(px, py) {
    if (py < AXIS_HEIGHT) return null;
    const lane = laneAt(py);
    if (lane) {
      const cy = laneY(lane) + lane.height / 2;
      let best = null, bestDistance = 7;
      for (const mark of lane.marks) {
        const d = Math.hypot(x(mark.time) - px, cy - py);
        if (d < bestDistance) { best = mark; bestDistance = d; }
      }
      if (best) {
        return '<div class="tt-title" style="color:' + (MARK_STYLES[best.style] || MARK_STYLES.info).color + '">' +
          escapeHtml((MARK_STYLES[best.style] || MARK_STYLES.info).label) + "</div>" +
          row("event", "#" + best.n + " " + best.kind) + row("time", formatTime(best.time)) +
          row("lane", lane.name) + (best.detail ? row("detail", best.detail) : "");
      }
      for (let i = lane.spans.length - 1; i >= 0; i--) {
        const span = lane.spans[i], r = spanRect(span);
        if (px >= r.x0 - 1 && px <= r.x1 + 1 && py >= r.y && py <= r.y + r.h) {
          return '<div class="tt-title">' + escapeHtml(span.method) + "</div>" +
            row("actor", lane.name) + row("call", span.call + (span.caller ? " from " + span.caller : "")) +
            row("start", formatTime(span.start) + "  (#" + span.n0 + ")") +
            row("end", span.ended ? formatTime(span.end) + "  (#" + span.n1 + ")" : formatTime(span.end) + " (did not end)") +
            row("duration", formatDuration(span.end - span.start)) +
            (span.ended ? row("outcome", span.outcome || "(none)") : "");
        }
      }
    }
    if (!document.getElementById("show-messages").checked) return null;
    let best = null, bestDistance = 4;
    const hoverEnd = timeAt(px + 5);
    for (let i = lowerBound(arrows, timeAt(px - 17) - longestFlight, (a) => a.sent); i < arrows.length; i++) {
      const arrow = arrows[i];
      if (arrow.sent > hoverEnd) break;
      const x0 = x(arrow.sent), x1 = arrow.status === "in flight" ? x0 + 12 : x(arrow.arrived);
      if (Math.max(x0, x1) < px - 5 || Math.min(x0, x1) > px + 5) continue;
      const y0 = laneCenter(arrow.from), yTarget = laneCenter(arrow.to);
      const y1 = arrow.status === "in flight" ? y0 + Math.sign(yTarget - y0) * 12 : yTarget;
      const d = distanceToSegment(px, py, x0, y0, x1, y1);
      if (d < bestDistance) { best = arrow; bestDistance = d; }
    }
    if (!best) return null;
    return '<div class="tt-title">message ' + escapeHtml(lanes[best.from].id + " \u2192 " + lanes[best.to].id) + "</div>" +
      row("status", best.status) + row("size", best.bytes + " bytes") +
      row("sent", formatTime(best.sent) + "  (#" + best.n0 + ")") +
      (best.status === "in flight" ? "" : row(best.status === "dropped" ? "dropped" : "delivered",
        formatTime(best.arrived) + "  (#" + best.n1 + ")") + row("latency", formatDuration(best.arrived - best.sent))) +
      (best.detail ? row("detail", best.detail) : "");
  }

  // ---- Interaction -----------------------------------------------------------------------------
  let drag = null;
  canvas.addEventListener("mousedown", (event) => {
    drag = { x: event.clientX, moved: false };
    canvas.classList.add("dragging");
  });
  window.addEventListener("mouseup", () => { drag = null; canvas.classList.remove("dragging"); });
  window.addEventListener("mousemove", (event) => {
    if (drag) {
      pan(drag.x - event.clientX);
      drag.x = event.clientX;
      tooltip.style.display = "none";
      return;
    }
    if (event.target !== canvas) { tooltip.style.display = "none"; return; }
    const box = canvas.getBoundingClientRect();
    const html = describeAt(event.clientX - box.left, event.clientY - box.top);
    if (!html) { tooltip.style.display = "none"; return; }
    tooltip.innerHTML = html;
    tooltip.style.display = "block";
    const left = Math.min(event.clientX + 14, window.innerWidth - tooltip.offsetWidth - 8);
    const top = event.clientY + 16 + tooltip.offsetHeight > window.innerHeight
      ? event.clientY - tooltip.offsetHeight - 10 : event.clientY + 16;
    tooltip.style.left = left + "px";
    tooltip.style.top = top + "px";
  });
  canvas.addEventListener("mouseleave", () => { tooltip.style.display = "none"; });
  canvas.addEventListener("wheel", (event) => {
    const box = canvas.getBoundingClientRect();
    if (event.ctrlKey || event.metaKey || event.altKey) {
      event.preventDefault();
      zoom(Math.exp(event.deltaY * 0.002), event.clientX - box.left);
    } else if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      event.preventDefault();
      pan(event.shiftKey ? event.deltaY || event.deltaX : event.deltaX);
    }
  }, { passive: false });
  canvas.addEventListener("dblclick", (event) => {
    zoom(0.5, event.clientX - canvas.getBoundingClientRect().left);
  });
  window.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement) return;
    const keys = { w: () => zoom(0.7), s: () => zoom(1 / 0.7), a: () => pan(-width * 0.15), d: () => pan(width * 0.15),
                   "+": () => zoom(0.7), "=": () => zoom(0.7), "-": () => zoom(1 / 0.7), "0": fit };
    const action = keys[event.key.toLowerCase()];
    if (action && !event.ctrlKey && !event.metaKey) { action(); event.preventDefault(); }
  });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", () => zoom(0.5));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(2));
  document.getElementById("show-messages").addEventListener("change", requestDraw);
  viewport.addEventListener("scroll", requestDraw);
  window.addEventListener("resize", resize);
  const showFailure = document.getElementById("show-failure");
  if (showFailure) {
    showFailure.addEventListener("click", () => {
      const window_ = Math.max(fullEnd * 0.04, MIN_WINDOW);
      setView(failureTime - window_ / 2, failureTime + window_ / 2);
      if (failure) {
        const lane = lanes[failure.lane];
        viewport.scrollTop = Math.max(0, lane.top - viewport.clientHeight / 3);
      }
    });
  }

  resize();
  fit();
  draw();
  app.dataset.rendered = "true";
})();
