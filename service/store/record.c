/* record.c — encoding, decoding and checksumming the stored event records (record.h). */
#include "store/record.h"

#include <math.h>
#include <string.h>

#include "store/store_counter.h"

enum { F_VALUE = 1, F_SCORE = 2, F_ID = 4, F_COVARIATE = 8 };

static uint64_t row_checksum(const unsigned char *body, size_t len, uint64_t nev)
{
    return ab_checksum64(body, len, 0xab5700000000ull ^ nev);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t ab_record_size(const ab_event *ev)
{
    if (ev->user_len == 0 || ev->user_len > AB_RECORD_USER_MAX ||
        (ev->id && (ev->id_len == 0 || ev->id_len > AB_RECORD_ID_MAX)))
        return 0;
    return 12 + (isfinite(ev->value) ? 8 : 0) + (isfinite(ev->covariate) ? 8 : 0) +
           (ev->score >= 0 ? 1 : 0) + 2 + ev->user_len +
           (ev->id ? 1 + ev->id_len : 0);
}

unsigned char *ab_record_encode(unsigned char *p, const ab_event *ev)
{
    uint64_t bits;
    int flags = (isfinite(ev->value) ? F_VALUE : 0) | (ev->score >= 0 ? F_SCORE : 0) |
                (ev->id ? F_ID : 0) | (isfinite(ev->covariate) ? F_COVARIATE : 0);
    *p++ = (unsigned char)ev->type;
    *p++ = (unsigned char)ev->phase;
    *p++ = (unsigned char)(signed char)ev->variant;
    *p++ = (unsigned char)flags;
    put_u64(p, (uint64_t)ev->ts_ms);
    p += 8;
    if (flags & F_VALUE) {
        memcpy(&bits, &ev->value, 8);
        put_u64(p, bits);
        p += 8;
    }
    if (flags & F_COVARIATE) {
        memcpy(&bits, &ev->covariate, 8);
        put_u64(p, bits);
        p += 8;
    }
    if (flags & F_SCORE) *p++ = (unsigned char)ev->score;
    *p++ = (unsigned char)(ev->user_len & 0xff);
    *p++ = (unsigned char)(ev->user_len >> 8);
    memcpy(p, ev->user, ev->user_len);
    p += ev->user_len;
    if (flags & F_ID) {
        *p++ = (unsigned char)ev->id_len;
        memcpy(p, ev->id, ev->id_len);
        p += ev->id_len;
    }
    return p;
}

int ab_record_decode(const unsigned char **pp, const unsigned char *end, ab_event *ev)
{
    const unsigned char *p = *pp;
    uint64_t bits;
    int flags;
    if (end - p < 14) return -1;
    if (p[0] > AB_EVENT_NPS || p[1] >= AB_PHASE_COUNT) return -1;
    ev->exp = NULL;
    ev->type = (ab_event_type)p[0];
    ev->phase = (ab_phase)p[1];
    ev->variant = (signed char)p[2];
    flags = p[3];
    ev->ts_ms = (int64_t)get_u64(p + 4);
    p += 12;
    ev->value = NAN;
    ev->score = -1;
    if (flags & F_VALUE) {
        if (end - p < 8) return -1;
        bits = get_u64(p);
        memcpy(&ev->value, &bits, 8);
        p += 8;
    }
    ev->covariate = NAN;
    if (flags & F_COVARIATE) {
        if (end - p < 8) return -1;
        bits = get_u64(p);
        memcpy(&ev->covariate, &bits, 8);
        if (!isfinite(ev->covariate)) return -1;
        p += 8;
    }
    if (flags & F_SCORE) {
        if (end - p < 1 || *p > 10) return -1;
        ev->score = *p++;
    }
    if (end - p < 2) return -1;
    ev->user_len = (size_t)p[0] | (size_t)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < ev->user_len || ev->user_len == 0) return -1;
    ev->user = (const char *)p;
    p += ev->user_len;
    ev->id = NULL;
    ev->id_len = 0;
    if (flags & F_ID) {
        if (end - p < 1) return -1;
        ev->id_len = *p++;
        if ((size_t)(end - p) < ev->id_len || ev->id_len == 0) return -1;
        ev->id = (const char *)p;
        p += ev->id_len;
    }
    *pp = p;
    return 0;
}

void ab_record_seal(unsigned char *row, size_t len, uint64_t nev)
{
    row[0] = 0xff;
    row[1] = 'a';
    row[2] = 'b';
    row[3] = '1';
    for (int b = 0; b < 4; b++) row[4 + b] = (unsigned char)(nev >> (8 * b));
    put_u64(row + 8, row_checksum(row + AB_RECORD_ROW_HEADER, len - AB_RECORD_ROW_HEADER, nev));
}

int ab_record_check_row(const unsigned char *p, size_t len, const unsigned char **body,
                        uint64_t *nev, const char **why)
{
    const unsigned char *q, *end = p + len;
    if (!p || len == 0) {
        *why = "empty row";
        return -1;
    }
    if (p[0] == 0xff) {
        if (len < AB_RECORD_ROW_HEADER || p[1] != 'a' || p[2] != 'b' || p[3] != '1') {
            *why = "unknown row header";
            return -1;
        }
        *nev = (uint64_t)p[4] | (uint64_t)p[5] << 8 | (uint64_t)p[6] << 16 | (uint64_t)p[7] << 24;
        if (get_u64(p + 8) !=
            row_checksum(p + AB_RECORD_ROW_HEADER, len - AB_RECORD_ROW_HEADER, *nev)) {
            *why = "checksum mismatch";
            return -1;
        }
        *body = p + AB_RECORD_ROW_HEADER;
        return 0;
    }
    *nev = 0;
    for (q = p; q < end; (*nev)++) {
        ab_event ev;
        if (ab_record_decode(&q, end, &ev)) {
            *why = "malformed event record";
            return -1;
        }
    }
    *body = p;
    return 0;
}
