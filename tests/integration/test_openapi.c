/* test_openapi.c — service/assets/openapi.json against a real abstatd: the
 * document is OpenAPI 3.1 with every $ref resolved and every object schema
 * closed, and every route, status, header and field the daemon answers (and
 * every request the test sends) matches it, so an undocumented field fails. */
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/version.h"
#include "daemon.h"
#include "test.h"

#define DOC_FILE "service/assets/openapi.json"

static json_t *DOC;     /* the document, as the file holds it */
static json_t *COVER;   /* "METHOD TEMPLATE" -> {"STATUS": times} */
static td_daemon D;     /* open, small limits */
static td_daemon T;     /* with a tokens file */
static int assign_pending; /* the assign handler is still the stub */

#define ADMIN "admin-token-0123456789abcdef"
#define READ "read-token-0123456789abcdef"
#define INGEST "ingest-token-0123456789abcdef"

/* ---- the document -------------------------------------------------------- */

/* A local reference "#/a/b~1c" into DOC, or NULL. */
static const json_t *deref(const char *ref)
{
    char buf[512], *save = NULL;
    const json_t *cur = DOC;
    if (!ref || strncmp(ref, "#/", 2) || strlen(ref) >= sizeof buf) return NULL;
    snprintf(buf, sizeof buf, "%s", ref + 2);
    for (char *tok = strtok_r(buf, "/", &save); tok && cur; tok = strtok_r(NULL, "/", &save)) {
        char key[512];
        size_t n = 0;
        for (const char *p = tok; *p && n + 1 < sizeof key; p++) {
            if (p[0] == '~' && p[1] == '1') key[n++] = '/', p++;
            else if (p[0] == '~' && p[1] == '0') key[n++] = '~', p++;
            else key[n++] = *p;
        }
        key[n] = '\0';
        cur = json_object_get(cur, key);
    }
    return cur;
}

/* An object that may be a {"$ref": ...}: what it stands for. */
static const json_t *resolved(const json_t *o)
{
    for (int i = 0; i < 8 && json_is_object(o) && json_object_get(o, "$ref"); i++)
        o = deref(json_string_value(json_object_get(o, "$ref")));
    return o;
}

/* Whether v is the string s (NULL-safe: a missing key is no match). */
static int is_str(const json_t *v, const char *s)
{
    return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* ---- a JSON Schema (2020-12 subset) validator ------------------------------
 * Only the keywords the document may use (walk_schema refuses others), so
 * a constraint is never silently ignored. */

typedef struct {
    int quiet;  /* inside anyOf/oneOf/not: count, do not print */
    int errors;
    const char *what;
} vstate;

static void verr(vstate *s, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verr(vstate *s, const char *where, const char *fmt, ...)
{
    va_list ap;
    s->errors++;
    if (s->quiet) return;
    fprintf(stderr, "  schema: %s: %s: ", s->what ? s->what : "", where);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int type_is(const json_t *v, const char *t)
{
    if (!strcmp(t, "null")) return json_is_null(v);
    if (!strcmp(t, "boolean")) return json_is_boolean(v);
    if (!strcmp(t, "object")) return json_is_object(v);
    if (!strcmp(t, "array")) return json_is_array(v);
    if (!strcmp(t, "string")) return json_is_string(v);
    if (!strcmp(t, "number")) return json_is_number(v);
    if (!strcmp(t, "integer")) {
        double d = json_number_value(v);
        return json_is_integer(v) || (json_is_real(v) && isfinite(d) && floor(d) == d);
    }
    return 0;
}

/* JSON equality with numbers compared by value (1 equals 1.0). */
static int same_value(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    return json_equal(a, b);
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80) n++;
    return n;
}

static int matches(const char *pattern, const char *s)
{
    regex_t re;
    int ok;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) return -1;
    ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

#define DATE_TIME                                                                           \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"

static void validate(vstate *s, const json_t *schema, const json_t *v, const char *where,
                     int depth);

/* How many of the schemas in list v matches, each tried quietly. */
static size_t count_matching(vstate *s, const json_t *list, const json_t *v, const char *where,
                             int depth)
{
    size_t n = 0, i;
    const json_t *sub;
    json_array_foreach(list, i, sub) {
        vstate q = {1, 0, s->what};
        validate(&q, sub, v, where, depth + 1);
        if (!q.errors) n++;
    }
    return n;
}

/* Prints why each alternative failed, for the one report of a mismatch. */
static void explain(vstate *s, const char *kw, const json_t *list, const json_t *v,
                    const char *where, int depth)
{
    size_t i;
    const json_t *sub;
    if (s->quiet) return;
    json_array_foreach(list, i, sub) {
        char w[600];
        vstate loud = {0, 0, s->what};
        snprintf(w, sizeof w, "%s (%s[%zu])", where, kw, i);
        validate(&loud, sub, v, w, depth + 1);
    }
}

static void validate_object(vstate *s, const json_t *schema, const json_t *v, const char *where,
                            int depth)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    const json_t *names = json_object_get(schema, "propertyNames");
    const json_t *req = json_object_get(schema, "required"), *val;
    const char *key;
    size_t i;
    char w[600];

    json_object_foreach((json_t *)v, key, val) {
        const json_t *sub = props ? json_object_get(props, key) : NULL;
        snprintf(w, sizeof w, "%s.%s", where, key);
        if (names) {
            json_t *k = json_string(key);
            validate(s, names, k, w, depth + 1);
            json_decref(k);
        }
        if (sub) validate(s, sub, val, w, depth + 1);
        else if (json_is_false(extra)) verr(s, where, "undocumented field \"%s\"", key);
        else if (json_is_object(extra)) validate(s, extra, val, w, depth + 1);
    }
    json_array_foreach(req, i, val)
        if (!json_object_get(v, json_string_value(val)))
            verr(s, where, "required field \"%s\" is missing", json_string_value(val));
}

static void validate_array(vstate *s, const json_t *schema, const json_t *v, const char *where,
                           int depth)
{
    const json_t *items = json_object_get(schema, "items"), *min, *max, *el;
    size_t i, n = json_array_size(v);
    char w[600];
    if ((min = json_object_get(schema, "minItems")) && n < (size_t)json_integer_value(min))
        verr(s, where, "%zu items, fewer than %lld", n, (long long)json_integer_value(min));
    if ((max = json_object_get(schema, "maxItems")) && n > (size_t)json_integer_value(max))
        verr(s, where, "%zu items, more than %lld", n, (long long)json_integer_value(max));
    if (json_is_true(json_object_get(schema, "uniqueItems")))
        for (i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (same_value(json_array_get(v, i), json_array_get(v, j)))
                    verr(s, where, "items %zu and %zu are equal", i, j);
    if (items)
        json_array_foreach(v, i, el) {
            snprintf(w, sizeof w, "%s[%zu]", where, i);
            validate(s, items, el, w, depth + 1);
        }
}

static void validate_scalar(vstate *s, const json_t *schema, const json_t *v, const char *where)
{
    const json_t *k;
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if ((k = json_object_get(schema, "minimum")) && d < json_number_value(k))
            verr(s, where, "%.17g is below the minimum %.17g", d, json_number_value(k));
        if ((k = json_object_get(schema, "maximum")) && d > json_number_value(k))
            verr(s, where, "%.17g is above the maximum %.17g", d, json_number_value(k));
        if ((k = json_object_get(schema, "exclusiveMinimum")) && !(d > json_number_value(k)))
            verr(s, where, "%.17g is not above %.17g", d, json_number_value(k));
        if ((k = json_object_get(schema, "exclusiveMaximum")) && !(d < json_number_value(k)))
            verr(s, where, "%.17g is not below %.17g", d, json_number_value(k));
    }
    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        size_t n = utf8_chars(str);
        if ((k = json_object_get(schema, "minLength")) && n < (size_t)json_integer_value(k))
            verr(s, where, "\"%.60s\" is shorter than %lld", str, (long long)json_integer_value(k));
        if ((k = json_object_get(schema, "maxLength")) && n > (size_t)json_integer_value(k))
            verr(s, where, "string of %zu characters, longer than %lld", n,
                 (long long)json_integer_value(k));
        if ((k = json_object_get(schema, "pattern")) && matches(json_string_value(k), str) != 1)
            verr(s, where, "\"%.60s\" does not match %s", str, json_string_value(k));
        if ((k = json_object_get(schema, "format")) && is_str(k, "date-time") &&
            matches(DATE_TIME, str) != 1)
            verr(s, where, "\"%.60s\" is not an RFC 3339 date-time", str);
    }
}

static void validate(vstate *s, const json_t *schema, const json_t *v, const char *where,
                     int depth)
{
    const json_t *k, *t;
    size_t i;

    if (depth > 60) {
        verr(s, where, "schema nests too deep");
        return;
    }
    if (json_is_true(schema)) return;
    if (!json_is_object(schema)) {
        verr(s, where, "schema is not an object");
        return;
    }
    if ((k = json_object_get(schema, "$ref"))) {
        const json_t *target = deref(json_string_value(k));
        if (!target) verr(s, where, "unresolved $ref %s", json_string_value(k));
        else validate(s, target, v, where, depth + 1);
    }
    if ((k = json_object_get(schema, "type"))) {
        int ok = 0;
        if (json_is_string(k)) ok = type_is(v, json_string_value(k));
        json_array_foreach(k, i, t) ok |= type_is(v, json_string_value(t));
        if (!ok) {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            char *want = json_dumps(k, JSON_ENCODE_ANY | JSON_COMPACT);
            verr(s, where, "%.80s is not of type %s", text ? text : "?", want ? want : "?");
            free(text);
            free(want);
            return; /* the rest would only repeat it */
        }
    }
    if ((k = json_object_get(schema, "const")) && !same_value(k, v))
        verr(s, where, "is not the documented constant");
    if ((k = json_object_get(schema, "enum"))) {
        int ok = 0;
        json_array_foreach(k, i, t) ok |= same_value(t, v);
        if (!ok) {
            char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            verr(s, where, "%.80s is not in the enum", text ? text : "?");
            free(text);
        }
    }
    if (json_is_object(v)) validate_object(s, schema, v, where, depth);
    if (json_is_array(v)) validate_array(s, schema, v, where, depth);
    validate_scalar(s, schema, v, where);
    if ((k = json_object_get(schema, "allOf")))
        json_array_foreach(k, i, t) validate(s, t, v, where, depth + 1);
    if ((k = json_object_get(schema, "anyOf")) && !count_matching(s, k, v, where, depth)) {
        verr(s, where, "matches none of anyOf");
        explain(s, "anyOf", k, v, where, depth);
    }
    if ((k = json_object_get(schema, "oneOf"))) {
        size_t n = count_matching(s, k, v, where, depth);
        if (n != 1) {
            verr(s, where, "matches %zu of oneOf, not exactly one", n);
            if (!n) explain(s, "oneOf", k, v, where, depth);
        }
    }
    if ((k = json_object_get(schema, "not"))) {
        vstate q = {1, 0, s->what};
        validate(&q, k, v, where, depth + 1);
        if (!q.errors) verr(s, where, "matches what \"not\" excludes");
    }
}

/* Errors of v against schema, printed under label. */
static int check_against(const json_t *schema, const json_t *v, const char *label)
{
    vstate s = {0, 0, label};
    validate(&s, schema, v, "$", 0);
    return s.errors;
}

