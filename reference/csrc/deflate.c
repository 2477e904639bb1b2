/* aigif._speedups: the deflate text coder and its canonical check (SPEC.md §7.3).
 * A part of one translation unit: included by reference/aigif/_speedups.c, not compiled alone. */

/* ------------------------------------------------------------------ deflate (SPEC.md §7.3) */
static const uint16_t LEN_BASE[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t LEN_EXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t DIST_BASE[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                       2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t DIST_EXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

typedef struct { const unsigned char *p; Py_ssize_t n; uint64_t pos; } LBits; /* LSB-first reader */

static int lb_get(LBits *b, int k, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < k; i++, b->pos++) {
        if ((b->pos >> 3) >= (uint64_t)b->n) return -1;
        v |= (uint32_t)((b->p[b->pos >> 3] >> (b->pos & 7)) & 1) << i;
    }
    *out = v;
    return 0;
}

static int lb_code(LBits *b, int k, uint32_t *code) { /* Huffman code bits, most significant first */
    for (int i = 0; i < k; i++, b->pos++) {
        if ((b->pos >> 3) >= (uint64_t)b->n) return -1;
        *code = (*code << 1) | ((b->p[b->pos >> 3] >> (b->pos & 7)) & 1);
    }
    return 0;
}

/* inflate one final fixed-Huffman block (the only kind the canonical deflater writes) into out[0..limit];
 * returns the length, or -1 (anything else: the reference decides) */
static Py_ssize_t inflate_fixed(const unsigned char *blk, Py_ssize_t n, unsigned char *out, Py_ssize_t limit) {
    LBits b = {blk, n, 0};
    uint32_t hdr, c = 0, v;
    Py_ssize_t o = 0;
    if (lb_get(&b, 3, &hdr) || hdr != 3) return -1; /* BFINAL = 1, BTYPE = 01 */
    for (;;) {
        int sym;
        c = 0;
        if (lb_code(&b, 7, &c)) return -1;
        if (c <= 23) sym = 256 + (int)c;
        else {
            if (lb_code(&b, 1, &c)) return -1;
            if (c >= 48 && c <= 191) sym = (int)c - 48;
            else if (c >= 192 && c <= 199) sym = 280 + (int)c - 192;
            else {
                if (lb_code(&b, 1, &c)) return -1;
                if (c < 400) return -1;
                sym = 144 + (int)c - 400;
            }
        }
        if (sym < 256) {
            if (o >= limit) return -1;
            out[o++] = (unsigned char)sym;
        } else if (sym == 256) {
            return o;
        } else {
            int li = sym - 257;
            if (li > 28) return -1;
            if (lb_get(&b, LEN_EXTRA[li], &v)) return -1;
            uint32_t len = LEN_BASE[li] + v, dc = 0;
            if (lb_code(&b, 5, &dc) || dc > 29) return -1;
            if (lb_get(&b, DIST_EXTRA[dc], &v)) return -1;
            uint32_t dist = DIST_BASE[dc] + v;
            if ((Py_ssize_t)dist > o || o + (Py_ssize_t)len > limit) return -1;
            for (uint32_t k = 0; k < len; k++, o++) out[o] = out[o - dist];
        }
    }
}

typedef struct { unsigned char *p; Py_ssize_t cap; uint64_t acc; int nbits; Py_ssize_t n; } LOut;

static inline void lo_put(LOut *w, uint32_t bits, int k) { /* k <= 31 */
    w->acc |= (uint64_t)bits << w->nbits;
    w->nbits += k;
    while (w->nbits >= 8) {
        if (w->n < w->cap) w->p[w->n] = (unsigned char)w->acc;
        w->n++;
        w->acc >>= 8;
        w->nbits -= 8;
    }
}

static uint32_t rev_bits(uint32_t c, int k) { uint32_t r = 0; for (int i = 0; i < k; i++) { r = (r << 1) | (c & 1); c >>= 1; } return r; }

static void put_litlen(LOut *w, int sym) { /* RFC 1951 §3.2.6 fixed code */
    if (sym < 144) lo_put(w, rev_bits(0x30 + (uint32_t)sym, 8), 8);
    else if (sym < 256) lo_put(w, rev_bits(0x190 + (uint32_t)sym - 144, 9), 9);
    else if (sym < 280) lo_put(w, rev_bits((uint32_t)sym - 256, 7), 7);
    else lo_put(w, rev_bits(0xC0 + (uint32_t)sym - 280, 8), 8);
}

/* The canonical deflater (SPEC.md §7.3, aigif/text/deflate.py) of d[0..n) into buf (2n + 16 bytes);
 * returns the output's length, -1 (no memory), or -2 when `expect` is given and the output is longer
 * than `en` bytes (it stops there: the caller compares) */
static Py_ssize_t canon_deflate(const unsigned char *d, Py_ssize_t n, unsigned char *buf, const unsigned char *expect, Py_ssize_t en) {
    Py_ssize_t cap = 2 * n + 16;
    uint32_t hsize = 64;
    while (hsize < 2 * (uint32_t)n + 2) hsize <<= 1;
    int32_t *prev = PyMem_Malloc(sizeof(int32_t) * (size_t)(n + 1));
    uint32_t *hkey = PyMem_Calloc(hsize, sizeof(uint32_t)); /* key + 1 (0: empty) */
    int32_t *hhead = PyMem_Malloc(sizeof(int32_t) * hsize);
    Py_ssize_t ret = -1;
    if (!prev || !hkey || !hhead) goto end;
    LOut w = {buf, cap, 0, 0, 0};
    lo_put(&w, 3, 3);
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t best_len = 0, best_dist = 0;
        if (i + 3 <= n) {
            uint32_t key = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
            uint32_t h = (key * 2654435761u) & (hsize - 1);
            while (hkey[h] && hkey[h] != key + 1) h = (h + 1) & (hsize - 1);
            if (hkey[h]) {
                Py_ssize_t limit = n - i < 258 ? n - i : 258;
                int32_t p = hhead[h];
                for (int cand = 0; cand < 32 && p >= 0; cand++, p = prev[p]) {
                    if (i - p > 32768) break;
                    Py_ssize_t len = 3;
                    while (len < limit && d[p + len] == d[i + len]) len++;
                    if (len > best_len) {
                        best_len = len;
                        best_dist = i - p;
                        if (len == limit) break;
                    }
                }
            }
        }
        Py_ssize_t step = best_len >= 3 ? best_len : 1;
        if (best_len >= 3) {
            int li = 0;
            if (best_len == 258) li = 28;
            else while (li < 27 && LEN_BASE[li + 1] <= best_len) li++;
            put_litlen(&w, 257 + li);
            if (LEN_EXTRA[li]) lo_put(&w, (uint32_t)(best_len - LEN_BASE[li]), LEN_EXTRA[li]);
            int di = 0;
            while (di < 29 && DIST_BASE[di + 1] <= best_dist) di++;
            lo_put(&w, rev_bits((uint32_t)di, 5), 5);
            if (DIST_EXTRA[di]) lo_put(&w, (uint32_t)(best_dist - DIST_BASE[di]), DIST_EXTRA[di]);
        } else {
            put_litlen(&w, d[i]);
        }
        Py_ssize_t stop = i + step < n - 2 ? i + step : n - 2;
        for (Py_ssize_t j = i; j < stop; j++) { /* every position becomes a candidate */
            uint32_t key = (uint32_t)d[j] << 16 | (uint32_t)d[j + 1] << 8 | d[j + 2];
            uint32_t h = (key * 2654435761u) & (hsize - 1);
            while (hkey[h] && hkey[h] != key + 1) h = (h + 1) & (hsize - 1);
            if (hkey[h]) prev[j] = hhead[h];
            else { hkey[h] = key + 1; prev[j] = -1; }
            hhead[h] = (int32_t)j;
        }
        i += step;
        if (expect && w.n > en) { ret = -2; goto end; } /* already longer than the block */
    }
    put_litlen(&w, 256);
    if (w.nbits) lo_put(&w, 0, 8 - w.nbits);
    ret = w.n <= cap ? w.n : -1;
end:
    PyMem_Free(prev);
    PyMem_Free(hkey);
    PyMem_Free(hhead);
    return ret;
}

