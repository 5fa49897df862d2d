/* SPDX-License-Identifier: MIT */
/* kdpc HTML report: draws the timeline and tables from the JSON block "kdpc-data".
 * Written for kdpc, no libraries. After rendering it writes a summary into the hidden element
 * "kdpc-selftest" for the browser test (tests/browser). */
(function () {
  'use strict';
  var errors = [];
  var selftest = { ok: false, cpus: 0, slices_drawn: 0, slices: [], violations: 0, errors: errors };
  window.onerror = function (msg, src, line) {
    errors.push(String(msg) + ' (line ' + line + ')');
    writeSelftest();
  };

  function writeSelftest() {
    selftest.ok = errors.length === 0;
    var el = document.getElementById('kdpc-selftest');
    if (el) el.textContent = JSON.stringify(selftest);
  }

  var KIND_NAMES = ['thread', 'DPC', 'ISR', 'work item', 'SynchronizeRoutine'];
  var KIND_COLORS = ['#9bb7d4', '#3c8d40', '#c0392b', '#8e44ad', '#d68910'];
  var ROW = 16, IRQL_ROW = 14, LANE_GAP = 8, LABEL_W = 60;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmtNs(ns) {
    if (ns < 1000) return ns + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 1) + ' us';
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 3 : 2) + ' ms';
    return (ns / 1e9).toFixed(3) + ' s';
  }
  function table(headers, rows, cls) {
    var t = el('table', cls ? { 'class': cls } : null);
    var tr = el('tr');
    headers.forEach(function (h, i) { tr.appendChild(el('th', i === 0 ? { 'class': 'l' } : null, h)); });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (c, i) {
        var td = el('td', i === 0 ? { 'class': 'l' } : null);
        if (c instanceof Node) td.appendChild(c); else td.textContent = String(c);
        row.appendChild(td);
      });
      t.appendChild(row);
    });
    return t;
  }
  function bucketLabel(i, n) {
    if (i === 0) return '< 1 us';
    if (i === n - 1) return '>= ' + Math.pow(2, i - 1) + ' us';
    return Math.pow(2, i - 1) + '-' + Math.pow(2, i) + ' us';
  }

  var data = JSON.parse($('kdpc-data').textContent);
  var ncpu = data.cpus;
  var strings = data.strings;
  selftest.cpus = ncpu;

  /* lanes: per CPU slices sorted by start, deepest level, IRQL steps */
  var lanes = [];
  for (var c = 0; c < ncpu; c++) lanes.push({ slices: [], maxDepth: 0, irql: [], y: 0, h: 0 });
  data.slices.forEach(function (s) {
    var lane = lanes[s[0]];
    if (!lane) { errors.push('slice on unknown CPU ' + s[0]); return; }
    lane.slices.push({ start: s[1], dur: s[2], depth: s[3], kind: s[4], name: strings[s[5]],
      irql: s[6], unfinished: s[7] === 1 });
    if (s[3] > lane.maxDepth) lane.maxDepth = s[3];
  });
  data.irql.forEach(function (p) { if (lanes[p[0]]) lanes[p[0]].irql.push([p[1], p[2]]); });
  lanes.forEach(function (l) { l.slices.sort(function (a, b) { return a.start - b.start || a.depth - b.depth; }); });
  selftest.slices = lanes.map(function (l) { return l.slices.length; });

  var t0 = data.first_ns, t1 = Math.max(data.last_ns, data.first_ns + 1);
  var view = { from: t0, to: t1 };
  var mark = null; /* {time, cpu} of the violation picked */

  /* ---- summary ---- */
  var sum = 'seed ' + data.seed + ', ' + ncpu + ' CPU' + (ncpu === 1 ? '' : 's') +
    ', virtual time ' + fmtNs(data.first_ns) + ' .. ' + fmtNs(data.last_ns) +
    ', trace from the ' + data.trace + ', ' + data.violations.length + ' violation' +
    (data.violations.length === 1 ? '' : 's');
  $('kdpc-summary').textContent = sum;
  var notes = [];
  if (data.trace === 'none') notes.push('No trace recorded (turn on kdpc_config.trace_stream or trace_capacity): the timeline is empty.');
  if (!data.complete) notes.push('The ring kept only the newest events: ' + data.dropped_events + ' older events were dropped.');
  if (data.slices_left_out > 0) notes.push('The page holds the first ' + data.max_slices + ' slices; ' + data.slices_left_out + ' later ones are left out.');
  if (data.irql_truncated) notes.push('The IRQL rows stop early: too many IRQL changes.');
  if (!data.report) notes.push('No report (kdpc_config.report was off).');
  $('kdpc-notes').textContent = notes.join(' ');

  /* ---- timeline ---- */
  var canvas = $('timeline');
  var ctx = canvas.getContext('2d');
  function layout() {
    var y = 18;
    lanes.forEach(function (l) {
      l.y = y;
      l.h = (l.maxDepth + 1) * ROW + IRQL_ROW;
      y += l.h + LANE_GAP;
    });
    return Math.max(y, 40);
  }
  var height = layout();
  function xOf(t, w) { return LABEL_W + (t - view.from) * (w - LABEL_W) / (view.to - view.from); }
  function tOf(x, w) { return view.from + (x - LABEL_W) * (view.to - view.from) / (w - LABEL_W); }

  function draw() {
    var w = Math.max(canvas.clientWidth || 800, LABEL_W + 100);
    canvas.width = w;
    canvas.height = height;
    ctx.clearRect(0, 0, w, height);
    ctx.font = '11px sans-serif';
    ctx.fillStyle = '#444';
    ctx.textBaseline = 'top';
    /* time axis */
    var span = view.to - view.from;
    var step = Math.pow(10, Math.floor(Math.log(span / 5) / Math.LN10));
    if (span / step > 10) step *= 2;
    for (var t = Math.ceil(view.from / step) * step; t <= view.to; t += step) {
      var x = xOf(t, w);
      ctx.fillStyle = '#ddd';
      ctx.fillRect(x, 14, 1, height - 14);
      ctx.fillStyle = '#444';
      ctx.fillText(fmtNs(t), x + 2, 2);
    }
    var drawn = 0;
    lanes.forEach(function (l, cpu) {
      var lastX = [], lastKind = []; /* per depth: the right edge and kind last filled */
      ctx.fillStyle = '#f7f7f7';
      ctx.fillRect(LABEL_W, l.y, w - LABEL_W, l.h);
      ctx.fillStyle = '#222';
      ctx.fillText('CPU ' + cpu, 4, l.y + 2);
      ctx.fillText('IRQL', 4, l.y + l.h - IRQL_ROW + 1);
      for (var i = 0; i < l.slices.length; i++) {
        var s = l.slices[i];
        if (s.start > view.to) break;
        if (s.start + s.dur < view.from) continue;
        var x0 = Math.max(xOf(s.start, w), LABEL_W);
        var x1 = Math.min(xOf(s.start + s.dur, w), w);
        drawn++;
        /* many slices within one pixel: one fill (the count still says each was drawn) */
        if (x1 - x0 < 1 && lastKind[s.depth] === s.kind && x0 < lastX[s.depth]) continue;
        ctx.fillStyle = KIND_COLORS[s.kind] || '#777';
        ctx.fillRect(x0, l.y + s.depth * ROW + 1, Math.max(x1 - x0, 1), ROW - 2);
        lastX[s.depth] = Math.max(x1, x0 + 1);
        lastKind[s.depth] = s.kind;
        if (x1 - x0 > 30) {
          ctx.save();
          ctx.beginPath();
          ctx.rect(x0, l.y + s.depth * ROW, x1 - x0, ROW);
          ctx.clip();
          ctx.fillStyle = '#fff';
          ctx.fillText(s.name, x0 + 2, l.y + s.depth * ROW + 2);
          ctx.restore();
        }
      }
      /* IRQL row: the level as a bar height and shade */
      var ybase = l.y + l.h;
      for (var j = 0; j < l.irql.length; j++) {
        var a = l.irql[j][0], b = j + 1 < l.irql.length ? l.irql[j + 1][0] : data.last_ns;
        if (b < view.from || a > view.to || l.irql[j][1] === 0) continue;
        var q = l.irql[j][1];
        var xa = Math.max(xOf(a, w), LABEL_W), xb = Math.min(xOf(b, w), w);
        var hh = Math.min(IRQL_ROW - 2, 3 + q);
        ctx.fillStyle = q >= 3 ? '#c0392b' : q === 2 ? '#3c8d40' : '#9bb7d4';
        ctx.fillRect(xa, ybase - hh, Math.max(xb - xa, 1), hh);
      }
    });
    /* every violation: a red tick on its CPU's lane */
    ctx.fillStyle = '#e00';
    data.violations.forEach(function (v) {
      var vl = lanes[v.cpu];
      if (!vl || v.time < view.from || v.time > view.to) return;
      var vx = xOf(v.time, w);
      ctx.beginPath();
      ctx.moveTo(vx - 4, vl.y);
      ctx.lineTo(vx + 4, vl.y);
      ctx.lineTo(vx, vl.y + 6);
      ctx.fill();
    });
    if (mark) {
      var mx = xOf(mark.time, w);
      ctx.fillStyle = '#e00';
      ctx.fillRect(mx - 1, 14, 2, height - 14);
      var ml = lanes[mark.cpu];
      if (ml) {
        ctx.strokeStyle = '#e00';
        ctx.strokeRect(mx - 5, ml.y, 10, ml.h);
      }
    }
    $('view-range').textContent = fmtNs(view.from) + ' .. ' + fmtNs(view.to) + ' (' + fmtNs(view.to - view.from) + ')';
    canvas.setAttribute('data-from', String(view.from));
    canvas.setAttribute('data-to', String(view.to));
    return drawn;
  }

  function zoom(factor, center) {
    var c = center === undefined ? (view.from + view.to) / 2 : center;
    var span = Math.max((view.to - view.from) * factor, 10);
    view.from = c - (c - view.from) * span / (view.to - view.from);
    view.to = view.from + span;
    draw();
  }
  $('zoom-in').addEventListener('click', function () { zoom(0.5); });
  $('zoom-out').addEventListener('click', function () { zoom(2); });
  $('zoom-reset').addEventListener('click', function () { view.from = t0; view.to = t1; draw(); });
  canvas.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = canvas.getBoundingClientRect();
    zoom(ev.deltaY < 0 ? 0.8 : 1.25, tOf(ev.clientX - r.left, canvas.width));
  }, { passive: false });
  var drag = null;
  canvas.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, from: view.from, to: view.to }; });
  window.addEventListener('mouseup', function () { drag = null; });
  canvas.addEventListener('mousemove', function (ev) {
    var r = canvas.getBoundingClientRect();
    var x = ev.clientX - r.left, y = ev.clientY - r.top;
    if (drag) {
      var dt = (ev.clientX - drag.x) * (drag.to - drag.from) / (canvas.width - LABEL_W);
      view.from = drag.from - dt;
      view.to = drag.to - dt;
      draw();
      return;
    }
    var tip = $('tooltip'), t = tOf(x, canvas.width), hit = null, hitCpu = 0;
    lanes.forEach(function (l, cpu) {
      if (y < l.y || y >= l.y + (l.maxDepth + 1) * ROW) return;
      var depth = Math.floor((y - l.y) / ROW);
      var tol = 2 * (view.to - view.from) / canvas.width;
      l.slices.forEach(function (s) {
        if (s.depth === depth && t >= s.start - tol && t <= s.start + s.dur + tol) { hit = s; hitCpu = cpu; }
      });
    });
    if (!hit) { tip.hidden = true; return; }
    tip.textContent = hit.name + '\n' + KIND_NAMES[hit.kind] + ' on CPU ' + hitCpu + ', IRQL ' + hit.irql +
      '\n' + fmtNs(hit.dur) + ' from ' + fmtNs(hit.start) + (hit.unfinished ? '\nunfinished (the trace ended)' : '');
    tip.style.left = (x + 12) + 'px';
    tip.style.top = (y + 12) + 'px';
    tip.hidden = false;
  });
  canvas.addEventListener('mouseleave', function () { $('tooltip').hidden = true; });

  /* ---- violations ---- */
  function showViolation(i) {
    var v = data.violations[i];
    var span = Math.max((t1 - t0) / 50, 20000);
    view.from = v.time - span / 2;
    view.to = v.time + span / 2;
    mark = { time: v.time, cpu: v.cpu };
    var rows = document.querySelectorAll('#violations tr.marked');
    for (var k = 0; k < rows.length; k++) rows[k].className = '';
    var row = $('violation-row-' + i);
    if (row) row.className = 'marked';
    draw();
    $('timeline-section').scrollIntoView();
  }
  if (data.violations.length === 0) {
    $('violations').appendChild(el('p', null, 'None.'));
  } else {
    var vt = table(['time', 'CPU', 'rule', 'guideline', 'routine', 'message'], []);
    data.violations.forEach(function (v, i) {
      var a = el('a', { href: '#t=' + v.time, id: 'violation-' + i, 'class': 'kdpc-violation',
        'data-time': String(v.time), 'data-cpu': String(v.cpu), 'data-rule': v.rule }, fmtNs(v.time));
      /* the link's #t=<ns> reaches applyHash through hashchange (also when the page is opened
       * with it) */
      a.addEventListener('click', function () { if (location.hash === '#t=' + v.time) applyHash(); });
      var tr = el('tr', { id: 'violation-row-' + i });
      [a, v.cpu, v.rule + (v.fatal ? ' (bug check ' + v.name + ')' : ''), v.guideline, v.routine, v.message].forEach(function (c, k) {
        var td = el('td', k === 0 || k > 1 ? { 'class': 'l' } : null);
        if (c instanceof Node) td.appendChild(c); else td.textContent = String(c);
        tr.appendChild(td);
      });
      vt.appendChild(tr);
    });
    $('violations').appendChild(vt);
  }
  selftest.violations = data.violations.length;

  /* ---- report tables ---- */
  var rep = data.report;
  function histBars(h, isr) {
    var n = h.buckets.length, lo = n, hi = -1, max = 0;
    h.buckets.forEach(function (b, i) { if (b > 0) { lo = Math.min(lo, i); hi = i; max = Math.max(max, b); } });
    var t = el('table', { 'class': 'hist' });
    for (var i = lo; i <= hi; i++) {
      var tr = el('tr');
      tr.appendChild(el('td', { 'class': 'l' }, bucketLabel(i, n)));
      tr.appendChild(el('td', null, h.buckets[i]));
      tr.appendChild(el('td', null, (100 * h.buckets[i] / h.count).toFixed(1) + '%'));
      var bar = el('span', { 'class': isr ? 'bar isr' : 'bar' });
      bar.style.width = Math.max(1, Math.round(300 * h.buckets[i] / max)) + 'px';
      var td = el('td', { 'class': 'l' });
      td.appendChild(bar);
      tr.appendChild(td);
      t.appendChild(tr);
    }
    return t;
  }
  function histRow(name, h) {
    return [name, h.count, fmtNs(h.total_ns), fmtNs(h.p50_ns), fmtNs(h.p90_ns), fmtNs(h.p99_ns), fmtNs(h.max_ns)];
  }
  var HIST_HEAD = ['', 'count', 'total', 'p50', 'p90', 'p99', 'max'];
  if (!rep) {
    ['routines', 'latency', 'devices', 'cpus', 'depth'].forEach(function (id) { $(id).appendChild(el('p', null, 'No report.')); });
  } else {
    var rt = table(['routine', 'kind', 'calls', 'total', 'p50', 'p90', 'p99', 'longest', 'over limit'], []);
    rep.routines.forEach(function (r) {
      var tr = el('tr', r.flagged ? { 'class': 'flagged' } : null);
      [(r.flagged ? '! ' : '') + r.name, r.kind, r.time.count, fmtNs(r.time.total_ns), fmtNs(r.time.p50_ns),
        fmtNs(r.time.p90_ns), fmtNs(r.time.p99_ns), fmtNs(r.time.max_ns) + ' (CPU ' + r.longest_cpu + ')',
        r.over_limit + ' (limit ' + fmtNs(r.kind === 'ISR' ? rep.isr_limit_ns : rep.dpc_limit_ns) + ')'
      ].forEach(function (c, k) { tr.appendChild(el('td', k === 0 ? { 'class': 'l' } : null, c)); });
      rt.appendChild(tr);
    });
    $('routines').appendChild(rt);
    rep.routines.forEach(function (r) {
      var d = el('details');
      if (r.flagged) d.open = true; /* over the guideline: its histogram shown at once */
      d.appendChild(el('summary', null, r.kind + ' ' + r.name + ': histogram of ' + r.time.count + ' calls'));
      d.appendChild(histBars(r.time, r.kind === 'ISR'));
      $('routines').appendChild(d);
    });
    $('latency').appendChild(table(HIST_HEAD, [histRow('interrupt -> DPC', rep.interrupt_to_dpc),
      histRow('DPC queued -> DPC runs (all)', rep.dpc_latency)]));
    if (rep.devices.length === 0) $('devices').appendChild(el('p', null, 'No IRPs.'));
    else $('devices').appendChild(table(['device', 'completed', 'failed', 'cancelled', 'p50', 'p90', 'p99', 'max'],
      rep.devices.map(function (d) {
        return [d.name, d.completed, d.failed, d.cancelled, fmtNs(d.latency.p50_ns), fmtNs(d.latency.p90_ns),
          fmtNs(d.latency.p99_ns), fmtNs(d.latency.max_ns)];
      })));
    var used = [];
    rep.cpu.forEach(function (c) { c.irql_ns.forEach(function (ns, q) { if (ns > 0) used[q] = true; }); });
    var qs = [];
    used.forEach(function (u, q) { if (u) qs.push(q); });
    $('cpus').appendChild(table(['CPU'].concat(qs.map(function (q) { return 'IRQL ' + q; }), ['DPC time', 'DPCs', 'ISR time', 'ISRs', 'max queue']),
      rep.cpu.map(function (c, i) {
        return ['CPU ' + i].concat(qs.map(function (q) { return fmtNs(c.irql_ns[q]); }),
          [fmtNs(c.dpc_ns), c.dpcs, fmtNs(c.isr_ns), c.isrs, c.max_queue_depth]);
      })));
    var busy = rep.depth.filter(function (d) { return d.slice(1).some(function (x) { return x > 0; }); });
    if (busy.length === 0) $('depth').appendChild(el('p', null, 'No DPC queued.'));
    else {
      $('depth').appendChild(el('p', { 'class': 'hint' }, 'Windows of ' + fmtNs(rep.depth_window_ns) +
        '; ' + (rep.depth.length - busy.length) + ' windows without any DPC are left out.'));
      $('depth').appendChild(table(['window from', 'DPCs queued'].concat(rep.cpu.map(function (c, i) { return 'max depth CPU ' + i; })),
        busy.map(function (d) { return [fmtNs(d[0]), d[1]].concat(d.slice(2)); })));
    }
  }

  /* #t=<ns>: zoom to that moment; when a violation happened then, mark it */
  function applyHash() {
    var m = /^#t=([0-9]+)$/.exec(location.hash);
    if (!m) return false;
    var t = Number(m[1]);
    for (var i = 0; i < data.violations.length; i++) {
      if (data.violations[i].time === t) { showViolation(i); selftest.marked = i; break; }
    }
    if (selftest.marked < 0) {
      var span = Math.max((t1 - t0) / 50, 20000);
      view.from = t - span / 2;
      view.to = t + span / 2;
      mark = null;
      draw();
    }
    selftest.view = [view.from, view.to];
    writeSelftest();
    return true;
  }
  selftest.marked = -1;
  selftest.slices_drawn = draw();
  selftest.view = [view.from, view.to];
  applyHash();
  window.addEventListener('hashchange', function () { selftest.marked = -1; applyHash(); });
  window.addEventListener('resize', draw);
  writeSelftest();
})();