/* ---- (a) the document on its own ----------------------------------------- */

static const char *const keywords[] = {
    "$ref", "type", "enum", "const", "properties", "required", "additionalProperties",
    "propertyNames", "items", "minItems", "maxItems", "uniqueItems", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
    "allOf", "anyOf", "oneOf", "not",
    /* annotations */
    "description", "title", "default", "examples", "discriminator", "deprecated", "readOnly",
    "writeOnly", "$comment", NULL};

static int bad_schemas;

static void schema_problem(const char *where, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void schema_problem(const char *where, const char *fmt, ...)
{
    va_list ap;
    char msg[400];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bad_schemas++;
    test_fail(__FILE__, __LINE__, "%s: %s", where, msg);
}

static int has_type(const json_t *schema, const char *t)
{
    const json_t *k = json_object_get(schema, "type"), *e;
    size_t i;
    if (json_is_string(k)) return is_str(k, t);
    json_array_foreach(k, i, e) if (is_str(e, t)) return 1;
    return 0;
}

/* Every schema: known keywords only, every object closed (or a map by
 * intent), required fields declared, regexes that compile, and defaults and
 * examples that are valid by the schema itself. */
static void walk_schema(const json_t *schema, const char *where)
{
    const char *key;
    const json_t *val, *e;
    size_t i;
    char w[600];

    if (json_is_boolean(schema)) return;
    if (!json_is_object(schema)) {
        schema_problem(where, "a schema must be an object");
        return;
    }
    json_object_foreach((json_t *)schema, key, val) {
        size_t k;
        for (k = 0; keywords[k] && strcmp(keywords[k], key); k++) continue;
        if (!keywords[k] && strncmp(key, "x-", 2))
            schema_problem(where, "keyword \"%s\" is not one the test's validator knows", key);
    }
    if ((val = json_object_get(schema, "format")) && !is_str(val, "date-time"))
        schema_problem(where, "format \"%s\" is not checked", json_string_value(val));
    if ((val = json_object_get(schema, "pattern")) && matches(json_string_value(val), "") < 0)
        schema_problem(where, "pattern %s does not compile", json_string_value(val));
    if ((has_type(schema, "object") || json_object_get(schema, "properties")) &&
        !json_object_get(schema, "additionalProperties"))
        schema_problem(where, "an object schema must say additionalProperties");
    if (json_is_false(json_object_get(schema, "additionalProperties")))
        json_array_foreach(json_object_get(schema, "required"), i, e)
            if (!json_object_get(json_object_get(schema, "properties"), json_string_value(e)))
                schema_problem(where, "required \"%s\" is not among its properties",
                               json_string_value(e));
    json_object_foreach(json_object_get(schema, "properties"), key, val) {
        snprintf(w, sizeof w, "%s.%s", where, key);
        walk_schema(val, w);
    }
    if (json_is_object(val = json_object_get(schema, "additionalProperties"))) {
        snprintf(w, sizeof w, "%s.*", where);
        walk_schema(val, w);
    }
    if ((val = json_object_get(schema, "items"))) {
        snprintf(w, sizeof w, "%s[]", where);
        walk_schema(val, w);
    }
    if ((val = json_object_get(schema, "propertyNames"))) walk_schema(val, where);
    if ((val = json_object_get(schema, "not"))) walk_schema(val, where);
    static const char *const lists[] = {"allOf", "anyOf", "oneOf", NULL};
    for (int l = 0; lists[l]; l++)
        json_array_foreach(json_object_get(schema, lists[l]), i, e) {
            snprintf(w, sizeof w, "%s/%s[%zu]", where, lists[l], i);
            walk_schema(e, w);
        }
    if ((val = json_object_get(schema, "$ref")) && !deref(json_string_value(val)))
        schema_problem(where, "unresolved $ref %s", json_string_value(val));
    if ((val = json_object_get(schema, "default"))) {
        snprintf(w, sizeof w, "default of %s", where);
        if (check_against(schema, val, w)) schema_problem(where, "its default is not valid");
    }
    json_array_foreach(json_object_get(schema, "examples"), i, e) {
        snprintf(w, sizeof w, "example of %s", where);
        if (check_against(schema, e, w)) schema_problem(where, "example %zu is not valid", i);
    }
}

/* Every "$ref" anywhere resolves; every "schema" outside components.schemas
 * is walked. */
static void walk_doc(const json_t *node, const char *where, size_t *refs)
{
    const char *key;
    const json_t *val;
    size_t i;
    char w[600];
    if (json_is_array(node))
        json_array_foreach(node, i, val) {
            snprintf(w, sizeof w, "%s[%zu]", where, i);
            walk_doc(val, w, refs);
        }
    if (!json_is_object(node)) return;
    json_object_foreach((json_t *)node, key, val) {
        snprintf(w, sizeof w, "%s/%s", where, key);
        if (!strcmp(key, "$ref")) {
            (*refs)++;
            if (!json_is_string(val) || !deref(json_string_value(val)))
                schema_problem(where, "unresolved $ref %s", json_string_value(val));
        } else if (!strcmp(key, "schema")) {
            walk_schema(val, w);
            walk_doc(val, w, refs);
        } else {
            walk_doc(val, w, refs);
        }
    }
}

static const char *const methods[] = {"get", "head", "put", "post", "delete", "options",
                                      "patch", "trace", NULL};

/* The parameters of an operation and of its path item, resolved. */
static json_t *params_of(const json_t *item, const json_t *op)
{
    json_t *all = json_array();
    const json_t *p;
    size_t i;
    json_array_foreach(json_object_get(op, "parameters"), i, p)
        json_array_append(all, (json_t *)resolved(p));
    json_array_foreach(json_object_get(item, "parameters"), i, p)
        json_array_append(all, (json_t *)resolved(p));
    return all;
}

static void check_operation(const char *tmpl, const json_t *item, const char *method,
                            const json_t *op, json_t *ids)
{
    char where[300];
    const char *id = json_string_value(json_object_get(op, "operationId")), *code, *p;
    const json_t *resp, *sec, *req;
    json_t *params = params_of(item, op);
    size_t i;

    snprintf(where, sizeof where, "%s %s", method, tmpl);
    if (!id) schema_problem(where, "no operationId");
    else if (json_object_get(ids, id)) schema_problem(where, "operationId %s used twice", id);
    else json_object_set_new(ids, id, json_true());
    if (!json_is_string(json_object_get(op, "summary"))) schema_problem(where, "no summary");
    if (!json_object_size(json_object_get(op, "responses"))) schema_problem(where, "no responses");
    json_object_foreach(json_object_get(op, "responses"), code, resp) {
        if (!((strlen(code) == 3 && isdigit((unsigned char)code[0]) &&
               isdigit((unsigned char)code[1]) && isdigit((unsigned char)code[2])) ||
              !strcmp(code, "5XX")))
            schema_problem(where, "response key %s is not a status", code);
        if (!json_is_string(json_object_get(resolved(resp), "description")))
            schema_problem(where, "response %s has no description", code);
    }
    /* Every {name} of the template is a required path parameter. */
    for (p = strchr(tmpl, '{'); p; p = strchr(p + 1, '{')) {
        size_t n = strcspn(p + 1, "}");
        const json_t *q;
        int found = 0;
        json_array_foreach(params, i, q)
            found |= is_str(json_object_get(q, "in"), "path") &&
                     strlen(json_string_value(json_object_get(q, "name"))) == n &&
                     !strncmp(json_string_value(json_object_get(q, "name")), p + 1, n) &&
                     json_is_true(json_object_get(q, "required"));
        if (!found) schema_problem(where, "path parameter %.*s is not declared", (int)n, p + 1);
    }
    /* Security: known schemes, and roles that are abstat's scopes. */
    sec = json_object_get(op, "security");
    if (!json_is_array(sec)) schema_problem(where, "no security requirement (say [] when open)");
    json_array_foreach(sec, i, req) {
        const char *scheme;
        const json_t *roles, *r;
        size_t j;
        json_object_foreach((json_t *)req, scheme, roles) {
            if (!deref("#/components/securitySchemes") ||
                !json_object_get(deref("#/components/securitySchemes"), scheme))
                schema_problem(where, "unknown security scheme %s", scheme);
            json_array_foreach(roles, j, r)
                if (!is_str(r, "ingest") && !is_str(r, "read") &&
                    !is_str(r, "admin"))
                    schema_problem(where, "role %s is not a scope", json_string_value(r));
        }
    }
    json_decref(params);
}

static void test_document(void)
{
    const json_t *paths, *item, *info;
    const char *tmpl;
    json_t *ids = json_object();
    json_error_t jerr;
    size_t refs = 0, ops = 0;

    DOC = json_load_file(DOC_FILE, JSON_REJECT_DUPLICATES, &jerr);
    if (!DOC) {
        test_fail(__FILE__, __LINE__, "%s: line %d: %s", DOC_FILE, jerr.line, jerr.text);
        exit(TEST_DONE("test_openapi"));
    }
    CHECK(matches("^3\\.1\\.[0-9]+$", json_string_value(json_object_get(DOC, "openapi"))) == 1);
    info = json_object_get(DOC, "info");
    CHECK(json_is_string(json_object_get(info, "title")));
    CHECK(json_string_length(json_object_get(info, "description")) > 200);
    /* The version the daemon reports is the one the document describes. */
    CHECK(json_is_string(json_object_get(info, "version")) &&
          is_str(json_object_get(info, "version"), AB_VERSION));
    CHECK(json_array_size(json_object_get(DOC, "servers")) >= 1);
    CHECK(json_object_get(deref("#/components/securitySchemes"), "bearerAuth") != NULL);

    bad_schemas = 0;
    walk_doc(DOC, "#", &refs);
    {
        const char *name;
        const json_t *s;
        char w[300];
        json_object_foreach((json_t *)deref("#/components/schemas"), name, s) {
            snprintf(w, sizeof w, "#/components/schemas/%s", name);
            walk_schema(s, w);
        }
    }
    CHECK(refs > 100);
    CHECK_INT(bad_schemas, 0);

    paths = json_object_get(DOC, "paths");
    json_object_foreach((json_t *)paths, tmpl, item) {
        const char *key;
        const json_t *op;
        json_object_foreach((json_t *)item, key, op) {
            int known = !strcmp(key, "parameters") || !strcmp(key, "summary") ||
                        !strcmp(key, "description");
            for (int m = 0; methods[m]; m++) known |= !strcmp(key, methods[m]);
            if (!known) schema_problem(tmpl, "unknown key %s in a path item", key);
        }
        for (int m = 0; methods[m]; m++)
            if ((op = json_object_get(item, methods[m]))) {
                check_operation(tmpl, item, methods[m], op, ids);
                ops++;
            }
        /* Every GET answers HEAD: the document says so, status by status
         * (HEAD may lack one that needs a body's side effect). */
        if ((op = json_object_get(item, "get"))) {
            const json_t *head = json_object_get(item, "head");
            const char *code;
            const json_t *r;
            if (!head) schema_problem(tmpl, "GET without HEAD");
            if (head && !json_object_get(json_object_get(head, "responses"), "200"))
                schema_problem(tmpl, "HEAD without 200");
            json_object_foreach(json_object_get(head, "responses"), code, r)
                if (!json_object_get(json_object_get(op, "responses"), code))
                    schema_problem(tmpl, "HEAD has status %s that GET lacks", code);
            const json_t *gp = json_object_get(op, "parameters");
            const json_t *hp = json_object_get(head, "parameters");
            if (head && (!gp != !hp || (gp && !json_equal(gp, hp))))
                schema_problem(tmpl, "HEAD and GET take different parameters");
        }
    }
    CHECK(ops >= 25);
    CHECK_INT(bad_schemas, 0);
    json_decref(ids);
}

/* ---- (b) against the daemon ----------------------------------------------- */

static const json_t *find_op(const char *tmpl, const char *method, const json_t **item)
{
    char low[16];
    size_t i;
    for (i = 0; method[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)method[i]);
    low[i] = '\0';
    *item = json_object_get(json_object_get(DOC, "paths"), tmpl);
    return json_object_get(*item, low);
}

static void cover(const char *method, const char *tmpl, int status)
{
    char key[300], code[8];
    json_t *m;
    snprintf(key, sizeof key, "%s %s", method, tmpl);
    snprintf(code, sizeof code, "%d", status);
    if (!(m = json_object_get(COVER, key))) {
        m = json_object();
        json_object_set_new(COVER, key, m);
    }
    json_object_set_new(m, code,
                        json_integer(json_integer_value(json_object_get(m, code)) + 1));
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void url_decode(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (s[i] == '+') out[o++] = ' ';
        else if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else out[o++] = s[i];
    }
    out[o] = '\0';
}

/* A parameter's value as the schema would see it: a number where the
 * schema takes one and the text is one, else the string. */
static json_t *param_value(const json_t *schema, const char *text)
{
    const json_t *s = resolved(schema);
    char *end;
    double d;
    if ((has_type(s, "integer") || has_type(s, "number")) && *text) {
        d = strtod(text, &end);
        if (!*end)
            return floor(d) == d && fabs(d) < 9e15 ? json_integer((json_int_t)d) : json_real(d);
    }
    return json_string(text);
}

static int op_takes_query_token(const json_t *op)
{
    const json_t *req;
    size_t i;
    json_array_foreach(json_object_get(op, "security"), i, req) {
        const char *name = json_object_iter_key(json_object_iter((json_t *)req));
        const json_t *scheme = json_object_get(deref("#/components/securitySchemes"), name);
        if (is_str(json_object_get(scheme, "in"), "query") &&
            is_str(json_object_get(scheme, "name"), "token"))
            return 1;
    }
    return 0;
}

/* Requests meant to be refused are checked quietly: their mismatches are
 * the point, not news. */
static int quiet_requests;

static void req_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void req_note(const char *fmt, ...)
{
    va_list ap;
    if (quiet_requests) return;
    fputs("  request: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static int check_request(const json_t *schema, const json_t *v, const char *label)
{
    vstate s = {quiet_requests, 0, label};
    validate(&s, schema, v, "$", 0);
    return s.errors;
}

/* Errors of the request (path, query, body) against the operation. */
static int request_errors(const json_t *item, const json_t *op, const char *tmpl,
                          const char *path, const char *body, const char *headers,
                          const char *label)
{
    json_t *params = params_of(item, op);
    const char *q = strchr(path, '?'), *t = tmpl, *p = path;
    const json_t *prm;
    size_t plen = q ? (size_t)(q - path) : strlen(path), i;
    int errors = 0;
    json_t *seen = json_object();

    /* Path: segment by segment; {name} takes the segment's value. */
    while (*t && p < path + plen) {
        if (*t == '{') {
            size_t n = strcspn(t + 1, "}"), vlen = strcspn(p, "/?");
            char name[64], value[300];
            snprintf(name, sizeof name, "%.*s", (int)n, t + 1);
            url_decode(p, vlen, value, sizeof value);
            json_array_foreach(params, i, prm)
                if (is_str(json_object_get(prm, "name"), name) &&
                    is_str(json_object_get(prm, "in"), "path")) {
                    json_t *v = json_string(value);
                    errors += check_request(json_object_get(prm, "schema"), v, label);
                    json_decref(v);
                }
            t += n + 2;
            p += vlen;
        } else if (*t++ != *p++) {
            break;
        }
    }
    if (*t || p != path + plen) {
        req_note("%s does not match %s\n", path, tmpl);
        errors++;
    }
    /* Query: documented parameters with valid values, the required ones given. */
    for (const char *a = q ? q + 1 : NULL; a && *a;) {
        size_t len = strcspn(a, "&"), klen = strcspn(a, "=");
        char key[128], value[600];
        const json_t *def = NULL;
        if (klen > len) klen = len;
        url_decode(a, klen, key, sizeof key);
        url_decode(a + klen + (klen < len), len - klen - (klen < len), value, sizeof value);
        json_array_foreach(params, i, prm)
            if (is_str(json_object_get(prm, "name"), key) &&
                is_str(json_object_get(prm, "in"), "query"))
                def = prm;
        if (def) {
            json_t *v = param_value(json_object_get(def, "schema"), value);
            errors += check_request(json_object_get(def, "schema"), v, label);
            json_decref(v);
            json_object_set_new(seen, key, json_true());
        } else if (!(strcmp(key, "token") == 0 && op_takes_query_token(op))) {
            req_note("%s: undocumented query parameter \"%s\"\n", label, key);
            errors++;
        }
        a += len;
        if (*a == '&') a++;
    }
    json_array_foreach(params, i, prm)
        if (is_str(json_object_get(prm, "in"), "query") &&
            json_is_true(json_object_get(prm, "required")) &&
            !json_object_get(seen, json_string_value(json_object_get(prm, "name")))) {
            req_note("%s: required parameter \"%s\" missing\n", label,
                    json_string_value(json_object_get(prm, "name")));
            errors++;
        }
    json_decref(seen);
    json_decref(params);

    /* Body: a documented media type, and valid JSON (NDJSON: each line). */
    {
        const json_t *rb = resolved(json_object_get(op, "requestBody"));
        const json_t *content = json_object_get(rb, "content"), *media, *schema;
        const char *ct = headers ? strcasestr(headers, "Content-Type:") : NULL;
        char type[80] = "application/json";
        json_t *doc;
        if (ct) {
            ct += 13;
            while (*ct == ' ') ct++;
            snprintf(type, sizeof type, "%.*s", (int)strcspn(ct, ";\r\n "), ct);
        }
        if (!body || !*body) {
            if (json_is_true(json_object_get(rb, "required"))) {
                req_note("%s: the body is required\n", label);
                errors++;
            }
            return errors;
        }
        if (!rb) {
            req_note("%s: a body where the document takes none\n", label);
            return errors + 1;
        }
        if (!(media = json_object_get(content, type))) {
            req_note("%s: media type %s is not documented\n", label, type);
            return errors + 1;
        }
        /* Text media carry the JSON forms (sendBeacon) or NDJSON. */
        schema = json_object_get(json_object_get(content, "application/json"), "schema");
        if ((doc = json_loads(body, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL))) {
            errors += check_request(schema, doc, label);
            json_decref(doc);
        } else if (strcmp(type, "application/json")) {
            for (const char *line = body; *line;) {
                size_t n = strcspn(line, "\n");
                json_t *one = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
                if (n && !one) errors++;
                if (one) errors += check_request(schema, one, label);
                json_decref(one);
                line += n;
                if (*line) line++;
            }
        } else {
            req_note("%s: the body is not JSON\n", label);
            errors++;
        }
    }
    return errors;
}

/* Whether the raw response head has header name. */
static int has_header(const char *head, const char *name)
{
    char key[80];
    snprintf(key, sizeof key, "\r\n%s:", name);
    return strcasestr(head, key) != NULL;
}

/* The response against the operation's documented answer for its status. */
static void check_response(const json_t *op, const char *method, const td_response *r,
                           const char *label)
{
    const json_t *resps = json_object_get(op, "responses"), *resp, *content, *media;
    char code[8], type[80] = "";
    const char *ct, *name;
    const json_t *h;

    snprintf(code, sizeof code, "%d", r->status);
    resp = json_object_get(resps, code);
    if (!resp && r->status >= 500) resp = json_object_get(resps, "5XX");
    if (!resp) {
        test_fail(__FILE__, __LINE__, "%s: status %d is not documented", label, r->status);
        if (r->body) fprintf(stderr, "  body: %.300s\n", r->body);
        return;
    }
    resp = resolved(resp);
    json_object_foreach(json_object_get(resp, "headers"), name, h)
        if (json_is_true(json_object_get(resolved(h), "required")) && !has_header(r->headers, name))
            test_fail(__FILE__, __LINE__, "%s: header %s is missing", label, name);
    if (!strcmp(method, "HEAD")) {
        snprintf(test_context, sizeof test_context, "%s", label);
        CHECK(r->len == 0);
        /* The GET's length, where the GET has a body. */
        CHECK(r->status == 204 || r->status == 304 || has_header(r->headers, "Content-Length"));
        test_context[0] = '\0';
        return;
    }
    content = json_object_get(resp, "content");
    if (!content) {
        if (r->len) test_fail(__FILE__, __LINE__, "%s: a body where none is documented", label);
        else test_passed++;
        return;
    }
    if ((ct = strcasestr(r->headers, "\r\nContent-Type:"))) {
        ct += 15;
        while (*ct == ' ') ct++;
        snprintf(type, sizeof type, "%.*s", (int)strcspn(ct, ";\r\n "), ct);
    }
    if (!(media = json_object_get(content, type))) {
        test_fail(__FILE__, __LINE__, "%s: content type \"%s\" is not documented", label, type);
        return;
    }
    if (!strcmp(type, "application/json")) {
        if (!r->json) {
            test_fail(__FILE__, __LINE__, "%s: the body is not JSON", label);
            return;
        }
        snprintf(test_context, sizeof test_context, "%s", label);
        CHECK(check_against(json_object_get(media, "schema"), r->json, label) == 0);
        test_context[0] = '\0';
    } else {
        CHECK(r->len > 0);
    }
}

typedef enum {
    VALID,    /* the request must match the document */
    INVALID,  /* it must not: the document refuses what the daemon refuses */
    UNCHECKED /* the document cannot say (unknown experiment, a header, ...) */
} req_check;

/* One request on d (token: a bearer token or NULL) through the operation
 * `tmpl` + method, checked before and after; want < 0 takes any status. */
static td_response exchange(const td_daemon *d, const char *token, const char *method,
                            const char *tmpl, const char *path, const char *body,
                            const char *headers, int want, req_check rc)
{
    const json_t *item, *op = find_op(tmpl, method, &item);
    char label[400], head[1024];
    td_response r;

    snprintf(label, sizeof label, "%s %s", method, path);
    if (!op) test_fail(__FILE__, __LINE__, "%s: the document has no %s %s", label, method, tmpl);
    if (op && rc != UNCHECKED) {
        int errors;
        quiet_requests = rc == INVALID;
        errors = request_errors(item, op, tmpl, path, body, headers, label);
        quiet_requests = 0;
        if (rc == VALID && errors)
            test_fail(__FILE__, __LINE__, "%s: the request does not match the document", label);
        else if (rc == INVALID && !errors)
            test_fail(__FILE__, __LINE__, "%s: the document allows a request the daemon refuses",
                      label);
        else
            test_passed++;
    }
    snprintf(head, sizeof head, "%s%s%s%s", token ? "Authorization: Bearer " : "",
             token ? token : "", token ? "\r\n" : "", headers ? headers : "");
    r = td_request(d, method, path, body, body ? strlen(body) : 0, head);
    if (!r.status) test_fail(__FILE__, __LINE__, "%s: no answer", label);
    else if (want >= 0) {
        snprintf(test_context, sizeof test_context, "%s", label);
        CHECK_INT(r.status, want);
        test_context[0] = '\0';
        if (r.status != want && r.body) fprintf(stderr, "  body: %.400s\n", r.body);
    }
    if (op && r.status) {
        cover(method, tmpl, r.status);
        check_response(op, method, &r, label);
    }
    return r;
}

/* exchange(), and for a GET the same as HEAD, which must answer alike. */
static td_response api(const td_daemon *d, const char *token, const char *method,
                       const char *tmpl, const char *path, const char *body,
                       const char *headers, int want, req_check rc)
{
    td_response r = exchange(d, token, method, tmpl, path, body, headers, want, rc);
    /* HEAD refuses expose=1: that is checked on its own. */
    if (!strcmp(method, "GET") && !strstr(path, "expose=1") && !strstr(path, "expose=true")) {
        td_response h = exchange(d, token, "HEAD", tmpl, path, NULL, headers, r.status, UNCHECKED);
        td_free(&h);
    }
    return r;
}

static void call(const td_daemon *d, const char *method, const char *tmpl, const char *path,
                 const char *body, int want, req_check rc)
{
    td_response r = api(d, NULL, method, tmpl, path, body, NULL, want, rc);
    td_free(&r);
}

/* An answer outside any operation (404, 405, 501) against a component
 * response of the document. */
static void check_component(const td_response *r, const char *ref, const char *label)
{
    const json_t *resp = deref(ref), *schema;
    const char *name;
    const json_t *h;
    schema = json_object_get(json_object_get(json_object_get(resp, "content"), "application/json"),
                             "schema");
    CHECK(resp != NULL && schema != NULL);
    json_object_foreach(json_object_get(resp, "headers"), name, h)
        if (json_is_true(json_object_get(resolved(h), "required")) && !has_header(r->headers, name))
            test_fail(__FILE__, __LINE__, "%s: header %s is missing", label, name);
    snprintf(test_context, sizeof test_context, "%s", label);
    CHECK(r->json && check_against(schema, r->json, label) == 0);
    test_context[0] = '\0';
}

/* The documented defaults of `ref`'s properties are what the daemon put
 * in its answer for the fields left out. */
static void check_defaults(const char *ref, const json_t *answer, const char *label)
{
    const char *key;
    const json_t *sub;
    json_object_foreach(json_object_get(deref(ref), "properties"), key, sub) {
        const json_t *def = json_object_get(sub, "default"), *got = json_object_get(answer, key);
        if (!def || !got) continue;
        snprintf(test_context, sizeof test_context, "%s: default of %s", label, key);
        CHECK(same_value(def, got));
        test_context[0] = '\0';
    }
}

/* ---- events --------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rfc3339(long long ms, char *buf, size_t size)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

static json_t *BATCH;

static void flush_events(void)
{
    char *text;
    if (!json_array_size(BATCH)) return;
    text = json_dumps(BATCH, JSON_COMPACT);
    call(&D, "POST", "/v1/events", "/v1/events", text, 202, VALID);
    free(text);
    json_array_clear(BATCH);
}

static void add_event(json_t *ev)
{
    json_array_append_new(BATCH, ev);
    if (json_array_size(BATCH) >= 150) flush_events();
}

/* A time: RFC 3339 for even i, epoch milliseconds for odd (both forms). */
static json_t *ts_of(long long ms, int i)
{
    char buf[40];
    if (i % 2) return json_integer(ms);
    rfc3339(ms, buf, sizeof buf);
    return json_string(buf);
}

/* n users per variant over the last two days; pct[v] % of variant v's
 * users convert at phase (with a value when revenue), every fifth also at
 * consideration ("research"), every third answers NPS when nps; with
 * covariate, most exposures carry one (CUPED). */
static void simulate(const char *exp, const char *const *variants, size_t k, int n,
                     const int *pct, const char *phase, int revenue, int nps, int covariate)
{
    long long base = now_ms() - 2LL * 86400000;
    for (int i = 0; i < n * (int)k; i++) {
        size_t v = (size_t)i % k;
        char user[80];
        long long ts = base + (long long)i * 60000;
        snprintf(user, sizeof user, "%s-u%d", exp, i);
        json_t *x = json_pack("{s:s,s:s,s:s,s:s,s:o}", "experiment", exp, "type", "exposure",
                              "user", user, "variant", variants[v], "ts", ts_of(ts, i));
        if (covariate && i % 9)
            json_object_set_new(x, "covariate", json_real(20.0 + (i % 13) * 1.5));
        add_event(x);
        if ((i / (int)k) % 100 < pct[v]) {
            json_t *c = json_pack("{s:s,s:s,s:s,s:s,s:o}", "experiment", exp, "type",
                                  "conversion", "user", user, "phase", phase, "ts",
                                  ts_of(ts + 1000, i + 1));
            if (revenue)
                json_object_set_new(c, "value", json_real(10.0 + (i % 7) * 5.5 + (double)v));
            add_event(c);
        }
        if (i % 5 == 0)
            add_event(json_pack("{s:s,s:s,s:s,s:s}", "experiment", exp, "type", "conversion",
                                "user", user, "phase", "research"));
        if (nps && i % 3 == 0)
            add_event(json_pack("{s:s,s:s,s:s,s:i,s:s}", "experiment", exp, "type", "nps",
                                "user", user, "score", (i * 7 + (int)v * 3) % 11, "id", user));
    }
    flush_events();
}

/* ---- experiments ------------------------------------------------------------ */

static const char *const CTA[] = {"control", "buy-now"};
static const char *const PRICE[] = {"control", "premium"};
static const char *const SURVEY[] = {"control", "short", "long"};
static const char *const HERO[] = {"a/x", "a/y", "a/z", "b/x", "b/y", "b/z"};

/* The template of one experiment's paths. */
#define EXP "/v1/experiments/{id}"

static void test_put(void)
{
    td_response r;
    const json_t *e;
    size_t i;
    char body[70100];

    /* Every field of the configuration, an alias for the phase. */
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/checkout-cta",
            "{\"description\": \"Buy-now button\", \"phase\": \"checkout\", "
            "\"variants\": [\"control\", \"buy-now\"], \"weights\": [1, 1], "
            "\"metric\": \"conversion\", \"alpha\": 0.05, \"power\": 0.8, \"mde\": 0.1, "
            "\"baseline\": null, \"method\": \"sequential\", \"sequential_tuning\": 5000, "
            "\"correction\": \"holm\", \"min_days\": 0, \"min_users\": 20, \"guardrails\": null, "
            "\"webhook\": null, \"variance_reduction\": \"none\", \"restart_monitoring\": false}",
            NULL, 201, VALID);
    CHECK(r.json && is_str(json_object_get(r.json, "phase"), "decision"));
    td_free(&r);
    call(&D, "PUT", EXP, "/v1/experiments/checkout-cta",
         "{\"description\": \"Buy-now button\", \"variants\": [\"control\", \"buy-now\"], "
         "\"min_days\": 0, \"min_users\": 20}", 200, VALID);

    /* Only variants: every other field as the document's defaults say. */
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/defaults", "{\"variants\": [\"a\", \"b\"]}",
            NULL, 201, VALID);
    check_defaults("#/components/schemas/ExperimentConfig", r.json, "defaults");
    td_free(&r);

    call(&D, "PUT", EXP, "/v1/experiments/hero",
         "{\"factors\": [{\"name\": \"headline\", \"levels\": [\"a\", \"b\"]}, "
         "{\"name\": \"cta\", \"levels\": [\"x\", \"y\", \"z\"]}], \"min_days\": 0, \"min_users\": 5}",
         201, VALID);
    call(&D, "PUT", EXP, "/v1/experiments/price-test",
         "{\"variants\": [\"control\", \"premium\"], \"metric\": \"revenue\", \"min_days\": 0, "
         "\"variance_reduction\": \"cuped\", \"min_users\": 10, \"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"aankoop\", "
         "\"margin\": 0.02}, {\"metric\": \"nps\"}], "
         "\"revenue_cap\": {\"percentile\": 0.99, \"lower\": 0.01}}",
         201, VALID);
    call(&D, "PUT", EXP, "/v1/experiments/survey",
         "{\"variants\": [\"control\", \"short\", \"long\"], \"weights\": [2, 1, 1], "
         "\"metric\": \"nps\", \"phase\": \"ambassador\", \"method\": \"fixed\", "
         "\"correction\": \"bonferroni\", \"baseline\": 20, \"mde\": 0.5, \"min_days\": 0, "
         "\"min_users\": 5, \"guardrails\": [], "
         "\"webhook\": \"https://hooks.example/abstat?key=s3cret\"}",
         201, VALID);

    /* Every name the document lists for a phase, metric, method and
     * correction is one the daemon takes, and answers canonically. */
    {
        static const char *const enums[][2] = {{"PhaseInput", "phase"}, {"Metric", "metric"},
                                               {"Method", "method"}, {"Correction", "correction"}};
        for (size_t k = 0; k < sizeof enums / sizeof enums[0]; k++) {
            char ref[100];
            snprintf(ref, sizeof ref, "#/components/schemas/%s", enums[k][0]);
            json_array_foreach(json_object_get(deref(ref), "enum"), i, e) {
                json_t *cfg = json_pack("{s:[ss],s:O}", "variants", "a", "b", enums[k][1], e);
                char *text = json_dumps(cfg, JSON_COMPACT);
                r = api(&D, NULL, "PUT", EXP, "/v1/experiments/names", text, NULL, i || k ? 200 : 201,
                        VALID);
                if (k) CHECK(r.json && json_equal(json_object_get(r.json, enums[k][1]), e));
                free(text);
                json_decref(cfg);
                td_free(&r);
            }
        }
    }
    call(&D, "DELETE", EXP, "/v1/experiments/names", NULL, 200, VALID);

    /* Refused bodies: the document refuses them too where it can say so. */
    static const struct {
        const char *body;
        req_check rc;
    } bad[] = {
        {"{", INVALID},
        {"{}", INVALID},
        {"{\"variants\": [\"a\"]}", INVALID},
        {"{\"variants\": [\"a\", \"a\"]}", INVALID},
        {"{\"variants\": [\"a/b\", \"c\"]}", UNCHECKED},
        {"{\"variants\": [\"a\", \"b\"], \"alpha\": 2}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"colour\": 1}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"phase\": \"buy\"}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"metric\": \"clicks\"}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"mde\": 0}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"power\": 1}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1, 0]}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"weights\": [1, 2, 3]}", UNCHECKED},
        {"{\"variants\": [\"a\", \"b\"], \"webhook\": \"ftp://example.com/\"}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"speed\"}]}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"nps\", \"margin\": 1}]}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"guardrails\": [{\"metric\": \"conversion\"}]}", UNCHECKED},
        {"{\"variants\": [\"a\", \"b\"], \"min_days\": -1}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"min_users\": 1.5}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"sequential_tuning\": 0}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"restart_monitoring\": \"yes\"}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"id\": \"other\"}", UNCHECKED},
        {"{\"variants\": [\"a\", \"b\"], \"baseline\": 2}", UNCHECKED},
        {"{\"factors\": [{\"name\": \"f\", \"levels\": [\"only\"]}]}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"percentile\": 0}}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"percentile\": 0.9, \"max\": 5}}",
         INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"lower\": 0.1}}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"revenue_cap\": 0.99}", INVALID},
        {"{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"max\": 5, \"min\": 6}}", UNCHECKED},
        {"{\"variants\": [\"a\", \"b\"], \"revenue_cap\": {\"percentile\": 0.5, \"lower\": 0.6}}",
         UNCHECKED},
    };
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        call(&D, "PUT", EXP, "/v1/experiments/refused", bad[i].body, 400, bad[i].rc);
    call(&D, "PUT", EXP, "/v1/experiments/Bad_ID", "{\"variants\": [\"a\", \"b\"]}", 400, INVALID);
    call(&D, "GET", EXP, "/v1/experiments/refused", NULL, 404, VALID);

    /* Over --max-body: refused at its head. */
    snprintf(body, sizeof body, "{\"variants\": [\"a\", \"b\"], \"description\": \"%070000d\"}", 0);
    call(&D, "PUT", EXP, "/v1/experiments/big", body, 413, UNCHECKED);
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/zipped", "{\"variants\": [\"a\", \"b\"]}",
            "Content-Encoding: gzip\r\n", 415, UNCHECKED);
    td_free(&r);
}

static void test_events(void)
{
    static const int cta_pct[] = {10, 30}, price_pct[] = {20, 18}, survey_pct[] = {5, 5, 5},
                     hero_pct[] = {10, 12, 14, 16, 18, 30};
    char buf[40], body[2048], big[70000];
    td_response r;
    size_t n;

    BATCH = json_array();
    simulate("checkout-cta", CTA, 2, 150, cta_pct, "decision", 1, 0, 0);
    simulate("price-test", PRICE, 2, 120, price_pct, "koop", 1, 1, 1);
    simulate("survey", SURVEY, 3, 60, survey_pct, "purchase", 0, 1, 0);
    simulate("hero", HERO, 6, 40, hero_pct, "beslissing", 0, 0, 0);

    /* One object with every field; sent again it is a duplicate. */
    rfc3339(now_ms() - 3600000, buf, sizeof buf);
    snprintf(body, sizeof body,
             "{\"experiment\": \"checkout-cta\", \"variant\": \"buy-now\", \"user\": \"u-1842\", "
             "\"type\": \"exposure\", \"phase\": \"decision\", \"id\": \"evt-77f1\", \"ts\": \"%s\"}",
             buf);
    call(&D, "POST", "/v1/events", "/v1/events", body, 202, VALID);
    r = api(&D, NULL, "POST", "/v1/events", "/v1/events", body, NULL, 202, VALID);
    CHECK_INT(json_integer_value(json_object_get(r.json, "duplicates")), 1);
    td_free(&r);
    /* null is "not given" for every optional field. */
    call(&D, "POST", "/v1/events", "/v1/events",
         "{\"experiment\": \"checkout-cta\", \"user\": \"u-1842\", \"type\": \"conversion\", "
         "\"variant\": null, \"phase\": null, \"value\": null, \"id\": null, \"ts\": null}",
         202, VALID);
    /* NDJSON, as sendBeacon sends it, and as application/x-ndjson. */
    {
        static const char nd[] =
            "{\"experiment\":\"checkout-cta\",\"variant\":\"control\",\"user\":\"u-7\",\"type\":\"exposure\"}\n"
            "{\"experiment\":\"checkout-cta\",\"user\":\"u-7\",\"type\":\"conversion\",\"value\":12.5}\n";
        r = api(&D, NULL, "POST", "/v1/events", "/v1/events", nd, "Content-Type: text/plain\r\n",
                202, VALID);
        CHECK_INT(json_integer_value(json_object_get(r.json, "accepted")), 2);
        td_free(&r);
        r = api(&D, NULL, "POST", "/v1/events", "/v1/events",
                "{\"experiment\":\"price-test\",\"user\":\"u-9\",\"type\":\"nps\",\"score\":10}\n",
                "Content-Type: application/x-ndjson\r\n", 202, VALID);
        td_free(&r);
    }
    /* A browser on the allowed origin; one on another may be refused. */
    r = api(&D, NULL, "OPTIONS", "/v1/events", "/v1/events", NULL,
            "Origin: https://shop.example\r\nAccess-Control-Request-Method: POST\r\n", 204, VALID);
    CHECK(has_header(r.headers, "Access-Control-Allow-Origin"));
    td_free(&r);
    r = api(&D, NULL, "POST", "/v1/events", "/v1/events",
            "{\"experiment\":\"hero\",\"variant\":\"b/z\",\"user\":\"web-1\",\"type\":\"exposure\"}",
            "Origin: https://shop.example\r\nContent-Type: text/plain\r\n", 202, VALID);
    td_free(&r);
    r = api(&D, NULL, "POST", "/v1/events", "/v1/events",
            "{\"experiment\":\"hero\",\"variant\":\"b/z\",\"user\":\"web-2\",\"type\":\"exposure\"}",
            "Origin: https://evil.example\r\nContent-Type: text/plain\r\n", 403, VALID);
    td_free(&r);

    static const struct {
        const char *body;
        req_check rc;
    } bad[] = {
        {"", INVALID},
        {"[]", INVALID},
        {"nonsense", INVALID},
        {"{\"experiment\":\"hero\",\"variant\":\"a/x\",\"user\":\"b1\",\"type\":\"click\"}", INVALID},
        {"{\"experiment\":\"hero\",\"variant\":\"a/x\",\"type\":\"exposure\"}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"exposure\"}", INVALID},
        {"{\"experiment\":\"hero\",\"variant\":\"a/x\",\"user\":\"b1\",\"type\":\"exposure\",\"varaint\":1}", INVALID},
        {"{\"experiment\":\"hero\",\"variant\":\"a/x\",\"user\":\"b1\",\"type\":\"exposure\",\"value\":1}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"conversion\",\"phase\":\"buy\"}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"nps\",\"score\":11}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"nps\",\"score\":7.5}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"nps\"}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"conversion\",\"ts\":1764000000}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"conversion\",\"ts\":\"yesterday\"}", INVALID},
        {"{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"conversion\",\"ts\":\"9999-12-31T23:59:59Z\"}", UNCHECKED},
        {"{\"experiment\":\"nope\",\"variant\":\"a\",\"user\":\"b1\",\"type\":\"exposure\"}", UNCHECKED},
        {"{\"experiment\":\"hero\",\"variant\":\"zz\",\"user\":\"b1\",\"type\":\"exposure\"}", UNCHECKED},
        {"[{\"experiment\":\"hero\",\"variant\":\"a/x\",\"user\":\"b1\",\"type\":\"exposure\"},"
         "{\"experiment\":\"hero\",\"user\":\"b1\",\"type\":\"nps\",\"score\":-1}]", INVALID},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = api(&D, NULL, "POST", "/v1/events", "/v1/events", bad[i].body, NULL, 400, bad[i].rc);
        CHECK(json_is_array(json_object_get(r.json, "errors")));
        td_free(&r);
    }
    /* More events than --max-batch (valid, each of them), and a body over
     * --max-body. */
    n = (size_t)snprintf(big, sizeof big, "[");
    for (int i = 0; i < 301; i++)
        n += (size_t)snprintf(big + n, sizeof big - n,
                              "%s{\"experiment\":\"hero\",\"variant\":\"a/x\",\"user\":\"m%d\",\"type\":\"exposure\"}",
                              i ? "," : "", i);
    snprintf(big + n, sizeof big - n, "]");
    call(&D, "POST", "/v1/events", "/v1/events", big, 413, VALID);
    memset(big, ' ', sizeof big - 1);
    big[0] = '[';
    big[sizeof big - 2] = ']';
    big[sizeof big - 1] = '\0';
    call(&D, "POST", "/v1/events", "/v1/events", big, 413, UNCHECKED);
    r = api(&D, NULL, "POST", "/v1/events", "/v1/events",
            "{\"experiment\":\"hero\",\"variant\":\"a/x\",\"user\":\"z1\",\"type\":\"exposure\"}",
            "Content-Encoding: gzip\r\n", 415, UNCHECKED);
    td_free(&r);
}

/* 409s once events exist, then a restart of monitoring with its change. */
static void test_changes(void)
{
    td_response r;
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/checkout-cta",
            "{\"variants\": [\"control\", \"buy-now\"], \"min_days\": 0, \"min_users\": 20, "
            "\"alpha\": 0.01, \"guardrails\": []}",
            NULL, 409, VALID);
    CHECK(json_array_size(json_object_get(r.json, "fields")) == 2);
    td_free(&r);
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/checkout-cta",
            "{\"variants\": [\"control\", \"buy-now\", \"third\"]}", NULL, 409, VALID);
    CHECK(r.json && !json_object_get(r.json, "fields"));
    td_free(&r);
    /* The status is changed by stop and start, not by a PUT. */
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/checkout-cta",
            "{\"variants\": [\"control\", \"buy-now\"], \"min_days\": 0, \"min_users\": 20, "
            "\"status\": \"stopped\"}",
            NULL, 409, VALID);
    td_free(&r);
    /* survey (fixed): a restart listed with every kind of value. */
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/survey",
            "{\"variants\": [\"control\", \"short\", \"long\"], \"weights\": [2, 1, 1], "
            "\"metric\": \"nps\", \"phase\": \"advocacy\", \"method\": \"fixed\", "
            "\"correction\": \"bh\", \"baseline\": null, \"mde\": 0.4, \"alpha\": 0.1, \"power\": 0.9, "
            "\"sequential_tuning\": 2000, \"min_days\": 0, \"min_users\": 5, "
            "\"guardrails\": [{\"metric\": \"conversion\", \"phase\": \"decision\", \"margin\": 0.05}], "
            "\"webhook\": \"https://hooks.example/abstat?key=s3cret\", \"restart_monitoring\": true}",
            NULL, 200, VALID);
    CHECK_INT(json_array_size(json_object_get(r.json, "changes")), 1);
    td_free(&r);
    r = api(&D, NULL, "PUT", EXP, "/v1/experiments/checkout-cta",
            "{\"variants\": [\"control\", \"buy-now\"], \"min_days\": 0, \"min_users\": 20, "
            "\"restart_monitoring\": true}",
            NULL, 200, VALID);
    CHECK_INT(json_array_size(json_object_get(r.json, "changes")), 1);
    td_free(&r);
}

