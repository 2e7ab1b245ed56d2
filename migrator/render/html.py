"""The migration graph as one self-contained HTML page: the SVG inline, a small script
to pan, zoom, search and highlight a migration's ancestors and descendants.

No CDN, no external file: it works from ``file://`` and offline. The page honours
``#search=TEXT`` and ``#select=APP.MIGRATION`` in its URL (searches, or highlights the
migration's ancestors and descendants, on load) so it can be linked to, and tested in a
headless browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import networkx as nx

from migrator.render.escape import html_text, script_json
from migrator.render.graph_json import graph_data

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)

STYLE = """\
html, body { margin: 0; height: 100%; font: 14px system-ui, sans-serif; color: #222; }
header { display: flex; gap: 12px; align-items: center; padding: 0 10px; height: 39px;
         border-bottom: 1px solid #ddd; background: #fafafa; white-space: nowrap; }
header h1 { font-size: 15px; margin: 0; font-weight: 600; }
header span { overflow: hidden; text-overflow: ellipsis; min-width: 0; }
#search { width: 22em; padding: 3px 6px; }
#status { color: #555; }
#notice { color: #8a5300; }
#view { position: absolute; top: 40px; bottom: 0; left: 0; right: 0; overflow: hidden;
        cursor: grab; background: white; }
#view.dragging { cursor: grabbing; }
#view svg { transform-origin: 0 0; position: absolute; left: 0; top: 0; }
g.node { cursor: pointer; }
.dim { opacity: 0.15; }
g.node.match polygon, g.node.match path, g.node.match rect { stroke: #1565c0; stroke-width: 4; }
g.node.current polygon, g.node.current path, g.node.current rect { stroke: #0d47a1;
        stroke-width: 6; }
g.node.selected polygon, g.node.selected path { stroke: #000; stroke-width: 4; }
g.edge.path path { stroke: #1565c0; stroke-width: 2.5; }
"""

SCRIPT = """\
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("graph-data").textContent);
  var view = document.getElementById("view");
  var svg = view.querySelector("svg");
  var box = document.getElementById("search");
  var status = document.getElementById("status");
  var state = { x: 0, y: 0, s: 1 };
  var parents = {}, children = {}, edgeOf = {};
  data.edges.forEach(function (e) {
    var a = data.ids[e.source], b = data.ids[e.target];
    (children[a] = children[a] || []).push(b);
    (parents[b] = parents[b] || []).push(a);
    edgeOf[a + ">" + b] = e.svg_id;
  });
  function apply() {
    svg.style.transform = "translate(" + state.x + "px," + state.y + "px) scale(" + state.s + ")";
  }
  function fit() {
    var w = svg.width.baseVal.value || svg.getBBox().width;
    var h = svg.height.baseVal.value || svg.getBBox().height;
    state.s = Math.min(1, view.clientWidth / w, view.clientHeight / h) || 1;
    state.x = 0; state.y = 0; apply();
  }
  function element(id) { return document.getElementById(id); }
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
    if (state.s < 0.6) { state.s = 1; apply(); }  // from the overview, zoom in to read
    var r = el.getBoundingClientRect(), v = view.getBoundingClientRect();
    state.x += v.left + v.width / 2 - (r.left + r.width / 2);
    state.y += v.top + v.height / 2 - (r.top + r.height / 2);
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
    var n = data.nodes.filter(function (n) { return n.svg_id === id; })[0];
    status.textContent = n.id + ": " + (Object.keys(keep).length - 1) +
      " ancestors and descendants (Esc to clear)";
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
    if (e.key === "Escape") { box.value = ""; clear(); status.textContent = ""; }
  });
  function fromHash() {
    var m = /(?:^#|&)search=([^&]*)/.exec(location.hash);
    if (m) { box.value = decodeURIComponent(m[1]); search(box.value); }
    var s = /(?:^#|&)select=([^&]*)/.exec(location.hash);
    if (s) {
      // the migration itself, or the collapsed node that holds it
      var key = decodeURIComponent(s[1]);
      var found = data.nodes.filter(function (n) { return n.members.indexOf(key) >= 0; })[0];
      if (found) { select(found.svg_id); centre(element(found.svg_id)); }
      else { status.textContent = "no migration " + key; }
    }
  }
  window.addEventListener("hashchange", fromHash);
  fit();
  fromHash();
})();
"""


def render_html(
    view: nx.DiGraph, svg: str, base: Path, *, title: str, notice: str | None = None
) -> str:
    """One page from the view and its SVG (drawn by ``dot``, or the fallback drawing)."""
    data = graph_data(view, base)
    data["ids"] = {node["id"]: node["svg_id"] for node in data["nodes"]}
    data["byId"] = {node["svg_id"]: node["id"] for node in data["nodes"]}
    for index, edge in enumerate(data["edges"]):
        edge["svg_id"] = f"e{index}"
    svg = _PROLOG.sub("", svg, count=1)
    notice_html = f'<span id="notice">{html_text(notice)}</span>' if notice else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html_text(title)}</title>\n"
        f"<style>\n{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{html_text(title)}</h1>"
        '<input id="search" type="search" placeholder="search migrations (Enter: next)" '
        'autocomplete="off">'
        f'<span id="status"></span>{notice_html}</header>\n'
        f'<div id="view">\n{svg}\n</div>\n'
        f'<script type="application/json" id="graph-data">{script_json(data)}</script>\n'
        f"<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    )
