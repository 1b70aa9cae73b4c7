/* dashboard.experiment.js — one experiment's page of the abstat dashboard:
 * the verdict and its reason first, then the variants, the effect and the
 * users over time (GET /history), the journey funnel, revenue and NPS with
 * their guardrails, progress, data quality and factors, in plain words next
 * to every figure. Uses the helpers of dashboard.js (window.abstatUI). */
(function (U) {
  'use strict';

  var h = U.h, add = U.add, num = U.num, DASH = U.DASH, PCT = U.PCT, pct = U.pct, signedPct = U.signedPct;
  var fixed = U.fixed, signed = U.signed, int = U.int, pval = U.pval, pIs = U.pIs, interval = U.interval;
  var day = U.day, dateTime = U.dateTime, PHASES = U.PHASES, phaseName = U.phaseName;
  var METRIC_NAMES = U.METRIC_NAMES, colour = U.colour, fade = U.fade, api = U.api, AuthError = U.AuthError;
  var main = U.main, charts = U.charts, decision = U.decision, STATUS_WORDS = U.STATUS_WORDS;
  var swatch = U.swatch, badge = U.badge;
  function clear() { U.clear(); }
  function setWhere(t) { U.setWhere(t); }
  function ready(s) { U.ready(s); }
  function showSignout() { U.showSignout(); }

  /* ---- one experiment ----------------------------------------------------- */

  /* The primary figure of variant v under results r: value and interval. */
  function primary(r, v) {
    if (r.metric === 'revenue') return v.revenue ? {value: v.revenue.mean, ci: v.revenue.ci} : {};
    if (r.metric === 'nps') return v.nps ? {value: v.nps.score, ci: v.nps.ci} : {};
    var p = v.phases && v.phases[r.phase];
    return p ? {value: p.rate, ci: p.ci, conversions: p.conversions} : {value: null, conversions: 0};
  }
  function fmtPrimary(r) {
    if (r.metric === 'revenue') return function (x) { return fixed(x, 2); };
    if (r.metric === 'nps') return function (x) { return fixed(x, 1); };
    return function (x) { return pct(x, 2); };
  }
  /* The comparison with control that decides: its effect and interval. */
  function comparison(r, v) {
    var c = v.vs_control && v.vs_control[r.metric === 'conversion' ? r.phase : r.metric];
    if (!c) return null;
    return {diff: c.diff, ci: r.method === 'fixed' ? c.diff_ci : (c.sequential_ci || c.diff_ci),
      p: r.method === 'fixed' ? c.p_adjusted : c.p_adjusted, lift: c.lift};
  }

  /* "at least +33 %": the interval bound nearer 0, as the verdict says it. */
  function effectWords(r, v, control) {
    var c = comparison(r, v), base = primary(r, control).value;
    if (!c || !c.ci || !num(c.ci[0]) || !num(c.ci[1])) return 'Not enough data to compare with control yet.';
    var lo = c.ci[0], hi = c.ci[1], level = Math.round((r.ci_level || 0.95) * 100) + PCT;
    var rel = r.metric !== 'nps' && num(base) && base !== 0;
    function f(x) { return rel ? signedPct(x / Math.abs(base), 1) : signed(x, r.metric === 'revenue' ? 2 : 1) + (r.metric === 'nps' ? ' points' : ''); }
    if (lo > 0) return 'At least ' + f(lo) + ': with ' + level + ' confidence ' + v.name + ' is better than control by ' +
      f(lo) + ' or more (up to ' + f(hi) + ').';
    if (hi < 0) return 'At least ' + f(hi) + ': with ' + level + ' confidence ' + v.name + ' is worse than control by ' +
      f(hi).replace('−', '') + ' or more.';
    return 'Somewhere between ' + f(lo) + ' and ' + f(hi) + ': the interval still includes no difference at all, so it is too early to tell.';
  }

  function section(id, title, intro) {
    return h('section', {class: 'panel', id: id, 'aria-labelledby': id + '-h'},
      h('h2', {id: id + '-h', text: title}), intro ? h('p', {class: 'explain', text: intro}) : null);
  }

  function showExperiment(id) {
    setWhere(id);
    var base = '/v1/experiments/' + encodeURIComponent(id);
    return api(base + '/results').then(function (r) {
      var interval_ = num(r.days_running) && r.days_running < 3 ? 'hour' : 'day';
      return api(base + '/history?interval=' + interval_).then(function (hist) {
        return {hist: hist};
      }, function (e) {
        if (e instanceof AuthError) throw e;
        return {error: e};
      }).then(function (hres) { renderExperiment(r, hres); });
    });
  }

  function renderExperiment(r, hres) {
    clear();
    showSignout();
    var variants = r.variants || [], control = variants[0], d = decision(r.verdict);
    var winner = r.verdict && r.verdict.variant;
    var fmt = fmtPrimary(r);

    add(main, h('p', {class: 'crumbs'}, h('a', {href: '#/', text: '← All experiments'})));
    add(main, h('h1', {id: 'title', text: r.experiment}));
    add(main, h('p', {class: 'lead'}, 'Decides on ' + METRIC_NAMES[r.metric] +
      (r.metric === 'conversion' ? ' at ' + phaseName(r.phase) : '') + ' · ' + r.method + ' test · ' +
      (r.status || 'running') + ' · started ' + (r.started_at ? dateTime(r.started_at) : DASH) +
      ' · ' + fixed(r.days_running, 1) + ' days running'));

    /* The verdict and its reason first. */
    add(main, h('section', {class: 'verdict ' + d.cls, id: 'verdict', 'aria-labelledby': 'verdict-h'},
      h('h2', {id: 'verdict-h', text: d.title(winner)}),
      h('p', {class: 'reason', id: 'reason', text: r.verdict ? r.verdict.reason : DASH}),
      h('p', {class: 'explain', text: d.explain})));

    warningsPanel(r);
    variantsPanel(r, variants, control, fmt);
    effectPanel(r, hres);
    usersPanel(r, hres);
    funnelPanel(r, variants);
    guardrailPanel(r, variants, control);
    progressPanel(r);
    factorialPanel(r);
    ready();
  }

  function warningsPanel(r) {
    var w = (r.data_quality && r.data_quality.warnings) || [];
    var s = section('warnings', 'Data quality', w.length ? 'What makes these figures doubtful:' :
      'No data-quality problems found: no sample-ratio mismatch, few conflicting exposures, few unattributed conversions.');
    if (w.length) {
      s.classList.add('warn');
      add(s, h('ul', {class: 'warnings'}, w.map(function (t) { return h('li', {text: t}); })));
    }
    var dq = r.data_quality || {};
    add(s, h('p', {class: 'small', text: int(dq.conflicts) + ' conflicting exposures · ' + int(dq.unattributed) +
      ' unattributed conversions or answers · ' + int(dq.duplicates) + ' duplicate events ignored'}));
    add(main, s);
  }

  function variantsPanel(r, variants, control, fmt) {
    var level = Math.round((r.ci_level || 0.95) * 100) + PCT;
    var s = section('variants', 'Variants: ' + METRIC_NAMES[r.metric],
      'Each range is the ' + level + ' interval: the true value lies in it with ' + level + ' confidence. ' +
      'The effect compares each variant with ' + control.name + ' (the control)' +
      (r.method === 'sequential' ? ', with an interval that stays valid however often you look.' : '.'));
    var tbody = h('tbody');
    variants.forEach(function (v, i) {
      var p = primary(r, v), c = i ? comparison(r, v) : null;
      var status = i ? v.status : 'control';
      add(tbody, h('tr', {'data-variant': v.name, class: r.verdict && r.verdict.variant === v.name ? 'winner' : null},
        h('th', {scope: 'row'}, swatch(i), v.name,
          i || v.name === 'control' ? null : h('span', {class: 'small', text: ' (control)'})),
        h('td', {class: 'n', 'data-label': 'Users', text: int(v.users)}),
        h('td', {class: 'n', 'data-label': r.metric === 'conversion' ? 'Rate' : 'Value'}, h('strong', {text: fmt(p.value)}), ' ',
          h('span', {class: 'small', text: interval(p.ci, fmt)})),
        h('td', {class: 'n', 'data-label': 'vs control', text: i && c ? (r.metric === 'conversion' && num(c.lift) ? signedPct(c.lift, 1) : signed(c.diff, 2)) : DASH}),
        h('td', {'data-label': 'Status'}, badge(STATUS_WORDS[status] || status, 'st-' + status),
          i ? h('p', {class: 'small words', text: effectWords(r, v, control)}) : null)));
    });
    add(s, h('div', {class: 'scroll'}, h('table', {class: 'grid stack'},
      h('caption', {class: 'sr', text: 'Per variant: users, ' + METRIC_NAMES[r.metric] + ' with its interval, effect and status'}),
      h('thead', null, h('tr', null, h('th', {scope: 'col', text: 'Variant'}), h('th', {scope: 'col', class: 'n', text: 'Users'}),
        h('th', {scope: 'col', class: 'n', text: r.metric === 'conversion' ? 'Rate (interval)' : 'Value (interval)'}),
        h('th', {scope: 'col', class: 'n', text: 'vs control'}), h('th', {scope: 'col', text: 'Status'}))),
      tbody)));
    add(main, s);
  }

  /* ---- charts ----------------------------------------------------------- */

  function chartBox(id, label) {
    var canvas = h('canvas', {id: id, role: 'img', 'aria-label': label});
    return {box: h('div', {class: 'chart'}, canvas), canvas: canvas};
  }

  /* A chart from config; its data are published in window.abstatCharts and
   * on the canvas (data-points: how many figures it draws). */
  function draw(canvas, config) {
    var points = 0;
    config.data.datasets.forEach(function (ds) { ds.data.forEach(function (x) { if (num(x)) points++; }); });
    canvas.setAttribute('data-points', String(points));
    window.abstatCharts[canvas.id] = {labels: config.data.labels.slice(),
      datasets: config.data.datasets.filter(function (ds) { return !ds.band; })
        .map(function (ds) { return {label: ds.label, data: ds.data.slice()}; })};
    figures(canvas, config);
    if (typeof Chart === 'undefined') {
      canvas.parentNode.appendChild(h('p', {class: 'note', text: 'The charting library did not load.'}));
      return;
    }
    var own = config.options || {};
    config.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false,
      interaction: {mode: 'index', intersect: false}}, own);
    /* Interval bands are drawn, not listed in the legend. */
    config.options.plugins = Object.assign({legend: {labels: {boxWidth: 14,
      filter: function (item, data) { return !data.datasets[item.datasetIndex].band; }}}}, own.plugins || {});
    charts.push(new Chart(canvas.getContext('2d'), config));
  }

  /* The chart's figures as a table, folded away: for screen readers, and
   * for whoever wants the numbers. */
  function figures(canvas, config) {
    var f = config.tableFmt || function (x) { return fixed(x, 1); };
    var sets = config.data.datasets;
    var table = h('table', {class: 'grid figures'},
      h('thead', null, h('tr', null, h('th', {scope: 'col', text: config.tableHead || ''}),
        sets.map(function (ds) { return h('th', {scope: 'col', class: 'n', text: ds.label}); }))),
      h('tbody', null, config.data.labels.map(function (l, i) {
        return h('tr', null, h('th', {scope: 'row', text: l}),
          sets.map(function (ds) { return h('td', {class: 'n', text: num(ds.data[i]) ? f(ds.data[i]) : DASH}); }));
      })));
    canvas.parentNode.insertAdjacentElement('afterend',
      h('details', {class: 'figures'}, h('summary', {text: 'The figures of this chart'}), h('div', {class: 'scroll'}, table)));
  }

  /* A vertical marker at label index `at` (significant_since) and a zero line. */
  var markers = {
    id: 'abstatMarkers',
    afterDatasetsDraw: function (chart) {
      var o = chart.options.plugins.abstatMarkers || {}, ctx = chart.ctx, area = chart.chartArea;
      var y = chart.scales.y, x = chart.scales.x;
      ctx.save();
      if (o.zero && y.min < 0 && y.max > 0) {
        var py = y.getPixelForValue(0);
        ctx.strokeStyle = '#222'; ctx.lineWidth = 1.5; ctx.setLineDash([]);
        ctx.beginPath(); ctx.moveTo(area.left, py); ctx.lineTo(area.right, py); ctx.stroke();
      }
      (o.marks || []).forEach(function (m, i) {
        var px = x.getPixelForValue(m.at);
        ctx.strokeStyle = m.colour; ctx.lineWidth = 1.5; ctx.setLineDash([5, 4]);
        ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
        ctx.setLineDash([]); ctx.fillStyle = m.colour; ctx.font = '12px system-ui, sans-serif';
        ctx.fillText(m.text, Math.max(area.left, Math.min(px + 4, area.right - ctx.measureText(m.text).width - 2)),
          area.top + 12 + 15 * i);
      });
      ctx.restore();
    }
  };

  function historyMissing(s, hres, what) {
    var msg;
    if (hres.error && hres.error.status === 404)
      msg = 'No history yet: this daemon does not keep ' + what + ' over time (GET /history is not available). ' +
        'The current figures are above.';
    else if (hres.error) msg = 'No history yet: the history could not be read (' + hres.error.message + ').';
    else msg = 'No history yet: the experiment has no day with data so far.';
    add(s, h('p', {class: 'note nohistory', text: msg}));
  }
  function hasPoints(hres) { return hres.hist && hres.hist.points && hres.hist.points.length; }
  function labelOf(hist) {
    return function (p) {
      return hist.interval === 'hour' ? day(p.t) + ' ' + new Date(p.t).toISOString().slice(11, 16) : day(p.t);
    };
  }
  /* The index of the bucket holding time iso, or -1. */
  function bucketOf(points, iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return -1;
    for (var i = 0; i < points.length; i++) if (Date.parse(points[i].end) >= t) return i;
    return points.length - 1;
  }

  function effectPanel(r, hres) {
    var variants = r.variants || [];
    var rel = r.metric === 'conversion';
    var s = section('effect', 'The effect over time',
      'The line is each variant\'s ' + (rel ? 'lift (relative difference from control)' : 'difference from control') +
      ' as it stood at the end of each ' + (hres.hist ? hres.hist.interval : 'day') + '; the shaded band is its ' +
      (r.method === 'sequential' ? 'sequential ' : '') + 'interval. Above the zero line the variant is ahead. ' +
      'While the band still crosses zero, the difference may be noise. A line that falls back after the first days is a novelty effect fading.');
    add(main, s);
    if (!hasPoints(hres)) { historyMissing(s, hres, 'the effect'); return; }
    var pts = hres.hist.points, labels = pts.map(labelOf(hres.hist)), datasets = [], marks = [];
    variants.slice(1).forEach(function (v, j) {
      var i = j + 1, col = colour(i), mid = [], lo = [], hi = [];
      pts.forEach(function (p) {
        var c = (p.comparisons || []).filter(function (x) { return x.variant === v.name; })[0];
        var ctl = (p.variants || [])[0], base = ctl && num(ctl.rate) && ctl.rate > 0 ? ctl.rate : null;
        var ci = c && (c.sequential_ci || c.ci);
        if (!c) { mid.push(null); lo.push(null); hi.push(null); return; }
        if (rel) {
          mid.push(num(c.lift) ? c.lift * 100 : null);
          lo.push(base && ci && num(ci[0]) ? ci[0] / base * 100 : null);
          hi.push(base && ci && num(ci[1]) ? ci[1] / base * 100 : null);
        } else {
          mid.push(num(c.effect) ? c.effect : null);
          lo.push(ci && num(ci[0]) ? ci[0] : null);
          hi.push(ci && num(ci[1]) ? ci[1] : null);
        }
      });
      datasets.push({label: v.name + ': interval from', data: lo, band: true, borderWidth: 0, pointRadius: 0,
        backgroundColor: fade(col, 0.18), fill: false});
      datasets.push({label: v.name + ': interval to', data: hi, band: true, borderWidth: 0, pointRadius: 0,
        backgroundColor: fade(col, 0.18), fill: '-1'});
      datasets.push({label: v.name, data: mid, borderColor: col, backgroundColor: col, borderWidth: 2.5,
        pointRadius: 2, spanGaps: true, fill: false});
      if (v.significant_since) marks.push({at: bucketOf(pts, v.significant_since), colour: col,
        text: v.name + ' significant'});
    });
    var c = chartBox('chart-effect', 'Effect of each variant over time with its interval band');
    add(s, c.box);
    draw(c.canvas, {type: 'line', data: {labels: labels, datasets: datasets}, plugins: [markers], tableHead: hres.hist.interval,
      tableFmt: function (x) { return rel ? signed(x, 1) + PCT : signed(x, 4); },
      options: {plugins: {abstatMarkers: {zero: true, marks: marks},
        tooltip: {filter: function (item) { return !item.dataset.band; },
          callbacks: {label: function (item) { return item.dataset.label + ': ' + (rel ? signed(item.raw, 1) + ' %' : signed(item.raw, 4)); }}}},
      scales: {y: {title: {display: true, text: rel ? 'lift vs control (%)' : 'difference vs control'},
        ticks: {callback: function (x) { return rel ? x + ' %' : x; }}}}}});
    if (marks.length) add(s, h('p', {class: 'small', text: 'The dashed line marks when a variant became significant (' +
      variants.filter(function (v) { return v.significant_since; }).map(function (v) { return v.name + ': ' + dateTime(v.significant_since); }).join('; ') + ').'}));
  }

  function usersPanel(r, hres) {
    var variants = r.variants || [], srm = r.srm || {};
    var s = section('users', 'Users per variant over time',
      'How many users each variant has seen so far. The split should follow the configured weights; ' +
      'if it does not (a sample-ratio mismatch) the assignment is broken and no result can be trusted.');
    if (srm.alert) s.classList.add('warn');
    var total = (srm.observed || []).reduce(function (a, b) { return a + b; }, 0);
    add(s, h('p', {class: srm.alert ? 'alert' : 'ok', id: 'srm', role: srm.alert ? 'alert' : null},
      h('strong', {text: srm.alert ? '⚠ Sample-ratio mismatch' : 'Split as configured'}),
      ' — ' + variants.map(function (v, i) {
        return v.name + ' ' + (total ? pct((srm.observed || [])[i] / total, 1) : DASH) + ' (planned ' +
          pct((srm.expected || [])[i], 1) + ')';
      }).join(', ') + '; ' + pIs(srm.sequential_p != null ? srm.sequential_p : srm.p_value) +
      (srm.alert ? ': the difference is far too large to be chance.' : ': within what chance allows.')));
    add(main, s);
    if (!hasPoints(hres)) { historyMissing(s, hres, 'users over time'); return; }
    var pts = hres.hist.points, labels = pts.map(labelOf(hres.hist));
    var datasets = variants.map(function (v, i) {
      return {label: v.name, borderColor: colour(i), backgroundColor: colour(i), borderWidth: 2, pointRadius: 1.5,
        data: pts.map(function (p) {
          var x = (p.variants || []).filter(function (y) { return y.name === v.name; })[0];
          return x && num(x.users) ? x.users : null;
        })};
    });
    var c = chartBox('chart-users', 'Cumulative users per variant over time');
    add(s, c.box);
    draw(c.canvas, {type: 'line', data: {labels: labels, datasets: datasets}, tableHead: hres.hist.interval, tableFmt: int,
      options: {scales: {y: {beginAtZero: true, title: {display: true, text: 'users (cumulative)'}}}}});
  }

  function funnelPanel(r, variants) {
    var s = section('funnel', 'The journey funnel',
      'Share of each variant\'s users who converted at each phase of the customer journey. ' +
      'The experiment decides on ' + phaseName(r.phase) + '; the other phases show where else the variant made a difference.');
    var used = PHASES.filter(function (p) {
      return variants.some(function (v) { return v.phases && v.phases[p[0]] && v.phases[p[0]].conversions > 0; });
    });
    add(main, s);
    if (!used.length) { add(s, h('p', {class: 'note', text: 'No conversions yet.'})); return; }
    var c = chartBox('chart-funnel', 'Conversion rate per journey phase and variant');
    add(s, c.box);
    draw(c.canvas, {type: 'bar', tableHead: 'phase', tableFmt: function (x) { return fixed(x, 2) + PCT; },
      data: {labels: used.map(function (p) { return p[1] + ' (' + p[2] + ')'; }),
      datasets: variants.map(function (v, i) {
        return {label: v.name, backgroundColor: colour(i), data: used.map(function (p) {
          var x = v.phases && v.phases[p[0]];
          return x && num(x.rate) ? x.rate * 100 : null;
        }), counts: used.map(function (p) { var x = v.phases && v.phases[p[0]]; return x ? x.conversions : 0; })};
      })},
      options: {plugins: {tooltip: {callbacks: {label: function (item) {
        return item.dataset.label + ': ' + fixed(item.raw, 2) + ' % (' + int(item.dataset.counts[item.dataIndex]) + ' users)';
      }}}}, scales: {y: {beginAtZero: true, title: {display: true, text: 'converted (% of users)'},
        ticks: {callback: function (x) { return x + ' %'; }}}}}});
    journeyWords(r, s);
  }

  /* What each variant does at each step of the journey (the results'
   * journey block, README "Statistics"): how many more people it brings to
   * the step's first phase, and the bounds of its effect on going on from
   * there among the people who would get there with either variant. */
  var STEP_VERBS = {consideration: 'consider buying', decision: 'buy', retention: 'come back', advocacy: 'recommend you'};
  function points(x) { return signed(x * 100, 1); }
  function stepWords(r, st, c) {
    var level = Math.round((r.ci_level || 0.95) * 100) + PCT, b = c.bounds, ci = c.bounds_ci;
    var verb = STEP_VERBS[st.to] || 'go on to ' + st.to, d = c.reach_diff;
    var reach = !num(d) ? 'brings people to ' + st.from :
      (Math.abs(d) < 0.0005 ? 'brings as many people to ' : d > 0 ? 'brings more people to ' : 'brings fewer people to ') +
      st.from + ' (reach ' + points(d) + ' points)';
    if (!b || !ci) return c.variant + ' ' + reach + '; too few people got there yet to tell how often they ' + verb + ' once there.';
    var range = points(b[0]) === points(b[1]) ? 'about ' + points(b[0]) + ' points' :
      'between ' + points(b[0]) + ' and ' + points(b[1]) + ' points';
    if (ci[0] > 0 || ci[1] < 0)
      return c.variant + ' ' + reach + '; once there, it makes them ' + verb + (ci[0] > 0 ? ' more' : ' less') +
        ' often: by ' + range + ' (with ' + level + ' confidence ' + points(ci[0]) + ' to ' + points(ci[1]) + ').';
    return c.variant + ' ' + reach + '; whether it changes how often they ' + verb + ' once there is ' + range +
      ' (with ' + level + ' confidence ' + points(ci[0]) + ' to ' + points(ci[1]) + ').';
  }
  function journeyWords(r, s) {
    /* The steps someone went on from: the others have nothing to say yet. */
    var steps = ((r.journey && r.journey.steps) || []).filter(function (st) {
      return (st.variants || []).some(function (v) { return v.continued > 0; });
    });
    if (!steps.length) return;
    add(s, h('h3', {text: 'Step by step'}));
    add(s, h('p', {class: 'explain', text: 'A variant that brings more people to a phase may bring different people, ' +
      'so how often they go on from there is given as a range that allows for that.'}));
    add(s, h('ul', {class: 'journey-words', id: 'journey-words'}, steps.map(function (st) {
      return (st.vs_control || []).map(function (c) {
        return h('li', {'data-step': st.from + '-' + st.to, 'data-variant': c.variant, text: stepWords(r, st, c)});
      });
    })));
  }

  /* A share of users in words: 0.01 -> "1 %", 0.025 -> "2.5 %". */
  function share(x) { return String(Number((x * 100).toFixed(2))) + PCT; }

  /* What revenue_cap did, for the capped figures beside the raw ones
   * (README "Statistics", Revenue capping): "with the top 1 % of revenue
   * per user capped at 412.00". */
  function capWords(cap, caps) {
    var lo = caps ? caps[0] : null, hi = caps ? caps[1] : null, t;
    if (!cap || !num(hi)) return '';
    if (cap.percentile != null) {
      t = cap.percentile < 1 ? 'with the top ' + share(1 - cap.percentile) + ' of revenue per user capped at ' + fixed(hi, 2)
        : 'with revenue per user capped at its largest value, ' + fixed(hi, 2) + ' (nothing cut)';
      if (cap.lower != null && num(lo)) {
        t += cap.lower > 0 ? ' and the bottom ' + share(cap.lower) + ' raised to ' + fixed(lo, 2)
          : ' and raised to at least ' + fixed(lo, 2);
      }
    } else {
      t = 'with revenue per user capped at ' + fixed(hi, 2) + (num(lo) ? ' and raised to at least ' + fixed(lo, 2) : '');
    }
    return t;
  }

  /* "With the top 1 % … capped at 412.00: 38.12 per user, vs control +1.20 (p = 0.03)". */
  function cappedLine(r, v, vc, i) {
    var c = v.revenue && v.revenue.capped, d = vc.revenue && vc.revenue.capped, words;
    if (!c || !num(c.mean) || !(words = capWords(r.revenue_cap, c.caps))) return null;
    words = words.charAt(0).toUpperCase() + words.slice(1) + ': ' + fixed(c.mean, 2) + ' per user';
    if (i && d && num(d.diff)) words += ', vs control ' + signed(d.diff, 2) + (num(d.p_value) ? ' (' + pIs(d.p_value) + ')' : '');
    return h('div', {class: 'small capped', text: words});
  }

  var GUARD_WORDS = {
    ok: 'ok: not harmed', unclear: 'unclear: could still be harmed', failing: 'failing: harmed'
  };
  function guardrailPanel(r, variants, control) {
    var s = section('guardrails', 'Revenue and NPS',
      'Revenue per user counts every user, buyers or not; "per buyer" is the average order value, revenue over the users who bought at the goal phase. ' +
      (r.revenue_cap ? 'The capped figures cut each user\'s revenue at the cap before comparing, so that a few very large orders cannot decide alone; they are shown beside the raw ones and decide nothing. ' : '') +
      'NPS is promoters (9–10) minus detractors (0–6), from −100 to +100. ' +
      'A guardrail is a metric the winner must not harm: "ok" means the interval shows it is not worse than control ' +
      '(beyond the allowed margin), "unclear" that it cannot tell yet, "failing" that it is worse.');
    add(main, s);
    if (!variants.some(function (v) { return (v.revenue && num(v.revenue.mean) && v.revenue.mean !== 0) || (v.nps && v.nps.responses); })) {
      add(s, h('p', {class: 'note', text: 'No revenue and no NPS answers yet: conversions carry no value and nobody answered the NPS question.'}));
      return;
    }
    var tbody = h('tbody');
    variants.forEach(function (v, i) {
      var g = {};
      (v.guardrails || []).forEach(function (x) { g[x.metric + (x.phase ? ':' + x.phase : '')] = x; });
      function guard(key) {
        var x = g[key];
        if (!x) return null;
        return h('div', null, badge(GUARD_WORDS[x.status] || x.status, 'g-' + x.status,
          'margin ' + pct(x.margin, 0) + ' of control; difference ' + interval(x.ci, function (y) { return signed(y, 2); })));
      }
      var vc = v.vs_control || {};
      add(tbody, h('tr', {'data-variant': v.name},
        h('th', {scope: 'row', text: v.name + (i || v.name === 'control' ? '' : ' (control)')}),
        h('td', {class: 'n', 'data-label': 'Revenue per user'}, h('strong', {text: v.revenue ? fixed(v.revenue.mean, 2) : DASH}), ' ',
          h('span', {class: 'small', text: v.revenue ? interval(v.revenue.ci, function (x) { return fixed(x, 2); }) : ''}),
          i && vc.revenue ? h('div', {class: 'small', text: 'vs control ' + signed(vc.revenue.diff, 2) +
            (num(vc.revenue.lift) ? ' (' + signedPct(vc.revenue.lift, 1) + ')' : '')}) : null,
          cappedLine(r, v, vc, i),
          v.aov && num(v.aov.value) ? h('div', {class: 'small aov', text: 'per buyer ' + fixed(v.aov.value, 2) +
            (i && vc.aov && num(vc.aov.diff) ? ', vs control ' + signed(vc.aov.diff, 2) : '')}) : null,
          i ? guard('revenue') : null),
        h('td', {class: 'n', 'data-label': 'NPS'}, h('strong', {text: v.nps ? fixed(v.nps.score, 1) : DASH}), ' ',
          h('span', {class: 'small', text: v.nps ? interval(v.nps.ci, function (x) { return fixed(x, 1); }) + ' · ' +
            int(v.nps.responses) + ' answers' : ''}),
          i && vc.nps ? h('div', {class: 'small', text: 'vs control ' + signed(vc.nps.diff, 1) + ' points'}) : null,
          i ? guard('nps') : null)));
    });
    add(s, h('div', {class: 'scroll'}, h('table', {class: 'grid stack'},
      h('caption', {class: 'sr', text: 'Revenue per user and NPS per variant with guardrail status'}),
      h('thead', null, h('tr', null, h('th', {scope: 'col', text: 'Variant'}),
        h('th', {scope: 'col', class: 'n', text: 'Revenue per user'}), h('th', {scope: 'col', class: 'n', text: 'NPS'}))),
      tbody)));
    var other = [];
    variants.slice(1).forEach(function (v) {
      (v.guardrails || []).forEach(function (x) {
        if (x.metric === 'conversion') other.push(v.name + ' · conversion at ' + phaseName(x.phase) + ': ' + (GUARD_WORDS[x.status] || x.status));
      });
    });
    if (other.length) add(s, h('ul', {class: 'small'}, other.map(function (t) { return h('li', {text: t}); })));
  }

  function progressPanel(r) {
    var ss = r.sample_size || {};
    var target = ss.progress_towards === 'per_variant' ? ss.per_variant : ss.sequential_per_variant;
    var s = section('progress', 'Progress to the planned sample',
      'The plan: enough users per variant to detect a change of ' + pct(ss.mde, 0) + ' relative to the baseline of ' +
      (r.metric === 'conversion' ? pct(ss.baseline, 2) : fixed(ss.baseline, 2)) + '. ' +
      (r.method === 'sequential' ? 'A clear winner can be called earlier; the plan is the most it should take.' :
        'A fixed test is judged once, when the plan is reached.'));
    var p = num(ss.progress) ? Math.max(0, Math.min(1, ss.progress)) : null;
    add(s, h('div', {class: 'progress-row big'},
      h('progress', {id: 'progress-bar', max: '1', value: p == null ? null : String(p), 'aria-label': 'Progress to the planned sample'}),
      h('span', {text: pct(p, 0)})));
    var decided = r.verdict && (r.verdict.decision === 'ship' || r.verdict.decision === 'keep_control');
    add(s, h('p', {id: 'progress-words', text: ss.reached ? 'The planned sample is reached.' :
      int(target) + ' users per variant planned; ' + (num(ss.days_remaining) ? 'about ' + int(ss.days_remaining) +
        ' more day' + (ss.days_remaining === 1 ? '' : 's') + ' at the current pace.' : 'days remaining: ' + DASH + '.') +
      (decided ? ' The verdict is already in: a sequential test may stop as soon as the answer is clear, so there is no need to wait for the plan.' : '')}));
    add(main, s);
  }

  function factorialPanel(r) {
    var f = r.factorial;
    if (!f || !f.main_effects) return;
    var s = section('factorial', 'Factors: main effects',
      'Each factor on its own, averaged over the levels of the others (' + phaseName(f.phase) + '). ' +
      'A small p (below ' + r.alpha + ') means the levels of that factor really differ.');
    f.main_effects.forEach(function (m) {
      add(s, h('h3', {text: m.factor + ' — ' + pIs(m.p_value) + (num(m.p_value) && m.p_value < r.alpha ? ': the levels differ' : ': no clear difference')}));
      add(s, h('div', {class: 'scroll'}, h('table', {class: 'grid'},
        h('thead', null, h('tr', null, h('th', {scope: 'col', text: 'Level'}), h('th', {scope: 'col', class: 'n', text: 'Users'}),
          h('th', {scope: 'col', class: 'n', text: 'Conversions'}), h('th', {scope: 'col', class: 'n', text: 'Rate'}))),
        h('tbody', null, (m.levels || []).map(function (l) {
          return h('tr', null, h('th', {scope: 'row', text: l.level}), h('td', {class: 'n', text: int(l.users)}),
            h('td', {class: 'n', text: int(l.conversions)}), h('td', {class: 'n', text: pct(l.rate, 2)}));
        })))));
    });
    if (f.interaction) add(s, h('p', {class: 'small', text: 'Interaction between the factors: ' + pIs(f.interaction.p_value) +
      (num(f.interaction.p_value) && f.interaction.p_value < r.alpha ? ' — the factors work together: look at the cells, not only the main effects.' :
        ' — no sign that the factors depend on each other.')}));
    add(main, s);
  }

  U.showExperiment = showExperiment;
})(window.abstatUI);