static void test_reads(void)
{
    static const char *const ids[] = {"checkout-cta", "price-test", "survey", "hero", "defaults"};
    char path[200];
    td_response r;

    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char *back;
        /* What GET shows, PUT takes back unchanged. */
        snprintf(path, sizeof path, "/v1/experiments/%s", ids[i]);
        r = api(&D, NULL, "GET", EXP, path, NULL, NULL, 200, VALID);
        back = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
        td_free(&r);
        call(&D, "PUT", EXP, path, back, 200, VALID);
        free(back);
        snprintf(path, sizeof path, "/v1/experiments/%s/results", ids[i]);
        r = api(&D, NULL, "GET", EXP "/results", path, NULL, NULL, 200, VALID);
        if (!strcmp(ids[i], "hero"))
            CHECK_INT(json_array_size(json_object_get(json_object_get(r.json, "factorial"),
                                                      "main_effects")), 2);
        if (!strcmp(ids[i], "defaults")) CHECK(json_is_null(json_object_get(r.json, "started_at")));
        td_free(&r);
        snprintf(path, sizeof path, "/v1/experiments/%s/decision", ids[i]);
        call(&D, "GET", EXP "/decision", path, NULL, 200, VALID);
        snprintf(path, sizeof path, "/v1/experiments/%s/history", ids[i]);
        r = api(&D, NULL, "GET", EXP "/history", path, NULL, NULL, 200, VALID);
        if (!strcmp(ids[i], "defaults"))
            CHECK_INT(json_array_size(json_object_get(r.json, "points")), 0);
        else
            CHECK(json_array_size(json_object_get(r.json, "points")) > 0);
        td_free(&r);
        snprintf(path, sizeof path, "/v1/experiments/%s/history?interval=hour&format=csv", ids[i]);
        call(&D, "GET", EXP "/history", path, NULL, 200, VALID);
    }
    call(&D, "GET", EXP "/history", "/v1/experiments/nope/history", NULL, 404, VALID);
    call(&D, "GET", EXP "/history", "/v1/experiments/hero/history?interval=week", NULL, 400, INVALID);
    call(&D, "GET", EXP "/history", "/v1/experiments/hero/history?format=xml", NULL, 400, INVALID);
    /* The clear winner has a significant_since and ships. */
    r = api(&D, NULL, "GET", EXP "/decision", "/v1/experiments/checkout-cta/decision", NULL, NULL,
            200, VALID);
    CHECK(json_is_string(json_object_get(json_array_get(json_object_get(r.json, "variants"), 0),
                                         "significant_since")));
    td_free(&r);
    call(&D, "GET", EXP "/results", "/v1/experiments/nope/results", NULL, 404, VALID);
    call(&D, "GET", EXP "/decision", "/v1/experiments/nope/decision", NULL, 404, VALID);
    call(&D, "GET", EXP, "/v1/experiments/nope", NULL, 404, VALID);
    call(&D, "GET", EXP "/results", "/v1/experiments/-x/results", NULL, 400, INVALID);
    call(&D, "GET", EXP "/decision", "/v1/experiments/-x/decision", NULL, 400, INVALID);
    call(&D, "GET", EXP, "/v1/experiments/-x", NULL, 400, INVALID);

    /* The list, a page at a time. */
    call(&D, "GET", "/v1/experiments", "/v1/experiments", NULL, 200, VALID);
    r = api(&D, NULL, "GET", "/v1/experiments", "/v1/experiments?limit=2", NULL, NULL, 200, VALID);
    CHECK(json_is_string(json_object_get(r.json, "next")));
    snprintf(path, sizeof path, "/v1/experiments?limit=1000&after=%s",
             json_string_value(json_object_get(r.json, "next")));
    td_free(&r);
    r = api(&D, NULL, "GET", "/v1/experiments", path, NULL, NULL, 200, VALID);
    CHECK(json_is_null(json_object_get(r.json, "next")));
    td_free(&r);
    call(&D, "GET", "/v1/experiments", "/v1/experiments?limit=0", NULL, 400, INVALID);
    call(&D, "GET", "/v1/experiments", "/v1/experiments?limit=many", NULL, 400, INVALID);
    call(&D, "GET", "/v1/experiments", "/v1/experiments?after=Bad_ID", NULL, 400, INVALID);
}

