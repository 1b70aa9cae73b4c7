/* dashboard.js — the marketers' dashboard of abstat (README "The dashboard"): the
 * helpers, the token and its form, the experiment list and the routing; one
 * experiment's page is dashboard.experiment.js. Everything is read from this
 * daemon's API. No dependency but Chart.js (served by the daemon), no build
 * step, no request to any other host. */
(function () {
  'use strict';

  /* ---- small helpers ---------------------------------------------------- */

  var TOKEN_KEY = 'abstat.token';
  var main = document.getElementById('main');
  var charts = [];                  /* live Chart objects, destroyed on navigation */
  /* What each chart shows, for tests and the curious: window.abstatCharts[id]. */
  window.abstatCharts = {};

  function h(tag, attrs) {
    var el = document.createElement(tag);
    var i, k;
    if (attrs) {
      for (k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
        if (k === 'text') el.textContent = attrs[k];
        else if (k === 'class') el.className = attrs[k];
        else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), attrs[k]);
        else el.setAttribute(k, attrs[k]);
      }
    }
    for (i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c == null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function num(x) { return typeof x === 'number' && isFinite(x); }
  var DASH = '—';
  var PCT = '\u00a0%'; /* "8.53 %", never broken before the sign */
  function pct(x, d) { return num(x) ? (x * 100).toFixed(d == null ? 2 : d) + PCT : DASH; }
  function signedPct(x, d) {
    return num(x) ? (x > 0 ? '+' : x < 0 ? '−' : '') + Math.abs(x * 100).toFixed(d == null ? 1 : d) + PCT : DASH;
  }
  function fixed(x, d) { return num(x) ? x.toFixed(d) : DASH; }
  function signed(x, d) { return num(x) ? (x > 0 ? '+' : x < 0 ? '−' : '') + Math.abs(x).toFixed(d) : DASH; }
  function int(x) { return num(x) ? Math.round(x).toLocaleString('en-US') : DASH; }
  function pval(p) {
    if (!num(p)) return DASH;
    if (p < 0.0001) return '< 0.0001';
    return p.toPrecision(2);
  }
  /* "p = 0.031" or "p < 0.0001". */
  function pIs(p) { var t = pval(p); return 'p\u00a0' + (t.charAt(0) === '<' ? t.replace(' ', '\u00a0') : '=\u00a0' + t); }
  function interval(ci, f) {
    return ci && num(ci[0]) && num(ci[1]) ? f(ci[0]) + ' to ' + f(ci[1]) : DASH;
  }
  function day(iso) {
    var d = new Date(iso);
    return isNaN(d) ? DASH : d.toLocaleDateString('en-GB', {day: 'numeric', month: 'short', timeZone: 'UTC'});
  }
  function dateTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? DASH : d.toLocaleString('en-GB', {day: 'numeric', month: 'short', year: 'numeric',
      hour: '2-digit', minute: '2-digit', timeZone: 'UTC'}) + ' UTC';
  }

  /* The journey phases in order, with the Dutch names many users write. */
  var PHASES = [
    ['awareness', 'Awareness', 'bewustwording'],
    ['consideration', 'Consideration', 'overweging'],
    ['decision', 'Decision', 'aankoop'],
    ['retention', 'Retention', 'retentie'],
    ['advocacy', 'Advocacy', 'ambassadeurschap']
  ];
  function phaseName(p) {
    for (var i = 0; i < PHASES.length; i++) if (PHASES[i][0] === p) return PHASES[i][1] + ' (' + PHASES[i][2] + ')';
    return p || DASH;
  }
  var METRIC_NAMES = {conversion: 'conversion', revenue: 'revenue per user', nps: 'NPS'};
  /* Colour-blind-safe palette (Okabe–Ito); control is grey. */
  var COLOURS = ['#5f6368', '#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#8a6d00'];
  function colour(i) { return COLOURS[i % COLOURS.length]; }
  function fade(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  /* ---- the token --------------------------------------------------------- */

  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY) || ''; }
    catch (e) { return ''; }
  }
  function keepToken(t, remember) {
    try {
      forget();
      (remember ? localStorage : sessionStorage).setItem(TOKEN_KEY, t);
    } catch (e) { /* storage refused: the token lives until the page closes */ memoryToken = t; }
  }
  var memoryToken = '';
  function forget() {
    memoryToken = '';
    try { sessionStorage.removeItem(TOKEN_KEY); localStorage.removeItem(TOKEN_KEY); } catch (e) { /* none */ }
  }
  function currentToken() { return memoryToken || token(); }

  function AuthError(status) { this.status = status; }

  /* GET path as JSON; 401 and 403 throw AuthError, other failures Error. */
  function api(path, t) {
    var tok = t != null ? t : currentToken(), headers = {Accept: 'application/json'};
    if (tok) headers.Authorization = 'Bearer ' + tok;
    return fetch(path, {headers: headers, cache: 'no-store', credentials: 'omit'}).then(function (r) {
      if (r.status === 401 || r.status === 403) throw new AuthError(r.status);
      return r.json().catch(function () { return null; }).then(function (body) {
        if (!r.ok) {
          var e = new Error(body && body.error ? body.error : 'HTTP ' + r.status);
          e.status = r.status;
          throw e;
        }
        return body;
      });
    });
  }

  /* ---- the page's frame -------------------------------------------------- */

  function clear() {
    charts.forEach(function (c) { c.destroy(); });
    charts.length = 0;
    window.abstatCharts = {};
    while (main.firstChild) main.removeChild(main.firstChild);
  }
  function setWhere(text) {
    document.getElementById('where').textContent = text;
    document.title = 'abstat — ' + text;
  }
  function ready(state) { document.body.setAttribute('data-state', state || 'ready'); }
  function showSignout() { document.getElementById('signout').hidden = !currentToken(); }

  function failure(err) {
    if (err instanceof AuthError) { login(err.status === 403 ? 'forbidden' : currentToken() ? 'refused' : ''); return; }
    clear();
    add(main, h('div', {class: 'panel error', role: 'alert'},
      h('h1', {text: 'Something went wrong'}),
      h('p', {text: String(err && err.message || err)}),
      h('p', null, h('a', {href: '#/', text: 'Back to the experiments'}))));
    ready('error');
  }

  function login(why) {
    var messages = {
      refused: 'That token was refused. Check it and try again.',
      forbidden: 'That token may not read results: ask for a token with the read scope.'
    };
    var input, remember, note;
    forget();
    clear();
    showSignout();
    setWhere('sign in');
    note = h('p', {id: 'login-error', class: 'login-error', role: 'alert', text: messages[why] || ''});
    input = h('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'current-password',
      required: 'required', spellcheck: 'false', 'aria-describedby': 'token-help login-error'});
    remember = h('input', {id: 'remember', type: 'checkbox'});
    var form = h('form', {id: 'login', class: 'panel login', onsubmit: function (ev) {
      ev.preventDefault();
      var t = input.value.trim();
      if (!t) return;
      note.textContent = 'Checking…';
      api('/v1/experiments?limit=1', t).then(function () {
        keepToken(t, remember.checked);
        showSignout();
        route();
      }, function (err) {
        note.textContent = err instanceof AuthError ? messages[err.status === 403 ? 'forbidden' : 'refused']
          : 'The daemon did not answer: ' + (err && err.message || err);
        input.focus();
        ready('login');
      });
    }},
      h('h1', {text: 'Sign in to abstat'}),
      h('p', {id: 'token-help', text: 'This daemon needs a token. Paste a read token (your administrator has it). ' +
        'It is sent only to this daemon and kept only in this browser.'}),
      h('label', {for: 'token', text: 'Read token'}), input,
      h('label', {class: 'check', for: 'remember'}, remember,
        ' Remember me on this device (until I sign out)'),
      h('button', {type: 'submit', class: 'primary', text: 'Sign in'}),
      note);
    add(main, form);
    input.focus();
    ready('login');
  }

  document.getElementById('signout').addEventListener('click', function () { login(''); });

  /* ---- the verdict in words ---------------------------------------------- */

  var DECISIONS = {
    ship: {cls: 'ship', title: function (v) { return 'Ship ' + (v || 'the winner'); },
      explain: 'A variant is better than control and is judged safe to roll out: the test allows looking at any time ' +
        '(sequential), so this result does not come from peeking, and no guardrail is harmed.'},
    keep_control: {cls: 'control', title: function () { return 'Keep control'; },
      explain: 'No variant is better than what you have now (or the better one harms a guardrail). ' +
        'End the experiment and keep the current version.'},
    keep_running: {cls: 'running', title: function () { return 'Keep running'; },
      explain: 'The data cannot tell yet. Stopping now means acting on noise: a difference that looks big ' +
        'today often shrinks with more visitors. Let it run until every variant is decided.'},
    invalid: {cls: 'invalid', title: function () { return 'Do not trust these results'; },
      explain: 'Visitors are not split between the variants as configured. Something in the assignment is broken, ' +
        'so any difference may come from who saw which variant rather than from the variant itself.'}
  };
  function decision(v) { return DECISIONS[v && v.decision] || DECISIONS.keep_running; }
  var STATUS_WORDS = {
    better: 'better than control', worse: 'worse than control', no_effect: 'no meaningful difference',
    collecting: 'still collecting', control: 'the control'
  };

  /* Inline style attributes are refused by the page's CSP; the CSSOM is not. */
  function swatch(i) {
    var el = h('span', {class: 'swatch', 'aria-hidden': 'true'});
    el.style.backgroundColor = colour(i);
    return el;
  }
  function badge(text, cls, title) { return h('span', {class: 'badge ' + (cls || ''), title: title, text: text}); }

  /* ---- the experiment list ------------------------------------------------ */

  function listAll() {
    var all = [];
    function page(after) {
      return api('/v1/experiments?limit=1000' + (after ? '&after=' + encodeURIComponent(after) : '')).then(function (r) {
        all = all.concat(r.experiments || []);
        return r.next ? page(r.next) : all;
      });
    }
    return page(null);
  }

  /* Results of each experiment, four at a time. */
  function resultsOf(exps) {
    var out = new Array(exps.length), next = 0;
    function worker() {
      if (next >= exps.length) return Promise.resolve();
      var i = next++;
      return api('/v1/experiments/' + encodeURIComponent(exps[i].id) + '/results').then(function (r) {
        out[i] = r;
      }, function (e) {
        if (e instanceof AuthError) throw e;
        out[i] = null;
      }).then(worker);
    }
    var workers = [];
    for (var k = 0; k < 4; k++) workers.push(worker());
    return Promise.all(workers).then(function () { return out; });
  }

  function showList() {
    setWhere('experiments');
    return listAll().then(function (exps) {
      return resultsOf(exps).then(function (res) { renderList(exps, res); });
    });
  }

  function renderList(exps, res) {
    clear();
    showSignout();
    var counts = {ship: 0, keep_control: 0, keep_running: 0, invalid: 0};
    res.forEach(function (r) { if (r && r.verdict) counts[r.verdict.decision] = (counts[r.verdict.decision] || 0) + 1; });
    add(main, h('h1', {text: 'Experiments'}));
    if (!exps.length) {
      add(main, h('div', {class: 'panel'}, h('p', {text: 'No experiments yet. Create one with PUT /v1/experiments/{id} (see README, Experiments).'})));
      ready();
      return;
    }
    var parts = [[counts.ship, ' ready to ship'], [counts.keep_control, ' to end, keeping control'],
      [counts.keep_running, ' still running'], [counts.invalid, ' with broken data']]
      .filter(function (x) { return x[0]; }).map(function (x) { return x[0] + x[1]; });
    add(main, h('p', {class: 'lead'}, exps.length + ' experiment' + (exps.length === 1 ? '' : 's') +
      (parts.length ? ': ' + parts.join(', ') : '') + '.'));
    var list = h('ul', {class: 'cards', id: 'experiments'});
    exps.forEach(function (e, i) {
      var r = res[i], d = decision(r && r.verdict), v = r && r.verdict;
      var warnings = r && r.data_quality && r.data_quality.warnings ? r.data_quality.warnings.length : 0;
      var ss = r && r.sample_size, prog = ss && num(ss.progress) ? Math.max(0, Math.min(1, ss.progress)) : null;
      add(list, h('li', {class: 'card', 'data-experiment': e.id},
        h('div', {class: 'card-head'},
          h('a', {class: 'name', href: '#/e/' + encodeURIComponent(e.id), text: e.id}),
          badge(e.status === 'stopped' ? 'stopped' : 'running', e.status === 'stopped' ? 'muted' : 'live'),
          warnings ? badge('⚠ ' + warnings + ' warning' + (warnings === 1 ? '' : 's'), 'warn',
            'Data-quality warnings: open the experiment to read them') : null),
        e.description ? h('p', {class: 'desc', text: e.description}) : null,
        h('p', {class: 'verdict-line ' + d.cls}, h('strong', {text: r ? d.title(v && v.variant) : 'No results'}),
          r ? ' — ' + METRIC_NAMES[r.metric] + ' at ' + phaseName(r.phase) : ''),
        h('dl', {class: 'facts'},
          h('div', null, h('dt', {text: 'Days running'}), h('dd', {text: r ? fixed(r.days_running, 1) : DASH})),
          h('div', null, h('dt', {text: 'Users'}), h('dd', {text: int(e.users)})),
          h('div', null, h('dt', {text: 'Variants'}), h('dd', {text: String((e.variants || []).length)}))),
        h('div', {class: 'progress-row'},
          h('progress', {max: '1', value: prog == null ? null : String(prog),
            'aria-label': 'Progress to the planned sample of ' + e.id}),
          h('span', {text: prog == null ? 'progress ' + DASH : v && (v.decision === 'ship' || v.decision === 'keep_control') ?
            'decided at ' + pct(prog, 0) + ' of the planned sample' : pct(prog, 0) + ' of the planned sample' +
            (ss && num(ss.days_remaining) && !ss.reached ? ', about ' + int(ss.days_remaining) + ' days to go' : '')}))));
    });
    add(main, list);
    ready();
  }

  /* What dashboard.experiment.js uses; it adds showExperiment. */
  window.abstatUI = {
    h: h, add: add, num: num, DASH: DASH, PCT: PCT, pct: pct, signedPct: signedPct, fixed: fixed,
    signed: signed, int: int, pval: pval, pIs: pIs, interval: interval, day: day, dateTime: dateTime,
    PHASES: PHASES, phaseName: phaseName, METRIC_NAMES: METRIC_NAMES, colour: colour, fade: fade,
    api: api, AuthError: AuthError, main: main, charts: charts, clear: clear, setWhere: setWhere,
    ready: ready, showSignout: showSignout, decision: decision, STATUS_WORDS: STATUS_WORDS,
    swatch: swatch, badge: badge
  };

  /* ---- routing ------------------------------------------------------------ */

  function route() {
    var m = /^#\/e\/(.+)$/.exec(location.hash);
    document.body.setAttribute('data-state', 'loading');
    (m ? window.abstatUI.showExperiment(decodeURIComponent(m[1])) : showList()).then(function () {
      /* A new page: start at its top, and tell screen readers where they are. */
      if (document.body.getAttribute('data-state') !== 'ready') return;
      window.scrollTo(0, 0);
      main.focus({preventScroll: true});
    }).catch(failure);
  }
  window.addEventListener('hashchange', route);
  /* Deferred scripts have all run by then: the experiment page is there. */
  document.addEventListener('DOMContentLoaded', route);
})();
