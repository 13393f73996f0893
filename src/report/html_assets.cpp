#include "html_assets.hpp"

namespace portmatrix::report::assets {

const std::string_view kStyle = R"css(
:root {
  --fg: #1f2933; --muted: #5f6b7a; --bg: #f4f6f9; --card: #ffffff; --line: #dde3ea; --accent: #1565c0;
  --allowed: #2e7d32; --localhost-only: #e65100; --closed: #c62828;
  --add-on-off: #757575; --disabled: #8d8d8d; --not-here: #1565c0;
}
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: var(--bg);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, pre { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
a { color: var(--accent); }
header.top { background: linear-gradient(135deg, #0d3c78, #1565c0); color: #fff; padding: 22px 32px 18px; }
header.top h1 { margin: 2px 0 6px; font-size: 24px; font-weight: 650; }
header.top .eyebrow { margin: 0; font-size: 12px; letter-spacing: .08em; text-transform: uppercase; opacity: .8; }
header.top .meta { margin: 0; opacity: .92; }
header.top .meta code { background: rgba(255, 255, 255, .16); color: #fff; padding: 1px 6px; border-radius: 4px; }
nav.toc { position: sticky; top: 0; z-index: 3; display: flex; flex-wrap: wrap; gap: 4px 20px;
  padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); }
nav.toc a { text-decoration: none; font-weight: 550; }
main { max-width: 1680px; margin: 0 auto; padding: 20px 32px 32px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin: 0 0 20px; }
section > h2 { margin: 0 0 4px; font-size: 18px; }
section > p.lead { margin: 0 0 12px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px;
  background: none; border: 0; padding: 0; }
.card { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--c, var(--accent));
  border-radius: 10px; padding: 10px 14px; }
.card .n { display: block; font-size: 28px; font-weight: 700; line-height: 1.15; color: var(--c, var(--fg)); }
.card .what { color: var(--muted); }
.fate-allowed { --c: var(--allowed); }
.fate-localhost-only { --c: var(--localhost-only); }
.fate-closed { --c: var(--closed); }
.fate-add-on-off { --c: var(--add-on-off); }
.fate-disabled { --c: var(--disabled); }
.fate-not-here { --c: var(--not-here); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; background: var(--c, var(--muted)); color: #fff;
  font-size: 12px; font-weight: 600; white-space: nowrap; }
.tag { display: inline-block; padding: 0 6px; margin: 1px 2px 1px 0; border: 1px solid var(--line); border-radius: 4px;
  color: var(--muted); font-size: 12px; white-space: nowrap; }
.diagram { overflow: auto; max-height: 85vh; border: 1px solid var(--line); border-radius: 8px; background: #fff; }
.diagram svg { display: block; margin: 0 auto; max-width: 100%; height: auto; }
.diagram.actual svg { max-width: none; }
.diagram g.node.system { cursor: pointer; }
.diagram g.node.system:hover path, .diagram g.node.system:hover polygon { stroke-width: 2.5px; }
.diagram g.node.picked path, .diagram g.node.picked polygon { stroke: #ff6f00; stroke-width: 3px; }
.diagram g.edge { transition: opacity .15s; }
.diagram g.edge.dim { opacity: .1; }
.toolbar { display: flex; gap: 12px; align-items: center; margin: 0 0 10px; color: var(--muted); }
button { font: inherit; padding: 5px 12px; border: 1px solid #c3ccd6; border-radius: 6px; background: #fff; cursor: pointer; }
button:hover { background: #eef3f9; }
form.filters { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 10px 14px; margin: 8px 0 12px; }
form.filters label { display: flex; flex-direction: column; gap: 3px; font-size: 12px; font-weight: 600; color: var(--muted); }
form.filters input, form.filters select { font: inherit; font-weight: 400; min-width: 130px; padding: 5px 8px;
  border: 1px solid #c3ccd6; border-radius: 6px; background: #fff; color: var(--fg); }
form.filters input[name=q] { min-width: 220px; }
form.filters input[aria-invalid=true] { border-color: var(--closed); }
form.filters output { margin-left: auto; align-self: center; color: var(--muted); font-weight: 600; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #eef2f7; color: var(--muted); font-size: 12px; font-weight: 650;
  letter-spacing: .03em; text-transform: uppercase; white-space: nowrap; }
thead th button { all: unset; cursor: pointer; }
thead th button::after { content: " \2195"; opacity: .35; }
thead th[aria-sort=ascending] button::after { content: " \25B2"; opacity: 1; }
thead th[aria-sort=descending] button::after { content: " \25BC"; opacity: 1; }
tbody tr:hover { background: #f5f8fc; }
tr[hidden] { display: none; }
td .sub { display: block; color: var(--muted); font-size: 12px; }
td.systems { min-width: 130px; }
td.systems span { display: block; }
td.ports { min-width: 90px; }
td.desc { min-width: 200px; color: #3e4c59; }
tr.off td:not(.fate) { color: #8a96a3; }
p.sub { color: var(--muted); font-size: 12px; margin: 4px 0; }
section h3 { font-size: 15px; margin: 16px 0 6px; }
#no-match { color: var(--muted); font-style: italic; }
ol.notes li { margin: 4px 0; }
ol.notes li:target { background: #fff8e1; }
pre { margin: 8px 0 0; padding: 12px 14px; overflow: auto; max-height: 60vh; background: #0f1b2a; color: #e3eaf2; border-radius: 8px; }
details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.verdict { font-weight: 650; }
.verdict.ok { color: var(--allowed); }
.verdict.fail { color: var(--closed); }
.pass { color: var(--allowed); font-weight: 650; }
.fail { color: var(--closed); font-weight: 650; }
ul.warnings { margin: 6px 0; padding-left: 20px; color: #8a4b00; }
footer { max-width: 1680px; margin: 0 auto; padding: 0 32px 28px; color: var(--muted); font-size: 12px; }
@media print {
  nav.toc, form.filters, .toolbar { display: none; }
  section { break-inside: avoid; border: 0; }
  /* Paper has no filters to show or clear: it carries every row and arrow. */
  #flows-table tbody tr[hidden] { display: table-row; }
  #no-match { display: none; }
  .diagram g.edge.dim { opacity: 1; }
}
)css";

const std::string_view kScript = R"js(
(function () {
  'use strict';
  var table = document.getElementById('flows-table');
  var form = document.getElementById('filters');
  if (!table || !form) return;
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var count = document.getElementById('flow-count');
  var none = document.getElementById('no-match');
  var svg = document.querySelector('#diagram svg');
  var keys = ['q', 'system', 'port', 'proto', 'state'];
  var sort = { key: '', dir: 'asc' };

  function field(k) { return form.elements.namedItem(k); }

  // "22", "1556,13724", "5001-64500" as written by the report.
  function portIn(list, port) {
    return list.split(',').some(function (part) {
      if (!part) return false;
      var ends = part.split('-');
      var lo = Number(ends[0]), hi = Number(ends.length > 1 ? ends[1] : ends[0]);
      return port >= lo && port <= hi;
    });
  }

  function systemIndex() {
    var select = field('system');
    var opt = select.options[select.selectedIndex];
    return opt && opt.value ? opt.getAttribute('data-i') : null;
  }

  function matches(row, v) {
    if (v.q && row.textContent.toLowerCase().indexOf(v.q.toLowerCase()) < 0) return false;
    if (v.sys !== null && row.getAttribute('data-sys').split(' ').indexOf(v.sys) < 0) return false;
    if (v.port !== null && !portIn(row.getAttribute('data-ports'), v.port)) return false;
    if (v.proto && row.getAttribute('data-proto').split(' ').indexOf(v.proto) < 0) return false;
    if (v.state && row.getAttribute('data-fate') !== v.state) return false;
    return true;
  }

  function filter() {
    var portText = field('port').value.trim();
    var portOk = /^\d{1,5}$/.test(portText) && Number(portText) <= 65535;
    field('port').setAttribute('aria-invalid', portText && !portOk ? 'true' : 'false');
    var v = {
      q: field('q').value.trim(),
      sys: systemIndex(),
      port: portOk ? Number(portText) : null,
      proto: field('proto').value,
      state: field('state').value
    };
    var shown = {};
    var n = 0;
    rows.forEach(function (row) {
      var ok = matches(row, v);
      row.hidden = !ok;
      if (ok) { shown[row.getAttribute('data-r')] = true; n++; }
    });
    count.textContent = n + ' of ' + rows.length + ' flows';
    none.hidden = n !== 0;
    if (!svg) return;
    Array.prototype.forEach.call(svg.querySelectorAll('g.edge.flow'), function (e) {
      var m = /(?:^|\s)r(\d+)(?:\s|$)/.exec(e.getAttribute('class'));
      e.classList.toggle('dim', !!m && !shown[m[1]]);
    });
    Array.prototype.forEach.call(svg.querySelectorAll('g.node.system'), function (g) {
      g.classList.toggle('picked', v.sys !== null && g.id === 'sys-' + v.sys);
    });
  }

  function sortKey(row, col, numeric) {
    var cell = row.cells[col];
    var k = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent.trim();
    return numeric ? Number(k) : k.toLowerCase();
  }

  function order() {
    var col = -1, numeric = false;
    heads.forEach(function (th, i) {
      var on = th.getAttribute('data-key') === sort.key;
      th.setAttribute('aria-sort', on ? (sort.dir === 'desc' ? 'descending' : 'ascending') : 'none');
      if (on) { col = i; numeric = th.getAttribute('data-type') === 'num'; }
    });
    var sorted = rows.slice();
    if (col >= 0) {
      sorted.sort(function (a, b) {
        var x = sortKey(a, col, numeric), y = sortKey(b, col, numeric);
        var c = numeric ? x - y : x.localeCompare(y);
        if (sort.dir === 'desc') c = -c;
        return c || Number(a.getAttribute('data-r')) - Number(b.getAttribute('data-r'));
      });
    }
    sorted.forEach(function (row) { tbody.appendChild(row); });
  }

  // Deep links: the fragment holds the filters and the sort when it has a '=';
  // a plain anchor such as #notes is left to the browser.
  function readHash() {
    var h = location.hash.slice(1);
    if (h.indexOf('=') < 0) return;
    var params = new URLSearchParams(h);
    keys.forEach(function (k) { field(k).value = params.get(k) || ''; });
    sort.key = params.get('sort') || '';
    sort.dir = params.get('dir') === 'desc' ? 'desc' : 'asc';
  }

  function writeHash() {
    var params = new URLSearchParams();
    keys.forEach(function (k) {
      var v = field(k).value.trim();
      if (v) params.set(k, v);
    });
    if (sort.key) {
      params.set('sort', sort.key);
      if (sort.dir === 'desc') params.set('dir', 'desc');
    }
    var s = params.toString();
    try {
      history.replaceState(null, '', s ? '#' + s : location.pathname + location.search);
    } catch (e) { /* some file:// setups refuse; the filters still work */ }
  }

  function update() { filter(); writeHash(); }

  form.addEventListener('input', update);
  form.addEventListener('change', update);
  form.addEventListener('submit', function (e) { e.preventDefault(); });
  form.addEventListener('reset', function () { setTimeout(update, 0); });
  heads.forEach(function (th) {
    var button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', function () {
      var key = th.getAttribute('data-key');
      sort.dir = sort.key === key && sort.dir === 'asc' ? 'desc' : 'asc';
      sort.key = key;
      order();
      writeHash();
    });
  });
  window.addEventListener('hashchange', function () { readHash(); order(); filter(); });

  if (svg) {
    // A click on a system in the diagram filters the table by it (a second click clears).
    svg.addEventListener('click', function (e) {
      var g = e.target.closest ? e.target.closest('g.node.system') : null;
      if (!g) return;
      var i = g.id.replace(/^sys-/, '');
      var select = field('system');
      var opt = select.querySelector('option[data-i="' + i + '"]');
      if (!opt) return;
      select.value = select.value === opt.value ? '' : opt.value;
      update();
      document.getElementById('flows').scrollIntoView({ behavior: 'smooth', block: 'start' });
    });
    var fit = document.getElementById('diagram-size');
    if (fit) {
      fit.addEventListener('click', function () {
        var box = svg.parentNode;
        box.classList.toggle('actual');
        fit.textContent = box.classList.contains('actual') ? 'Fit to width' : 'Actual size';
      });
    }
  }

  // Printing opens every collapsed section (all verify probes), and closes them again after.
  var opened = [];
  window.addEventListener('beforeprint', function () {
    opened = Array.prototype.filter.call(document.querySelectorAll('details:not([open])'), function (d) {
      d.open = true;
      return true;
    });
  });
  window.addEventListener('afterprint', function () {
    opened.forEach(function (d) { d.open = false; });
    opened = [];
  });

  readHash();
  order();
  filter();
})();
)js";

}  // namespace portmatrix::report::assets