static void test_assign(void)
{
    td_response r = td_req(&D, "GET", "/v1/experiments/checkout-cta/assign?user=u-1", NULL);
    const char *msg = json_string_value(json_object_get(r.json, "error"));
    char user[300];

    /* The handler is built elsewhere; until it answers, say so loudly. */
    assign_pending = r.status == 404 && msg && !strcmp(msg, "no such resource");
    td_free(&r);
    if (assign_pending) {
        printf("skip: GET /v1/experiments/{id}/assign answers 404 \"no such resource\" (the "
               "handler is not in yet): its 200 and 409 are not checked\n");
        call(&D, "GET", EXP "/assign", "/v1/experiments/checkout-cta/assign?user=u-1", NULL, 404,
             VALID);
        return;
    }
    r = api(&D, NULL, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-1", NULL, NULL, 200,
            VALID);
    CHECK(r.json && json_is_false(json_object_get(r.json, "exposed")));
    td_free(&r);
    r = api(&D, NULL, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-1&expose=1", NULL,
            NULL, 200, VALID);
    CHECK(r.json && json_is_true(json_object_get(r.json, "exposed")));
    td_free(&r);
    call(&D, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-2&expose=true", NULL, 200,
         VALID);
    call(&D, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-1&expose=0", NULL, 200, VALID);
    r = exchange(&D, NULL, "HEAD", EXP "/assign", "/v1/experiments/hero/assign?user=u-1&expose=1",
                 NULL, NULL, 400, VALID);
    td_free(&r);
    /* Pages: the preflight, and an origin --cors-origin does not list. */
    r = api(&D, NULL, "OPTIONS", EXP "/assign", "/v1/experiments/hero/assign", NULL,
            "Origin: https://shop.example\r\nAccess-Control-Request-Method: GET\r\n", 204, VALID);
    td_free(&r);
    r = api(&D, NULL, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-1", NULL,
            "Origin: https://evil.example\r\n", 403, VALID);
    td_free(&r);
    call(&D, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-1&expose=maybe", NULL, 400,
         INVALID);
    call(&D, "GET", EXP "/assign", "/v1/experiments/hero/assign?user=u-1&colour=red", NULL, 400,
         INVALID);
    call(&D, "GET", EXP "/assign", "/v1/experiments/hero/assign", NULL, 400, INVALID);
    {
        char name[258];
        memset(name, 'u', 257);
        name[257] = '\0';
        snprintf(user, sizeof user, "/v1/experiments/hero/assign?user=%s", name);
    }
    call(&D, "GET", EXP "/assign", user, NULL, 400, INVALID);
    call(&D, "GET", EXP "/assign", "/v1/experiments/nope/assign?user=u-1", NULL, 404, VALID);
    call(&D, "GET", EXP "/assign", "/v1/experiments/-x/assign?user=u-1", NULL, 400, INVALID);
}

static void test_lifecycle(void)
{
    td_response r;
    r = api(&D, NULL, "POST", EXP "/stop", "/v1/experiments/price-test/stop", NULL, NULL, 200, VALID);
    CHECK(r.json && is_str(json_object_get(r.json, "status"), "stopped"));
    td_free(&r);
    call(&D, "POST", EXP "/stop", "/v1/experiments/price-test/stop", NULL, 200, VALID);
    call(&D, "POST", "/v1/events", "/v1/events",
         "{\"experiment\":\"price-test\",\"variant\":\"control\",\"user\":\"late\",\"type\":\"exposure\"}",
         400, UNCHECKED);
    call(&D, "GET", EXP "/results", "/v1/experiments/price-test/results", NULL, 200, VALID);
    if (!assign_pending)
        call(&D, "GET", EXP "/assign", "/v1/experiments/price-test/assign?user=late&expose=1", NULL,
             409, VALID);
    r = api(&D, NULL, "POST", EXP "/start", "/v1/experiments/price-test/start", NULL, NULL, 200,
            VALID);
    CHECK(r.json && is_str(json_object_get(r.json, "status"), "running"));
    td_free(&r);
    call(&D, "POST", EXP "/stop", "/v1/experiments/nope/stop", NULL, 404, VALID);
    call(&D, "POST", EXP "/start", "/v1/experiments/nope/start", NULL, 404, VALID);
    call(&D, "POST", EXP "/stop", "/v1/experiments/-x/stop", NULL, 400, INVALID);
    call(&D, "POST", EXP "/start", "/v1/experiments/-x/start", NULL, 400, INVALID);

    call(&D, "DELETE", EXP, "/v1/experiments/defaults", NULL, 200, VALID);
    call(&D, "DELETE", EXP, "/v1/experiments/defaults", NULL, 404, VALID);
    call(&D, "DELETE", EXP, "/v1/experiments/-x", NULL, 400, INVALID);
}

/* ---- calculators -------------------------------------------------------------- */

static void test_calculators(void)
{
    td_response r;
    char big[70000];
    static const struct {
        const char *body;
        int status;
        req_check rc;
    } cases[] = {
        {"{\"alpha\": 0.05, \"correction\": \"holm\", \"method\": \"sequential\", \"variants\": ["
         "{\"name\": \"control\", \"users\": 5000, \"conversions\": 250, \"revenue_sum\": 12500, "
         "\"revenue_sumsq\": 1010000, \"promoters\": 180, \"passives\": 120, \"detractors\": 100},"
         "{\"name\": \"buy-now\", \"users\": 5100, \"conversions\": 300, \"revenue_sum\": 15300, "
         "\"revenue_sumsq\": 1100000, \"promoters\": 200, \"passives\": 110, \"detractors\": 90}]}",
         200, VALID},
        {"{\"metric\": \"revenue\", \"method\": \"fixed\", \"sequential_tuning\": 2000, \"variants\": ["
         "{\"name\": \"c\", \"users\": 400, \"revenue_sum\": 1200, \"revenue_sumsq\": 90000},"
         "{\"name\": \"v\", \"users\": 410, \"revenue_sum\": 1500, \"revenue_sumsq\": 99000}]}",
         200, VALID},
        {"{\"metric\": \"nps\", \"correction\": \"bonferroni\", \"phase\": \"oriëntatie\", "
         "\"weights\": [1, 1, 2], \"variants\": ["
         "{\"name\": \"c\", \"users\": 1000, \"conversions\": 40, \"phases\": {\"awareness\": 900, \"retentie\": 10}, "
         "\"promoters\": 50, \"passives\": 30, \"detractors\": 20},"
         "{\"name\": \"v1\", \"users\": 1000, \"conversions\": 50, \"phases\": {\"awareness\": 910, \"retentie\": 12}, "
         "\"promoters\": 60, \"passives\": 25, \"detractors\": 15},"
         "{\"name\": \"v2\", \"users\": 2100, \"conversions\": 70, \"phases\": {\"awareness\": 1900, \"retentie\": 30}, "
         "\"promoters\": 100, \"passives\": 60, \"detractors\": 50}]}",
         200, VALID},
        {"{\"variants\": ["
         "{\"name\": \"c\", \"users\": 5000, \"conversions\": 260, \"steps\": {"
         "\"awareness\": {\"reached\": 4000, \"continued\": 1200}, \"consideration\": {\"reached\": 1300, \"continued\": 400}, "
         "\"decision\": {\"reached\": 260, \"continued\": 100}, \"retention\": {\"reached\": 120, \"continued\": 30}}},"
         "{\"name\": \"v\", \"users\": 5100, \"conversions\": 310, \"steps\": {"
         "\"bewustwording\": {\"reached\": 4300, \"continued\": 1400}, \"consideration\": {\"reached\": 1500, \"continued\": 420}, "
         "\"decision\": {\"reached\": 310, \"continued\": 110}, \"retention\": {\"reached\": 130, \"continued\": 35}}}]}",
         200, VALID},
        {"{\"variants\": [{\"name\": \"c\", \"users\": 10, \"steps\": {\"awareness\": {\"reached\": 9}}}, "
         "{\"name\": \"v\", \"users\": 10}]}", 400, INVALID},
        {"{\"variants\": [{\"name\": \"c\", \"users\": 0, \"conversions\": 0}, "
         "{\"name\": \"v\", \"users\": 0, \"conversions\": 0}], \"alpha\": null}",
         -1, VALID},
        {"{\"variants\": []}", 400, INVALID},
        {"[", 400, INVALID},
        {"{\"variants\": [{\"name\": \"c\"}, {\"name\": \"v\", \"users\": 1}]}", 400, INVALID},
        {"{\"alpha\": 1, \"variants\": [{\"name\": \"c\", \"users\": 1}, {\"name\": \"v\", \"users\": 1}]}", 400, INVALID},
        {"{\"colour\": 1, \"variants\": [{\"name\": \"c\", \"users\": 1}, {\"name\": \"v\", \"users\": 1}]}", 400, INVALID},
        {"{\"variants\": [{\"name\": \"c\", \"users\": 1, \"phases\": {\"mars\": 1}}, {\"name\": \"v\", \"users\": 1}]}", 400, INVALID},
        {"{\"variants\": [{\"name\": \"c\", \"users\": 1, \"conversions\": 2}, {\"name\": \"v\", \"users\": 1}]}", 400, UNCHECKED},
        {"{\"variants\": [{\"name\": \"c\", \"users\": 1, \"promoters\": 1}, {\"name\": \"v\", \"users\": 1}]}", 400, UNCHECKED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = api(&D, NULL, "POST", "/v1/analyze", "/v1/analyze", cases[i].body, NULL,
                cases[i].status, cases[i].rc);
        if (i == 3 && r.status == 200)
            check_defaults("#/components/schemas/AnalyzeRequest", r.json, "analyze defaults");
        td_free(&r);
    }
    memset(big, ' ', sizeof big - 1);
    big[0] = '{';
    big[sizeof big - 2] = '}';
    big[sizeof big - 1] = '\0';
    call(&D, "POST", "/v1/analyze", "/v1/analyze", big, 413, UNCHECKED);
    r = api(&D, NULL, "POST", "/v1/analyze", "/v1/analyze", cases[0].body,
            "Content-Encoding: gzip\r\n", 415, UNCHECKED);
    td_free(&r);

    r = api(&D, NULL, "GET", "/v1/sample-size",
            "/v1/sample-size?baseline=0.05&mde=0.1&alpha=0.05&power=0.8&variants=2&correction=holm&daily_users=5000",
            NULL, NULL, 200, VALID);
    CHECK_INT(json_integer_value(json_object_get(r.json, "days")), 13);
    td_free(&r);
    /* Left out, alpha, power, variants and correction are the defaults. */
    r = api(&D, NULL, "GET", "/v1/sample-size", "/v1/sample-size?baseline=5%25&mde=10%25", NULL,
            NULL, 200, VALID);
    {
        const json_t *op, *item, *p;
        size_t i;
        op = find_op("/v1/sample-size", "GET", &item);
        json_array_foreach(json_object_get(op, "parameters"), i, p) {
            const json_t *prm = resolved(p), *schema = resolved(json_object_get(prm, "schema"));
            const json_t *def = json_object_get(json_object_get(prm, "schema"), "default");
            const char *name = json_string_value(json_object_get(prm, "name"));
            const json_t *got = name ? json_object_get(r.json, name) : NULL;
            json_t *v;
            if (!def) def = json_object_get(schema, "default");
            if (!def || !got) continue;
            v = json_is_string(def) && json_is_number(got)
                    ? json_real(strtod(json_string_value(def), NULL)) : json_deep_copy(def);
            snprintf(test_context, sizeof test_context, "sample-size default of %s", name);
            CHECK(same_value(v, got));
            test_context[0] = '\0';
            json_decref(v);
        }
    }
    td_free(&r);
#define SS "/v1/sample-size"
    call(&D, "GET", SS, SS "?baseline=0.05&mde=0.1&variants=4&correction=none", NULL, 200, VALID);
    call(&D, "GET", SS, SS "?baseline=0.05", NULL, 400, INVALID);
    call(&D, "GET", SS, SS "?baseline=x&mde=0.1", NULL, 400, INVALID);
    call(&D, "GET", SS, SS "?baseline=0.05&mde=0.1&variants=1", NULL, 400, INVALID);
    call(&D, "GET", SS, SS "?baseline=0.05&mde=0.1&colour=red", NULL, 400, INVALID);
    call(&D, "GET", SS, SS "?baseline=0.05&mde=0.1&correction=foo", NULL, 400, INVALID);
    call(&D, "GET", SS, SS "?baseline=1.5&mde=0.1", NULL, 400, UNCHECKED);
    /* Revenue and NPS plans, and their refusals (README "Calculators without state"). */
    call(&D, "GET", SS, SS "?metric=revenue&sd=40&baseline=12.5&mde=0.05&sequential_tuning=2000",
         NULL, 200, VALID);
    call(&D, "GET", SS, SS "?metric=nps&promoters=0.4&detractors=0.2&mde=5&daily_users=1000", NULL,
         200, VALID);
    call(&D, "GET", SS, SS "?metric=nps&promoters=0.4&detractors=0.2&mde=5&power=0.3", NULL, 200,
         VALID);
    call(&D, "GET", SS, SS "?metric=nps&detractors=0.2&mde=5", NULL, 400, VALID);
    call(&D, "GET", SS, SS "?metric=nps&promoters=0.7&detractors=0.4&mde=5", NULL, 400, VALID);
    call(&D, "GET", SS, SS "?metric=revenue&baseline=12.5&mde=0.05", NULL, 400, VALID);
    call(&D, "GET", SS, SS "?metric=ctr&baseline=0.05&mde=0.1", NULL, 400, INVALID);
#undef SS
}

/* ---- operations and documents -------------------------------------------------- */

/* The value of header name in a response head ("" when absent). */
static void header_value(const char *head, const char *name, char *out, size_t size)
{
    char key[80];
    const char *p;
    snprintf(key, sizeof key, "\r\n%s:", name);
    out[0] = '\0';
    if (!(p = strcasestr(head, key))) return;
    p += strlen(key);
    while (*p == ' ') p++;
    snprintf(out, size, "%.*s", (int)strcspn(p, "\r\n"), p);
}

static void test_ops(void)
{
    td_response r;
    char *file;
    size_t len;
    FILE *fp;

    call(&D, "GET", "/healthz", "/healthz", NULL, 200, VALID);
    r = api(&D, NULL, "GET", "/metrics", "/metrics", NULL, NULL, 200, VALID);
    CHECK(r.body && strstr(r.body, "abstat_requests_total{"));
    td_free(&r);

    /* The daemon serves exactly the file, and revalidates by ETag. */
    fp = fopen(DOC_FILE, "rb");
    file = malloc(1 << 20);
    len = fp && file ? fread(file, 1, 1 << 20, fp) : 0;
    if (fp) fclose(fp);
    static const struct {
        const char *path;
        int doc;
    } assets[] = {{"/v1/openapi.json", 1}, {"/v1/abstat.js", 0}, {"/", 0},
                  {"/ui/dashboard.js", 0}, {"/ui/dashboard.experiment.js", 0},
                  {"/ui/dashboard.css", 0}, {"/ui/chart.min.js", 0}};
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        char etag[100], inm[160];
        r = api(&D, NULL, "GET", assets[i].path, assets[i].path, NULL, NULL, 200, VALID);
        if (assets[i].doc) CHECK(r.len == len && file && r.body && !memcmp(r.body, file, len));
        header_value(r.headers, "ETag", etag, sizeof etag);
        td_free(&r);
        snprintf(inm, sizeof inm, "If-None-Match: %s\r\n", etag);
        r = api(&D, NULL, "GET", assets[i].path, assets[i].path, NULL, inm, 304, VALID);
        td_free(&r);
    }
    free(file);
}

/* Paths the document lacks are 404; methods a path lacks are 405 with an
 * Allow that lists exactly the document's methods. */
static void test_http_errors(void)
{
    const char *tmpl;
    const json_t *item;
    td_response r;
    /* Paths the document lacks. */
    static const char *const probes[] = {"/nope", "/ui/", "/v1/experiments/hero/bogus", "/v1",
                                         "/v1/experiments/hero/history/day"};

    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        r = td_req(&D, "GET", probes[i], NULL);
        snprintf(test_context, sizeof test_context, "GET %s (not in the document)", probes[i]);
        CHECK_INT(r.status, 404);
        test_context[0] = '\0';
        check_component(&r, "#/components/responses/NotFound", probes[i]);
        td_free(&r);
    }
    json_object_foreach(json_object_get(DOC, "paths"), tmpl, item) {
        char path[200], allow[200], got[200] = "";
        const char *p = strchr(tmpl, '{');
        snprintf(path, sizeof path, "%.*s%s%s", p ? (int)(p - tmpl) : (int)strlen(tmpl), tmpl,
                 p ? "hero" : "", p ? strchr(p, '}') + 1 : "");
        r = td_req(&D, "PATCH", path, NULL);
        snprintf(test_context, sizeof test_context, "PATCH %s", path);
        CHECK_INT(r.status, 405);
        test_context[0] = '\0';
        check_component(&r, "#/components/responses/MethodNotAllowed", path);
        header_value(r.headers, "Allow", allow, sizeof allow);
        /* Each method the daemon allows is in the document and the other
         * way round, OPTIONS aside (the preflight has its own Allow). */
        for (char *save = NULL, *tok = strtok_r(allow, ", ", &save); tok;
             tok = strtok_r(NULL, ", ", &save)) {
            for (char *c = tok; *c; c++) *c = (char)tolower((unsigned char)*c);
            snprintf(test_context, sizeof test_context, "%s: Allow has %s", path, tok);
            CHECK(json_object_get(item, tok) != NULL);
            snprintf(got + strlen(got), sizeof got - strlen(got), " %s", tok);
        }
        for (int m = 0; methods[m]; m++)
            if (json_object_get(item, methods[m]) && strcmp(methods[m], "options")) {
                char needle[20];
                snprintf(needle, sizeof needle, " %s", methods[m]);
                snprintf(test_context, sizeof test_context, "%s: the document has %s, Allow:%s",
                         path, methods[m], got);
                CHECK(strstr(got, needle) != NULL);
            }
        test_context[0] = '\0';
        td_free(&r);
    }
    {
        static const char brew[] = "BREW /v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
        r = td_raw(&D, brew, sizeof brew - 1);
    }
    CHECK_INT(r.status, 501);
    /* An unknown method's 501 is the plain error of every refusal. */
    check_component(&r, "#/components/responses/BadRequest", "BREW");
    td_free(&r);
}