/* 1 if blk[0..bn) is exactly the canonical deflater's output for d[0..n), 0 if not, -1 no memory */
static int is_canonical_deflate(const unsigned char *d, Py_ssize_t n, const unsigned char *blk, Py_ssize_t bn) {
    unsigned char *buf = PyMem_Malloc((size_t)(2 * n + 16));
    if (!buf) return -1;
    Py_ssize_t k = canon_deflate(d, n, buf, blk, bn);
    int ret = k == -1 ? -1 : k == bn && !memcmp(buf, blk, (size_t)bn);
    PyMem_Free(buf);
    return ret;
}

static PyObject *py_deflate(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer b;
    if (!PyArg_ParseTuple(args, "y*", &b)) return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, 2 * b.len + 16);
    if (out) {
        Py_ssize_t k = canon_deflate(b.buf, b.len, (unsigned char *)PyBytes_AS_STRING(out), NULL, 0);
        if (k < 0) { Py_CLEAR(out); PyErr_NoMemory(); }
        else _PyBytes_Resize(&out, k);
    }
    PyBuffer_Release(&b);
    return out;
}

/* unframe (SPEC.md §7.1) exactly `count` strings of framed[0..n): their offsets and lengths; 0 ok */
static int unframe(const unsigned char *f, Py_ssize_t n, Py_ssize_t count, Py_ssize_t *at, uint32_t *lens) {
    Py_ssize_t q = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t sl;
        if (read_uvarint(f, &q, n, &sl) || sl > (uint64_t)(n - q)) return -1;
        at[i] = q;
        lens[i] = (uint32_t)sl;
        q += (Py_ssize_t)sl;
    }
    if (q != n) return -1;
    for (Py_ssize_t i = 0; i < count; i++) if (!utf8_valid(f + at[i], lens[i])) return -1;
    return 0;
}

static int append_utf8(PyObject *list, const unsigned char *f, Py_ssize_t n) {
    PyObject *s = PyUnicode_DecodeUTF8((const char *)f, n, "strict");
    if (!s) return -1;
    int e = PyList_Append(list, s);
    Py_DECREF(s);
    return e;
}

