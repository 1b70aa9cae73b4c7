/* sample_size_json.c — parameters of the sample-size calculator in, the
 * plan out. */
#include "json/sample_size_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/analysis.h"
#include "core/defaults.h"
#include "json/jsonout.h"

void ab_sample_size_req_init(ab_sample_size_req *rq)
{
    memset(rq, 0, sizeof *rq);
    rq->alpha = AB_DEFAULT_ALPHA;
    rq->power = AB_DEFAULT_POWER;
    rq->variants = 2;
    rq->correction = AB_DEFAULT_CORRECTION;
}

/* Most users or days the plan can state: beyond 2^53 a count is neither
 * exact as a double nor representable as a JSON integer (the cast to one
 * overflowed: daily_users=1e-300 answered "days": -9223372036854775808). */
#define PLAN_MAX AB_MAX_COUNT

/* A copy of s for quoting in an error, at most 32 bytes, bytes outside
 * printable ASCII as '?': query values are URL-decoded bytes, and one that
 * is not UTF-8 (%ff) made jansson refuse the error text (500 "out of
 * memory" instead of the 400 naming the parameter). */
static const char *printable(const char *s, char buf[static 33])
{
    size_t i;
    for (i = 0; i < 32 && s[i]; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    buf[i] = '\0';
    return buf;
}

/* A finite number; "10%" is 0.10 when percent is allowed. */
static int parse_number(const char *s, int percent, double *out)
{
    char *end;
    double d;
    if (!s || !*s) return -1;
    errno = 0;
    d = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(d)) return -1;
    if (percent && *end == '%') {
        d /= 100.0;
        end++;
    }
    if (*end) return -1;
    *out = d;
    return 0;
}