/* ---- tokens ------------------------------------------------------------------------ */

#define T_EVENT "{\"experiment\":\"sec\",\"variant\":\"a\",\"user\":\"t1\",\"type\":\"exposure\"}"
#define T_ANALYZE                                                     \
    "{\"variants\":[{\"name\":\"c\",\"users\":10,\"conversions\":1}," \
    "{\"name\":\"v\",\"users\":10,\"conversions\":2}]}"

/* One request per operation (HEAD comes with each GET): the test's own
 * list of the routes, which must be the document's. */
static const struct {
    const char *method, *tmpl, *path, *body;
} SAMPLES[] = {
    {"PUT", EXP, "/v1/experiments/sec", "{\"variants\":[\"a\",\"b\"]}"},
    {"POST", "/v1/events", "/v1/events", T_EVENT},
    {"OPTIONS", "/v1/events", "/v1/events", NULL},
    {"GET", "/v1/experiments", "/v1/experiments?limit=10", NULL},
    {"GET", EXP, "/v1/experiments/sec", NULL},
    {"POST", EXP "/stop", "/v1/experiments/sec/stop", NULL},
    {"POST", EXP "/start", "/v1/experiments/sec/start", NULL},
    {"GET", EXP "/results", "/v1/experiments/sec/results", NULL},
    {"GET", EXP "/decision", "/v1/experiments/sec/decision", NULL},
    {"GET", EXP "/history", "/v1/experiments/sec/history", NULL},
    {"GET", EXP "/assign", "/v1/experiments/sec/assign?user=t1", NULL},
    {"OPTIONS", EXP "/assign", "/v1/experiments/sec/assign", NULL},
    {"POST", "/v1/analyze", "/v1/analyze", T_ANALYZE},
    {"GET", "/v1/sample-size", "/v1/sample-size?baseline=0.05&mde=0.1", NULL},
    {"GET", "/healthz", "/healthz", NULL},
    {"GET", "/metrics", "/metrics", NULL},
    {"GET", "/v1/openapi.json", "/v1/openapi.json", NULL},
    {"GET", "/v1/abstat.js", "/v1/abstat.js", NULL},
    {"GET", "/", "/", NULL},
    {"GET", "/ui/dashboard.js", "/ui/dashboard.js", NULL},
    {"GET", "/ui/dashboard.experiment.js", "/ui/dashboard.experiment.js", NULL},
    {"GET", "/ui/dashboard.css", "/ui/dashboard.css", NULL},
    {"GET", "/ui/chart.min.js", "/ui/chart.min.js", NULL},
    {"DELETE", EXP, "/v1/experiments/gone", NULL},
};

