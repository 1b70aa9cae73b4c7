/* abstat.js — the browser side of abstat, served by abstatd at /v1/abstat.js:
 * the daemon's assignment computed in the page (README, "Assignment") and
 * events sent with navigator.sendBeacon, falling back to fetch keepalive.
 * No dependencies; ES5 so that old browsers run it too.
 *
 *   abstat.init({server: "https://abstat.example", token: "INGEST_TOKEN",
 *                experiment: "checkout-cta", user: "u-1842"});
 *   var exp = {experiment: "checkout-cta", variants: ["control", "buy-now"],
 *              weights: [0.5, 0.5]};
 *   abstat.assign(exp, user)    -> "buy-now" (no request)
 *   abstat.expose(exp, user)    -> the same, and sends the exposure
 *   abstat.fetchAssignment("checkout-cta", user, {expose: true}) -> Promise of
 *       the daemon's answer {experiment, user, variant, exposed, status}
 *   abstat.track({type: "conversion", phase: "decision", value: 59.9})
 */
(function (root) {
    'use strict';

    var BUCKETS = 1048576; /* 2^20: the grid the weights are drawn on */
    /* sendBeacon and fetch keepalive take at most 64 KiB in flight. */
    var KEEPALIVE_MAX = 65000;
    var config = {server: '', token: '', experiment: null, user: null};

    /* The origin this script was loaded from: the daemon, by default. */
    (function () {
        var s = root.document && root.document.currentScript;
        var m = s && s.src && /^(https?:\/\/[^\/?#]+)/i.exec(s.src);
        if (m) config.server = m[1];
    })();

    /* UTF-8 bytes of a string, as the daemon hashes them (a lone surrogate
     * becomes U+FFFD, as TextEncoder does). */
    function utf8(s) {
        var out = [], i, c, d;
        for (i = 0; i < s.length; i++) {
            c = s.charCodeAt(i);
            if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length &&
                (d = s.charCodeAt(i + 1)) >= 0xdc00 && d <= 0xdfff) {
                c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
                i++;
            } else if (c >= 0xd800 && c <= 0xdfff) {
                c = 0xfffd;
            }
            if (c < 0x80) {
                out.push(c);
            } else if (c < 0x800) {
                out.push(0xc0 | c >> 6, 0x80 | c & 63);
            } else if (c < 0x10000) {
                out.push(0xe0 | c >> 12, 0x80 | c >> 6 & 63, 0x80 | c & 63);
            } else {
                out.push(0xf0 | c >> 18, 0x80 | c >> 12 & 63, 0x80 | c >> 6 & 63, 0x80 | c & 63);
            }
        }
        return out;
    }

    /* MurmurHash3_x86_32 of a byte array; Math.imul and >>> give exactly
     * the 32-bit arithmetic of the C reference. */
    function murmur3(b, seed) {
        var h = seed | 0, n = b.length, i = 0, k;
        var c1 = 0xcc9e2d51, c2 = 0x1b873593;
        for (; i + 4 <= n; i += 4) {
            k = b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24;
            k = Math.imul(k, c1);
            k = k << 15 | k >>> 17;
            k = Math.imul(k, c2);
            h ^= k;
            h = h << 13 | h >>> 19;
            h = Math.imul(h, 5) + 0xe6546b64 | 0;
        }
        k = 0;
        switch (n & 3) {
        case 3: k ^= b[i + 2] << 16; /* falls through */
        case 2: k ^= b[i + 1] << 8;  /* falls through */
        case 1:
            k ^= b[i];
            k = Math.imul(k, c1);
            k = k << 15 | k >>> 17;
            k = Math.imul(k, c2);
            h ^= k;
        }
        h ^= n;
        h ^= h >>> 16;
        h = Math.imul(h, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h ^= h >>> 16;
        return h >>> 0;
    }

    /* The assignment hash: of experiment ":" user. */
    function hash(experiment, user) {
        return murmur3(utf8(String(experiment) + ':' + String(user)), 0);
    }

    /* Cumulative thresholds on the 2^20 grid, in the daemon's order of
     * operations: t_i = floor(W_i / S * 2^20 + 0.5), the last one 2^20. */
    function thresholds(weights) {
        var sum = 0, cum = 0, t = [], i;
        for (i = 0; i < weights.length; i++) {
            if (typeof weights[i] !== 'number' || !(weights[i] > 0) || !isFinite(weights[i]))
                throw new Error('abstat: weights must be positive numbers');
            sum += weights[i];
        }
        if (!weights.length || !isFinite(sum)) throw new Error('abstat: weights must be positive numbers');
        for (i = 0; i + 1 < weights.length; i++) {
            cum += weights[i];
            t.push(Math.floor(cum / sum * BUCKETS + 0.5));
        }
        t.push(BUCKETS);
        return t;
    }

    /* exp: {experiment, variants, weights} (weights as PUT or GET gives
     * them; equal when absent). Returns the variant name. */
    function assign(exp, user) {
        var variants = exp && exp.variants, weights, t, b, i;
        if (!exp || typeof exp.experiment !== 'string' || !variants || !variants.length)
            throw new Error('abstat.assign: needs {experiment, variants, weights}');
        if (user === undefined || user === null) user = config.user;
        if (user === undefined || user === null || String(user) === '')
            throw new Error('abstat.assign: needs a user');
        weights = exp.weights;
        if (!weights) {
            weights = [];
            for (i = 0; i < variants.length; i++) weights.push(1 / variants.length);
        }
        if (weights.length !== variants.length)
            throw new Error('abstat.assign: one weight per variant');
        t = thresholds(weights);
        b = hash(exp.experiment, user) >>> 12;
        for (i = 0; i < t.length; i++) if (b < t[i]) return variants[i];
        return variants[variants.length - 1];
    }

    function init(opts) {
        opts = opts || {};
        if (opts.server) config.server = String(opts.server).replace(/\/+$/, '');
        if (opts.token !== undefined) config.token = opts.token;
        if (opts.experiment !== undefined) config.experiment = opts.experiment;
        if (opts.user !== undefined) config.user = opts.user;
        return api;
    }

    function withToken(url) {
        return config.token ? url + (url.indexOf('?') < 0 ? '?' : '&') + 'token=' +
            encodeURIComponent(config.token) : url;
    }

    /* Events get the experiment and user of init() when they have none. */
    function complete(ev) {
        var out = {}, k;
        for (k in ev) if (Object.prototype.hasOwnProperty.call(ev, k)) out[k] = ev[k];
        if (out.experiment === undefined && config.experiment !== null) out.experiment = config.experiment;
        if (out.user === undefined && config.user !== null) out.user = config.user;
        return out;
    }

    /* Sends one event or an array of them to POST /v1/events. sendBeacon
     * first: it outlives the page (pagehide, navigation) and sends a string
     * as text/plain, which needs no preflight. true when the browser took
     * the events (not that the daemon stored them). */
    function track(events) {
        var list = Object.prototype.toString.call(events) === '[object Array]' ? events : [events];
        var body, url = withToken(config.server + '/v1/events'), i, out = [];
        for (i = 0; i < list.length; i++) out.push(complete(list[i]));
        body = JSON.stringify(out.length === 1 ? out[0] : out);
        var small = utf8(body).length <= KEEPALIVE_MAX;
        var nav = root.navigator;
        if (small && nav && typeof nav.sendBeacon === 'function') {
            try {
                if (nav.sendBeacon(url, body)) return true;
            } catch (e) { /* falls back to fetch */ }
        }
        if (typeof root.fetch === 'function') {
            root.fetch(url, {method: 'POST', body: body, keepalive: small, mode: 'cors',
                             headers: {'Content-Type': 'text/plain;charset=UTF-8'}})
                ["catch"](function () {});
            return true;
        }
        return false;
    }

    /* assign() and the exposure sent with track(); returns the variant. */
    function expose(exp, user) {
        var variant = assign(exp, user);
        if (user === undefined || user === null) user = config.user;
        track({experiment: exp.experiment, variant: variant, user: user, type: 'exposure'});
        return variant;
    }

    /* The daemon's answer for GET /v1/experiments/{id}/assign (with
     * opts.expose the exposure is recorded before it answers). A Promise
     * of {experiment, user, variant, exposed, status}; rejects with the
     * daemon's error text. */
    function fetchAssignment(experiment, user, opts) {
        var url;
        if (experiment === undefined || experiment === null) experiment = config.experiment;
        if (user === undefined || user === null) user = config.user;
        url = config.server + '/v1/experiments/' + encodeURIComponent(experiment) +
            '/assign?user=' + encodeURIComponent(user) + (opts && opts.expose ? '&expose=1' : '');
        return root.fetch(withToken(url), {mode: 'cors'}).then(function (r) {
            return r.json().then(function (j) {
                if (!r.ok) throw new Error('abstat: ' + r.status + ' ' + (j && j.error));
                return j;
            });
        });
    }

    var api = {init: init, assign: assign, expose: expose, track: track,
               fetchAssignment: fetchAssignment, hash: hash};
    root.abstat = api;
})(typeof window !== 'undefined' ? window : this);