int ab_sample_size_req_set(ab_sample_size_req *rq, const char *key, const char *value,
                           ab_error *err)
{
    char qk[33], qv[33];
    double d;
    if (!strcmp(key, "correction")) {
        if (ab_correction_parse(value, &rq->correction))
            return ab_error_set(err, 400, "correction: must be holm, bonferroni, bh or none");
        return 0;
    }
    if (!strcmp(key, "variants")) {
        if (parse_number(value, 0, &d) || d < 2 || d > AB_MAX_ARMS || floor(d) != d)
            return ab_error_set(err, 400, "variants: must be a whole number from 2 to %d",
                                AB_MAX_ARMS);
        rq->variants = d;
        return 0;
    }
    if (!strcmp(key, "daily_users") || !strcmp(key, "daily-users")) {
        if (parse_number(value, 0, &d) || d <= 0)
            return ab_error_set(err, 400, "daily_users: must be a positive number");
        rq->daily_users = d;
        rq->has_daily_users = 1;
        return 0;
    }
    if (strcmp(key, "baseline") && strcmp(key, "mde") && strcmp(key, "alpha") &&
        strcmp(key, "power"))
        return ab_error_set(err, 400, "unknown parameter \"%s\"", printable(key, qk));
    if (parse_number(value, 1, &d))
        return ab_error_set(err, 400, "%s: \"%s\" is not a number", key,
                            printable(value, qv));
    if (!strcmp(key, "baseline")) {
        if (d <= 0 || d >= 1) return ab_error_set(err, 400, "baseline: must be between 0 and 1");
        rq->baseline = d;
        rq->has_baseline = 1;
    } else if (!strcmp(key, "mde")) {
        if (d == 0 || d <= -1) return ab_error_set(err, 400, "mde: must be non-zero and above -100%%");
        rq->mde = d;
        rq->has_mde = 1;
    } else if (!strcmp(key, "alpha")) {
        if (ab_alpha_check(d, AB_ALPHA_MAX_CALC, "alpha", err)) return -1;
        rq->alpha = d;
    } else if (!strcmp(key, "power")) {
        if (d <= 0 || d >= 1) return ab_error_set(err, 400, "power: must be between 0 and 1");
        rq->power = d;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' of one query component into out (cap bytes with the
 * NUL). Rejects truncated escapes, %00 and overlong input. */
static int url_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (i + 2 >= len) return -1;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (o + 1 >= cap) return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int ab_sample_size_req_query(ab_sample_size_req *rq, const char *query, ab_error *err)
{
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&'), *eq;
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        char key[64], value[128];
        eq = memchr(p, '=', len);
        if (len == 0) {
            p = amp ? amp + 1 : NULL;
            continue;
        }
        if (!eq) {
            /* Raw query bytes: quoted as printable ASCII only, or a "%ff"
             * made the text invalid UTF-8, which jansson refused to put in
             * the JSON error answer (500 instead of this 400). */
            char q[33];
            size_t n;
            for (n = 0; n < len && n < 32; n++) q[n] = p[n] >= 0x20 && p[n] < 0x7f ? p[n] : '?';
            q[n] = '\0';
            return ab_error_set(err, 400, "query: \"%s\" has no value", q);
        }
        if (url_decode(p, (size_t)(eq - p), key, sizeof key) ||
            url_decode(eq + 1, len - (size_t)(eq - p) - 1, value, sizeof value))
            return ab_error_set(err, 400, "query: malformed or overlong parameter");
        if (!strcmp(key, "token")) { /* authentication, not a parameter */
            p = amp ? amp + 1 : NULL;
            continue;
        }
        if (ab_sample_size_req_set(rq, key, value, err)) return -1;
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

json_t *ab_sample_size_answer(const ab_sample_size_req *rq, ab_error *err)
{
    double per = NAN, alpha_each, target, total, days = NAN, weeks = NAN;
    size_t k = (size_t)rq->variants;
    ab_status st;
    json_t *out;

    if (!rq->has_baseline) {
        ab_error_set(err, 400, "baseline: required (the control's expected rate, e.g. 0.05)");
        return NULL;
    }
    if (!rq->has_mde) {
        ab_error_set(err, 400, "mde: required (the relative effect to detect, e.g. 0.1 or 10%%)");
        return NULL;
    }
    target = rq->baseline * (1.0 + rq->mde);
    if (!(target > 0.0 && target < 1.0)) {
        ab_error_set(err, 400, "mde: baseline x (1 + mde) = %g must be between 0 and 1", target);
        return NULL;
    }
    st = ab_sample_size_prop(rq->baseline, rq->mde, rq->alpha, rq->power, k, rq->correction,
                             &per);
    if (st == AB_ERANGE || st == AB_ENUMERIC) {
        /* Valid parameters whose plan cannot be stated (baseline=1e-300,
         * mde=1e-9): a question without a useful answer, not a server
         * failure, so 400 rather than the 500 it used to be. */
        ab_error_set(err, 400,
                     "sample size: more than 2^53 users per variant would be needed "
                     "(baseline %g, mde %g, alpha %g, power %g); no experiment can do that",
                     rq->baseline, rq->mde, rq->alpha, rq->power);
        return NULL;
    }
    if (st == AB_EINVAL) {
        /* Every parameter is valid on its own by now; what is left are the
         * two plans without an answer, which used to get the library's bare
         * "sample size: invalid argument". */
        if (target == rq->baseline)
            ab_error_set(err, 400, "mde: %g is too small to change a baseline of %g", rq->mde,
                         rq->baseline);
        else
            ab_error_set(err, 400,
                         "power: %g is below the chance of a significant result without any "
                         "effect at alpha %g; ask for more power",
                         rq->power, rq->alpha);
        return NULL;
    }
    if (st != AB_OK) {
        ab_error_set(err, 500, "sample size: %s", ab_strerror(st));
        return NULL;
    }
    alpha_each = (rq->correction == AB_CORRECT_NONE || k == 2) ? rq->alpha
                                                              : rq->alpha / (double)(k - 1);
    total = per * (double)k;
    if (rq->has_daily_users) {
        days = ceil(total / rq->daily_users);
        weeks = ceil(days / 7.0);
        if (!(days <= PLAN_MAX)) {
            ab_error_set(err, 400,
                         "daily_users: at %g users a day the plan would take more than "
                         "2^53 days",
                         rq->daily_users);
            return NULL;
        }
    }
    out = json_object();
    if (!out ||
        ab_jset(out, "per_variant", ab_jcount(per)) || ab_jset(out, "total", ab_jcount(total)) ||
        ab_jset(out, "target", json_real(target)) ||
        ab_jset(out, "baseline", json_real(rq->baseline)) ||
        ab_jset(out, "mde", json_real(rq->mde)) || ab_jset(out, "alpha", json_real(rq->alpha)) ||
        ab_jset(out, "alpha_per_comparison", json_real(alpha_each)) ||
        ab_jset(out, "power", json_real(rq->power)) ||
        ab_jset(out, "variants", json_integer((json_int_t)k)) ||
        ab_jset(out, "correction", json_string(ab_correction_name(rq->correction))) ||
        (rq->has_daily_users &&
         (ab_jset(out, "daily_users", json_real(rq->daily_users)) ||
          ab_jset(out, "days", ab_jcount(days)) || ab_jset(out, "weeks", ab_jcount(weeks))))) {
        json_decref(out);
        ab_error_set(err, 500, "out of memory");
        return NULL;
    }
    return out;
}