/* Whether the operation's security names the scope (any requirement). */
static int takes_scope(const json_t *op, const char *scope)
{
    const json_t *req, *role;
    size_t i, j;
    json_array_foreach(json_object_get(op, "security"), i, req)
        json_array_foreach(json_object_get(req, "bearerAuth"), j, role)
            if (is_str(role, scope)) return 1;
    return 0;
}

static void test_tokens(void)
{
    const char *tmpl;
    const json_t *item;
    td_response r;
    char old[200];

    /* The list above and the document name the same operations. */
    json_object_foreach(json_object_get(DOC, "paths"), tmpl, item) {
        for (int m = 0; methods[m]; m++) {
            size_t s;
            if (!strcmp(methods[m], "head") || !json_object_get(item, methods[m])) continue;
            for (s = 0; s < sizeof SAMPLES / sizeof SAMPLES[0]; s++)
                if (!strcmp(SAMPLES[s].tmpl, tmpl) && !strcasecmp(SAMPLES[s].method, methods[m]))
                    break;
            if (s == sizeof SAMPLES / sizeof SAMPLES[0])
                test_fail(__FILE__, __LINE__, "%s %s: the test has no request for it", methods[m],
                          tmpl);
        }
    }
    r = api(&T, ADMIN, "PUT", EXP, "/v1/experiments/gone", "{\"variants\":[\"a\",\"b\"]}", NULL, 201,
            VALID);
    td_free(&r);
    /* Each operation without a token, with an unknown one, with one that
     * lacks the scope the document names, and with one that has it. */
    for (size_t s = 0; s < sizeof SAMPLES / sizeof SAMPLES[0]; s++) {
        const json_t *it, *op = find_op(SAMPLES[s].tmpl, SAMPLES[s].method, &it);
        const char *m = SAMPLES[s].method, *t = SAMPLES[s].tmpl, *p = SAMPLES[s].path;
        const char *b = SAMPLES[s].body, *good = NULL, *lacking = NULL;
        /* The tokens by what they hold: admin holds every scope. */
        static const struct {
            const char *token, *holds[3];
        } held[] = {{INGEST, {"ingest", NULL, NULL}},
                    {READ, {"read", NULL, NULL}},
                    {ADMIN, {"admin", "read", "ingest"}}};
        if (!op) {
            test_fail(__FILE__, __LINE__, "%s %s is not in the document", m, t);
            continue;
        }
        for (size_t h = 0; h < sizeof held / sizeof held[0]; h++) {
            int ok = 0;
            for (int k = 0; k < 3 && held[h].holds[k]; k++) ok |= takes_scope(op, held[h].holds[k]);
            if (ok && !good) good = held[h].token;
            if (!ok && !lacking) lacking = held[h].token;
        }
        if (!good) {
            r = api(&T, NULL, m, t, p, b, NULL, -1, VALID);
            snprintf(test_context, sizeof test_context, "%s %s is open", m, p);
            CHECK(r.status >= 200 && r.status < 400);
            test_context[0] = '\0';
            td_free(&r);
            continue;
        }
        r = api(&T, NULL, m, t, p, b, NULL, 401, VALID);
        td_free(&r);
        r = api(&T, "unknown-token-0123456789", m, t, p, b, NULL, 401, VALID);
        td_free(&r);
        if (lacking) {
            r = api(&T, lacking, m, t, p, b, NULL, 403, VALID);
            td_free(&r);
        }
        r = api(&T, good, m, t, p, b, NULL, -1, VALID);
        snprintf(test_context, sizeof test_context, "%s %s with a token of its scope", m, p);
        CHECK(r.status >= 200 && r.status < 400);
        test_context[0] = '\0';
        td_free(&r);
    }
    /* ?token= is for sendBeacon on ingest only. */
    call(&T, "POST", "/v1/events", "/v1/events?token=" INGEST, T_EVENT, 202, VALID);
    call(&T, "GET", "/v1/experiments", "/v1/experiments?token=" READ, NULL, 401, INVALID);
    /* History older than 72 hours needs the admin scope. */
    rfc3339(now_ms() - 100LL * 3600000, old, sizeof old);
    {
        char body[300];
        snprintf(body, sizeof body,
                 "{\"experiment\":\"sec\",\"variant\":\"a\",\"user\":\"t2\",\"type\":\"exposure\","
                 "\"ts\":\"%s\"}", old);
        r = api(&T, INGEST, "POST", "/v1/events", "/v1/events", body, NULL, 400, UNCHECKED);
        td_free(&r);
        r = api(&T, ADMIN, "POST", "/v1/events", "/v1/events", body, NULL, 202, VALID);
        td_free(&r);
    }
    /* A reader sees the webhook with its query values hidden. */
    r = api(&T, ADMIN, "PUT", EXP, "/v1/experiments/hooked",
            "{\"variants\":[\"a\",\"b\"],\"webhook\":\"https://hooks.example/x?key=s3cret\"}", NULL,
            201, VALID);
    td_free(&r);
    r = api(&T, READ, "GET", EXP, "/v1/experiments/hooked", NULL, NULL, 200, VALID);
    CHECK(r.body && !strstr(r.body, "s3cret") && strstr(r.body, "***"));
    /* That form PUT back by an admin keeps the webhook as it is. */
    {
        char *back = r.json ? json_dumps(r.json, JSON_COMPACT) : NULL;
        td_free(&r);
        r = api(&T, ADMIN, "PUT", EXP, "/v1/experiments/hooked", back, NULL, 200, VALID);
        CHECK(r.body && strstr(r.body, "s3cret"));
        free(back);
    }
    td_free(&r);
    if (!assign_pending) {
        /* Recording an exposure takes the ingest scope; a page's token
         * may come in the query. */
        static const char exposing[] = "/v1/experiments/hooked/assign?user=t1&expose=1";
        r = api(&T, READ, "GET", EXP "/assign", exposing, NULL, NULL, 403, VALID);
        td_free(&r);
        r = exchange(&T, READ, "HEAD", EXP "/assign", exposing, NULL, NULL, 403, VALID);
        td_free(&r);
        r = api(&T, INGEST, "GET", EXP "/assign", exposing, NULL, NULL, 200, VALID);
        td_free(&r);
        call(&T, "GET", EXP "/assign", "/v1/experiments/hooked/assign?user=t2&token=" INGEST, NULL,
             200, VALID);
    }
}

