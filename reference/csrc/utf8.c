/* aigif._speedups: UTF-8 as Python's strict decoder, uvarint (SPEC.md §3.2).
 * A part of one translation unit: included by reference/aigif/_speedups.c, not compiled alone. */

/* ------------------------------------------------------------------ UTF-8 (as Python's strict decoder) */
static int utf8_valid(const unsigned char *s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        int len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
        else return 0;
        if (i + len > n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (int k = 2; k < len; k++) if ((s[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

static int uvarint_len(uint64_t v) { int n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }

/* canonical LEB128 (SPEC.md §3.2) */
static int read_uvarint(const unsigned char *d, Py_ssize_t *pos, Py_ssize_t end, uint64_t *out) {
    uint64_t value = 0;
    int shift = 0;
    for (int i = 0; i < 10; i++) {
        if (*pos >= end) return -1;
        unsigned b = d[(*pos)++];
        if (shift == 63 && (b & 0x7F) > 1) return -1; /* 2^64 or more */
        value |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) return -1;
            *out = value;
            return 0;
        }
    }
    return -1;
}

