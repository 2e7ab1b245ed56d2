(function () {
  "use strict";
  // Every text the page shows comes from #graph-data and is set with textContent:
  // a migration's name never becomes markup.
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var view = document.getElementById("view");
  var svg = view.querySelector("svg");
  var box = document.getElementById("search");
  var status = document.getElementById("status");
  var side = document.getElementById("side");
  var panel = document.getElementById("details");
  var minimap = document.getElementById("minimap");
  var state = { x: 0, y: 0, s: 1 };
  var LEGIBLE_PX = 12;  // once fitted, the smallest label is drawn at least this large
  var CLOSE_UP = 1.3;  // and at most this much larger: enough of the picture stays around it
  var parents = {}, children = {}, edgeOf = {}, edgeEnds = {}, nodeOf = {};
  data.nodes.forEach(function (n) { nodeOf[n.svg_id] = n; });
  data.edges.forEach(function (e) {
    var a = data.ids[e.source], b = data.ids[e.target];
    (children[a] = children[a] || []).push(b);
    (parents[b] = parents[b] || []).push(a);
    edgeOf[a + ">" + b] = e.svg_id;
    edgeEnds[e.svg_id] = [a, b];
  });
  function element(id) { return document.getElementById(id); }
  function make(tag, text, cls) {
    var el = document.createElement(tag);
    if (text !== undefined && text !== null) { el.textContent = String(text); }
    if (cls) { el.className = cls; }
    return el;
  }

  // -- pan and zoom: one transform, shared by the view and the minimap ---------------
  var frame = 0;
  function apply() {
    svg.style.transform = "translate(" + state.x + "px," + state.y + "px) scale(" + state.s + ")";
    if (!frame) { frame = requestAnimationFrame(function () { frame = 0; drawMinimap(); }); }
  }
  // Node boxes in content pixels (the picture at scale 1), measured once.
  var boxes = {}, content = { w: 1, h: 1 }, fontAtOne = 13;
  function measure() {
    state = { x: 0, y: 0, s: 1 }; apply();
    var v = view.getBoundingClientRect(), r = svg.getBoundingClientRect();
    content = { w: Math.max(r.width, 1), h: Math.max(r.height, 1) };
    svg.querySelectorAll("g.node").forEach(function (g) {
      var b = g.getBoundingClientRect();
      boxes[g.id] = { x: b.left - v.left, y: b.top - v.top, w: b.width, h: b.height };
    });
    var sizes = data.nodes.map(function (n) { return fontPx(element(n.svg_id)); })
      .filter(function (px) { return px > 0; });
    if (sizes.length) { fontAtOne = Math.min.apply(null, sizes); }
  }
  function fontPx(g) {
    // The label's font size as drawn on the screen: its size in the SVG's units times
    // the units' size in pixels (Graphviz's scale, the viewBox, the zoom).
    var text = g && g.querySelector("text");
    if (!text) { return 0; }
    var units = parseFloat(getComputedStyle(text).fontSize) || 0;
    var bbox = text.getBBox();
    if (!bbox.height) { return 0; }
    return units * text.getBoundingClientRect().height / bbox.height;
  }
  function legibleScale() { return LEGIBLE_PX / fontAtOne; }
  function union(ids) {
    var r = null;
    ids.forEach(function (id) {
      var b = boxes[id]; if (!b) { return; }
      if (!r) { r = { x: b.x, y: b.y, r: b.x + b.w, b: b.y + b.h }; return; }
      r.x = Math.min(r.x, b.x); r.y = Math.min(r.y, b.y);
      r.r = Math.max(r.r, b.x + b.w); r.b = Math.max(r.b, b.y + b.h);
    });
    return r;
  }
  function fits(r, pad) {
    var w = r.r - r.x + 2 * pad, h = r.b - r.y + 2 * pad;
    return Math.min(view.clientWidth / w, view.clientHeight / h) >= legibleScale();
  }
  // Show the box whole if it fits at a legible zoom (zooming in at most CLOSE_UP times
  // the legible size), else at the legible zoom centred on it.
  function show(r, pad) {
    var vw = view.clientWidth, vh = view.clientHeight;
    var w = r.r - r.x + 2 * pad, h = r.b - r.y + 2 * pad;
    var s = Math.min(vw / w, vh / h, legibleScale() * CLOSE_UP);
    state.s = Math.max(s, legibleScale());
    state.x = vw / 2 - state.s * (r.x + r.r) / 2;
    state.y = vh / 2 - state.s * (r.y + r.b) / 2;
    apply();
    return s >= legibleScale();
  }
  function fitAll() {
    var vw = view.clientWidth, vh = view.clientHeight;
    var s = Math.min(vw / content.w, vh / content.h, CLOSE_UP * legibleScale());
    fitAll.whole = s >= legibleScale();
    if (fitAll.whole) {
      state.s = s;
      state.x = (vw - s * content.w) / 2; state.y = (vh - s * content.h) / 2;
    } else {  // too big to read whole: legible, from the start; the minimap shows the rest
      state.s = legibleScale(); state.x = 0; state.y = 0;
    }
    apply();
  }

  // -- the minimap ------------------------------------------------------------------
  var mini = { k: 1 };
  function drawMinimap() {
    // Only when some of the picture is out of sight.
    var left = -state.x / state.s, top = -state.y / state.s;
    var whole = left <= 0 && top <= 0 && left + view.clientWidth / state.s >= content.w &&
      top + view.clientHeight / state.s >= content.h;
    minimap.hidden = whole;
    if (whole) { return; }
    var ctx = minimap.getContext("2d");
    var maxW = 220, maxH = 160;
    mini.k = Math.min(maxW / content.w, maxH / content.h);
    var w = Math.max(Math.round(content.w * mini.k), 40);
    var h = Math.max(Math.round(content.h * mini.k), 24);
    if (minimap.width !== w) { minimap.width = w; }
    if (minimap.height !== h) { minimap.height = h; }
    ctx.clearRect(0, 0, w, h);
    data.nodes.forEach(function (n) {
      var b = boxes[n.svg_id], g = element(n.svg_id);
      if (!b || g.classList.contains("off")) { return; }
      var conflict = n.marks.indexOf("conflict") >= 0;
      ctx.fillStyle = conflict ? "#d32f2f" : (appOf[n.app_label] || {}).border || "#888";
      var k = mini.k, pad = conflict ? 2 : 0;
      ctx.fillRect(b.x * k - pad, b.y * k - pad, Math.max(b.w * k, 1.5) + 2 * pad,
                   Math.max(b.h * k, 1.5) + 2 * pad);
    });
    ctx.strokeStyle = "#1565c0"; ctx.lineWidth = 1.5;
    ctx.strokeRect(-state.x / state.s * mini.k, -state.y / state.s * mini.k,
                   view.clientWidth / state.s * mini.k, view.clientHeight / state.s * mini.k);
  }
  function miniJump(e) {
    var r = minimap.getBoundingClientRect();
    var cx = (e.clientX - r.left) / mini.k, cy = (e.clientY - r.top) / mini.k;
    state.x = view.clientWidth / 2 - state.s * cx;
    state.y = view.clientHeight / 2 - state.s * cy;
    apply();
  }
  var miniDrag = false;
  minimap.addEventListener("mousedown", function (e) {
    e.stopPropagation(); miniDrag = true; miniJump(e);
  });
  window.addEventListener("mousemove", function (e) { if (miniDrag) { miniJump(e); } });
  window.addEventListener("mouseup", function () { miniDrag = false; });

  // -- apps: show or hide each ------------------------------------------------------
  var appOf = {};
  data.apps.forEach(function (a) { appOf[a.label] = a; });
  var clusterOf = {};
  svg.querySelectorAll("g.cluster").forEach(function (g) {
    var t = g.querySelector("title");
    var app = t && data.clusters[t.textContent];
    if (app !== undefined) { (clusterOf[app] = clusterOf[app] || []).push(g); }
  });
  function setApp(app, on) {
    data.nodes.forEach(function (n) {
      if (n.app_label === app) { element(n.svg_id).classList.toggle("off", !on); }
    });
    (clusterOf[app] || []).forEach(function (g) { g.classList.toggle("off", !on); });
    Object.keys(edgeEnds).forEach(function (id) {
      var ends = edgeEnds[id], el = element(id);
      if (!el) { return; }
      var hidden = element(ends[0]).classList.contains("off") ||
        element(ends[1]).classList.contains("off");
      el.classList.toggle("off", hidden);
    });
    drawMinimap();
  }
  // -- conflicts: fitted on load, n / p to go from one to the next ------------------
  var stops = [];  // one per conflicting app: its conflicting leaves
  data.apps.forEach(function (a) {
    var leaves = data.nodes.filter(function (n) {
      return n.app_label === a.label && n.marks.indexOf("conflict") >= 0;
    });
    if (!leaves.length) { return; }
    var ids = leaves.map(function (n) { return n.svg_id; }), before = [];
    ids.forEach(function (id) { before = before.concat(parents[id] || []); });
    stops.push({ app: a, ids: ids, parents: before });
  });
  var stop = -1, buttons = [];
  if (stops.length) {
    side.appendChild(make("h2", "Conflicts (n / p)"));
    stops.forEach(function (c, index) {
      var b = make("button", c.app.label + ": " + c.ids.length + " leaves");
      if (c.app.conflict_text) { b.title = c.app.conflict_text; }
      b.addEventListener("click", function () { goTo(index); });
      buttons.push(b); side.appendChild(b);
    });
  }
  side.appendChild(make("h2", "Apps (" + data.apps.length + ")"));
  data.apps.forEach(function (a) {
    var label = make("label");
    var check = make("input"); check.type = "checkbox"; check.checked = true;
    check.dataset.app = a.label;
    check.addEventListener("change", function () { setApp(a.label, check.checked); });
    var swatch = make("span", null, "swatch");
    swatch.style.background = a.fill; swatch.style.borderColor = a.border;
    label.appendChild(check); label.appendChild(swatch);
    label.appendChild(make("span", a.label, a.conflict_text ? "conflicted" : ""));
    label.appendChild(make("span", a.count, "count"));
    if (a.conflict_text) { label.title = a.conflict_text; }
    side.appendChild(label);
  });

  function goTo(index) {
    stop = (index + stops.length) % stops.length;
    buttons.forEach(function (b, i) { b.classList.toggle("current", i === stop); });
    var c = stops[stop];
    show(union(fits(union(c.ids.concat(c.parents)), 30) ? c.ids.concat(c.parents) : c.ids), 30);
    status.textContent = "conflict " + (stop + 1) + " of " + stops.length + ": " +
      stops[stop].app.label + (stops[stop].app.conflict_text ? " (" + stops[stop].app.conflict_text + ")" : "");
  }
  var fitted = "all";
  function fitOnLoad() {
    if (!stops.length) {
      fitAll();
      var count = 0;
      data.nodes.forEach(function (n) { count += n.members.length; });
      status.textContent = "no conflict: " + count + (count === 1 ? " migration" : " migrations") +
        " in " + data.apps.length + (data.apps.length === 1 ? " app" : " apps") +
        (fitAll.whole ? "" : " (the minimap shows where you are)");
      return;
    }
    // Every conflict with the migrations its branches start from, else the leaves
    // alone, else the first conflict (n / p visit the others).
    var leaves = [], withParents = [];
    stops.forEach(function (c) {
      leaves = leaves.concat(c.ids);
      withParents = withParents.concat(c.ids, c.parents);
    });
    var story = fits(union(withParents), 30) ? withParents : leaves;
    var whole = { x: 0, y: 0, r: content.w, b: content.h };
    if (fits(whole, 0) || show(union(story), 30)) {
      if (fits(whole, 0)) { fitAll(); fitted = "whole"; } else { fitted = "conflicts"; }
      status.textContent = stops.length + (stops.length === 1 ? " conflict" : " conflicts") +
        ": " + stops.map(function (c) { return c.app.label; }).join(", ") + " (n / p to visit)";
    } else {
      fitted = "first conflict"; goTo(0);
    }
  }

  // -- search, select, details ------------------------------------------------------
  function clear() {
    svg.querySelectorAll(".dim, .match, .current, .selected, .path").forEach(function (el) {
      el.classList.remove("dim", "match", "current", "selected", "path");
    });
  }
  function dimAllBut(keep, edges) {
    svg.querySelectorAll("g.node, g.edge").forEach(function (el) {
      var legend = el.id.indexOf("legend_") === 0;
      if (!legend && !keep[el.id] && !edges[el.id]) { el.classList.add("dim"); }
    });
  }
  function centre(el) {
    var b = boxes[el.id];
    if (!b) { return; }
    state.s = Math.max(state.s, legibleScale());  // from the overview, zoom in to read
    var width = view.clientWidth - (panel.hidden ? 0 : panel.offsetWidth);  // beside the panel
    state.x = width / 2 - state.s * (b.x + b.w / 2);
    state.y = view.clientHeight / 2 - state.s * (b.y + b.h / 2);
    apply();
  }
  var matches = [], current = -1;
  function search(text) {
    clear(); matches = []; current = -1;
    var q = text.trim().toLowerCase();
    if (!q) { status.textContent = ""; return; }
    data.nodes.forEach(function (n) {
      var hay = (n.id + " " + n.label + " " + n.members.join(" ")).toLowerCase();
      if (hay.indexOf(q) >= 0) { matches.push(n); }
    });
    var keep = {};
    matches.forEach(function (n) {
      keep[n.svg_id] = true; element(n.svg_id).classList.add("match");
    });
    if (matches.length) { dimAllBut(keep, {}); next(); }
    status.textContent = matches.length + (matches.length === 1 ? " match" : " matches") +
      (matches.length ? ": " + matches.map(function (n) { return n.id; }).join(", ") : "");
  }
  function next() {
    if (!matches.length) { return; }
    if (current >= 0) { element(matches[current].svg_id).classList.remove("current"); }
    current = (current + 1) % matches.length;
    var el = element(matches[current].svg_id);
    el.classList.add("current"); centre(el);
  }
  function walk(start, step, keep, edges, forward) {
    var todo = [start];
    while (todo.length) {
      var id = todo.pop();
      (step[id] || []).forEach(function (other) {
        edges[edgeOf[forward ? id + ">" + other : other + ">" + id]] = true;
        if (!keep[other]) { keep[other] = true; todo.push(other); }
      });
    }
  }
  function select(id) {
    clear();
    var keep = {}, edges = {};
    keep[id] = true;
    walk(id, parents, keep, edges, false);
    walk(id, children, keep, edges, true);
    dimAllBut(keep, edges);
    element(id).classList.add("selected");
    Object.keys(edges).forEach(function (e) {
      var el = element(e); if (el) { el.classList.add("path"); }
    });
    var n = nodeOf[id];
    status.textContent = n.id + ": " + (Object.keys(keep).length - 1) +
      " ancestors and descendants (Esc to clear)";
    details(n);
  }
  function holder(key) {
    return data.nodes.filter(function (n) { return n.members.indexOf(key) >= 0; })[0];
  }
  function keyList(dl, title, keys) {
    dl.appendChild(make("dt", title + " (" + keys.length + ")"));
    var dd = make("dd");
    if (!keys.length) { dd.textContent = "none"; }
    var ul = make("ul");
    keys.forEach(function (key) {
      var li = make("li"), found = holder(key);
      if (found) {
        var a = make("a", key);
        a.addEventListener("click", function () { select(found.svg_id); centre(element(found.svg_id)); });
        li.appendChild(a);
      } else { li.textContent = key + " (not drawn)"; }
      ul.appendChild(li);
    });
    if (keys.length) { dd.appendChild(ul); }
    dl.appendChild(dd);
  }
  function details(n) {
    panel.textContent = "";
    var close = make("button", "\u00d7", "close");
    close.title = "close (Esc)";
    close.addEventListener("click", function () { panel.hidden = true; });
    panel.appendChild(close);
    var members = n.members.slice(0, 50);
    if (n.members.length > 1) {
      panel.appendChild(make("p", n.members.length + " migrations drawn as one node" +
        (n.members.length > members.length ? " (the first 50 below)" : "")));
    }
    members.forEach(function (key) {
      var d = data.details[key] || {};
      panel.appendChild(make("h3", key));
      var dl = make("dl");
      function row(title, value) { dl.appendChild(make("dt", title)); dl.appendChild(make("dd", value)); }
      row("file", d.path || n.path || "unknown");
      row("applied", d.applied === true ? "yes" : d.applied === false ? "no" :
        "unknown (draw with --database ALIAS)");
      if (n.marks.length) { row("marks", n.marks.join(", ")); }
      dl.appendChild(make("dt", "operations (" + (d.operations || []).length + ")"));
      var ops = make("dd"), ul = make("ul");
      (d.operations || []).forEach(function (op) { ul.appendChild(make("li", op)); });
      if ((d.operations || []).length) { ops.appendChild(ul); } else { ops.textContent = "none"; }
      dl.appendChild(ops);
      keyList(dl, "depends on", d.dependencies || []);
      keyList(dl, "needed by", d.dependents || []);
      var c = d.commit;
      row("git", c ? c.short + " " + c.date.slice(0, 10) + " " + c.author + ": " + c.subject
        : (data.git ? "not committed" : "not in a git repository"));
      panel.appendChild(dl);
    });
    panel.hidden = false;
  }
  svg.querySelectorAll("g.node").forEach(function (g) {
    if (!data.byId[g.id]) { return; }
    g.addEventListener("click", function (event) { event.stopPropagation(); select(g.id); });
  });
  var drag = null;
  view.addEventListener("mousedown", function (e) {
    drag = { x: e.clientX - state.x, y: e.clientY - state.y }; view.classList.add("dragging");
  });
  window.addEventListener("mousemove", function (e) {
    if (drag) { state.x = e.clientX - drag.x; state.y = e.clientY - drag.y; apply(); }
  });
  window.addEventListener("mouseup", function () {
    drag = null; view.classList.remove("dragging");
  });
  view.addEventListener("wheel", function (e) {
    e.preventDefault();
    var v = view.getBoundingClientRect(), px = e.clientX - v.left, py = e.clientY - v.top;
    var k = Math.exp(-e.deltaY * 0.0015);
    state.x = px - (px - state.x) * k; state.y = py - (py - state.y) * k; state.s *= k; apply();
  }, { passive: false });
  box.addEventListener("input", function () { search(box.value); });
  box.addEventListener("keydown", function (e) { if (e.key === "Enter") { next(); } });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      box.value = ""; clear(); status.textContent = ""; panel.hidden = true; return;
    }
    if (e.target === box) { return; }
    if ((e.key === "n" || e.key === "p") && stops.length) { goTo(stop + (e.key === "n" ? 1 : -1)); }
    else if (e.key === "0" || e.key === "f") { fitAll(); }
    else if (e.key === "/") { e.preventDefault(); box.focus(); }
  });
  function fromHash() {
    var m = /(?:^#|&)search=([^&]*)/.exec(location.hash);
    if (m) { box.value = decodeURIComponent(m[1]); search(box.value); }
    var h = /(?:^#|&)hide=([^&]*)/.exec(location.hash);
    if (h) {
      decodeURIComponent(h[1]).split(",").forEach(function (app) {
        side.querySelectorAll("input[type=checkbox]").forEach(function (check) {
          if (check.dataset.app === app && check.checked) { check.checked = false; setApp(app, false); }
        });
      });
    }
    var c = /(?:^#|&)conflict=(\d+)/.exec(location.hash);
    if (c && stops.length) { goTo(parseInt(c[1], 10) - 1); }
    var s = /(?:^#|&)select=([^&]*)/.exec(location.hash);
    if (s) {
      // the migration itself, or the collapsed node that holds it
      var key = decodeURIComponent(s[1]);
      var found = holder(key);
      if (found) { select(found.svg_id); centre(element(found.svg_id)); }
      else { status.textContent = "no migration " + key; }
    }
  }
  // What the reader sees, for tests: where each conflicting leaf is drawn on the screen
  // and how large its label is, after the page fitted itself.
  function report() {
    var v = view.getBoundingClientRect();
    var leaves = [];
    stops.forEach(function (c) {
      c.ids.forEach(function (id) {
        var r = element(id).getBoundingClientRect();
        leaves.push({ id: nodeOf[id].id, left: r.left, top: r.top, right: r.right,
                      bottom: r.bottom, font_px: fontPx(element(id)) });
      });
    });
    var out = element("page-report");
    out.textContent = JSON.stringify({
      fitted: fitted, scale: state.s, legible_px: LEGIBLE_PX,
      viewport: { left: v.left, top: v.top, right: v.right, bottom: v.bottom },
      minimap: minimap.getBoundingClientRect().width > 0, conflicts: leaves,
      smallest_font_px: fontAtOne * state.s, status: status.textContent,
      apps: side.querySelectorAll("input[type=checkbox]").length
    });
  }
  window.addEventListener("hashchange", fromHash);
  measure();
  fitOnLoad();
  fromHash();
  drawMinimap();
  report();
})();