/* Every operation of the document was exercised, with every status it
 * lists (but 5xx, which a healthy daemon does not give on request). */
static void test_coverage(void)
{
    const char *tmpl;
    const json_t *item;
    json_object_foreach(json_object_get(DOC, "paths"), tmpl, item) {
        for (int m = 0; methods[m]; m++) {
            const json_t *op = json_object_get(item, methods[m]), *resp;
            const json_t *seen;
            char key[300], up[16];
            const char *code;
            size_t n;
            if (!op) continue;
            for (n = 0; methods[m][n]; n++) up[n] = (char)toupper((unsigned char)methods[m][n]);
            up[n] = '\0';
            snprintf(key, sizeof key, "%s %s", up, tmpl);
            if (assign_pending && strstr(tmpl, "/assign")) {
                printf("skip: coverage of %s (the handler is not in yet)\n", key);
                continue;
            }
            seen = json_object_get(COVER, key);
            if (!seen) {
                test_fail(__FILE__, __LINE__, "%s is in the document but never exercised", key);
                continue;
            }
            json_object_foreach(json_object_get(op, "responses"), code, resp) {
                if (code[0] == '5') continue;
                if (json_object_get(seen, code)) test_passed++;
                else test_fail(__FILE__, __LINE__, "%s: status %s is documented but never seen",
                               key, code);
            }
        }
    }
}

int main(void)
{
    char tokens[300];
    FILE *fp;

    COVER = json_object();
    test_document();

    td_init(&D, "openapi");
    snprintf(D.extra, sizeof D.extra,
             "--max-body 65536 --max-batch 300 --cors-origin https://shop.example");
    if (td_start(&D) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd did not start (see %s)", D.log);
        return TEST_DONE("test_openapi");
    }
    test_ops();
    test_put();
    test_events();
    test_changes();
    test_reads();
    test_assign();
    test_lifecycle();
    test_calculators();
    test_http_errors();
    CHECK_INT(td_stop(&D), 0);
    td_cleanup(&D);

    td_init(&T, "openapi-tokens");
    snprintf(tokens, sizeof tokens, "%s.tokens", T.dir);
    if (!(fp = fopen(tokens, "w"))) {
        test_fail(__FILE__, __LINE__, "cannot write %s", tokens);
        return TEST_DONE("test_openapi");
    }
    fprintf(fp, "admin %s\nread %s\ningest %s\n", ADMIN, READ, INGEST);
    fclose(fp);
    snprintf(T.extra, sizeof T.extra, "--tokens %s", tokens);
    if (td_start(&T) != 0) {
        test_fail(__FILE__, __LINE__, "abstatd with tokens did not start (see %s)", T.log);
        return TEST_DONE("test_openapi");
    }
    test_tokens();
    CHECK_INT(td_stop(&T), 0);
    td_cleanup(&T);
    if (remove(tokens) != 0) fprintf(stderr, "warning: could not remove %s\n", tokens);

    test_coverage();
    json_decref(BATCH);
    json_decref(COVER);
    json_decref(DOC);
    return TEST_DONE("test_openapi");
}
