/* aigif._speedups: the prompt decoder (SPEC.md Appendix E.5–E.8).
 * A part of one translation unit: included by reference/aigif/_speedups.c, not compiled alone. */

/* ------------------------------------------------------------------ the prompt decoder (Appendix E.5-E.8) */
typedef struct { uint32_t *v; uint32_t n, cap; } Buf;

static int buf_push(Buf *b, uint32_t x) {
    if (b->n == b->cap) {
        uint32_t c = b->cap ? 2 * b->cap : 256;
        uint32_t *q = PyMem_Realloc(b->v, (size_t)c * sizeof(uint32_t));
        if (!q) return -1;
        b->v = q;
        b->cap = c;
    }
    b->v[b->n++] = x;
    return 0;
}

typedef struct {
    const unsigned char *data;
    Py_ssize_t ln, pos;
    uint64_t code, rng;
    uint32_t low;
} RC;

static inline void rc_norm(RC *r) {
    while (r->rng < (1u << 24)) {
        r->code = (r->code << 8) | (r->pos < r->ln ? r->data[r->pos] : 0);
        r->low <<= 8;
        r->pos++;
        r->rng <<= 8;
    }
}

static int rc_uniform(RC *r, uint32_t size, uint32_t *out) {
    uint64_t q = r->rng / size;
    uint64_t v = r->code / q;
    if (v >= size) return -1;
    r->code -= q * v;
    r->low += (uint32_t)(q * v);
    r->rng = q;
    rc_norm(r);
    *out = (uint32_t)v;
    return 0;
}

/* one entry of table t (restricted to its word class when `restrict`); returns the symbol,
 * -1 (a code value outside the table) or -2 (an empty table: not decided here) */
static int32_t rc_symbol(RC *r, PModel *m, uint32_t ti, int restrict_) {
    Tab *t = &m->tabs[ti];
    uint32_t tot = restrict_ ? t->wtot : t->total, base = restrict_ ? t->wbase : 0;
    if (tot == 0) return -2;
    uint64_t q = r->rng / tot;
    uint64_t v = r->code / q;
    if (v >= tot) return -1;
    const uint32_t *cum = m->cums + t->coff;
    uint32_t x = (uint32_t)v + base, lo = 0, hi = t->n; /* largest j with cum[j] <= x */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (cum[mid] <= x) lo = mid; else hi = mid;
    }
    uint32_t c0 = cum[lo];
    r->code -= q * (c0 - base);
    r->low += (uint32_t)(q * (c0 - base));
    r->rng = q * (cum[lo + 1] - c0);
    rc_norm(r);
    return m->syms[t->soff + lo];
}

static int32_t ctx2_find(PModel *m, int32_t p2, int32_t p1) {
    uint64_t key = (uint64_t)p2 * (uint64_t)m->n_ids + (uint64_t)p1;
    uint32_t lo = 0, hi = m->n_ctx2;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (m->ctx2_keys[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo < m->n_ctx2 && m->ctx2_keys[lo] == key ? (int32_t)m->ctx2_tab[lo] : -1;
}

static const int MOD_SP[5] = {0, 1, 1, 0, 0};
static const int MOD_CASE[5] = {0, 1, 2, 1, 2};
/* (space?, case) -> modifier offset or -1 */
static const int MOD_OF[2][3] = {{0, 3, 4}, {-1, 1, 2}};

static int utf8_len_cp(uint32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

#define IS_LO(c) ((c) >= 'a' && (c) <= 'z')
#define IS_UP(c) ((c) >= 'A' && (c) <= 'Z')

/* E.7 check 4: tokenising t[0..n) (E.4) gives exactly the recorded symbols rec */
static int tokens_match(PModel *m, const uint32_t *t, uint32_t n, const Buf *rec) {
    uint32_t ri = 0, i = 0;
    char w[MAX_WLEN];
    if (n <= 1) return rec->n == 0; /* t is " " + s: an empty s has no symbols (E.4 step 1), even if t is " " */
#define EMIT(x) do { if (ri >= rec->n || rec->v[ri] != (uint32_t)(x)) return 0; ri++; } while (0)
    while (i < n) {
        int sp = 0;
        uint32_t j = i;
        if (t[i] == ' ') {
            if (i + 1 < n && t[i + 1] != ' ') { sp = 1; j = i + 1; }
            else {
                int32_t sid = other_lookup(m, 0, ' ');
                if (sid < 0) { EMIT(1); EMIT(0x20); } else EMIT(sid);
                i++;
                continue;
            }
        }
        uint32_t c = t[j], k;
        int cs = -1;
        if (IS_LO(c)) { k = j + 1; while (k < n && IS_LO(t[k])) k++; cs = 0; }
        else if (IS_UP(c)) {
            if (j + 1 < n && IS_LO(t[j + 1])) { k = j + 2; while (k < n && IS_LO(t[k])) k++; cs = 1; }
            else {
                k = j + 1;
                while (k < n && IS_UP(t[k])) k++;
                if (k < n && IS_LO(t[k])) k--;
                cs = k - j >= 2 ? 2 : 1;
            }
        }
        if (cs >= 0) {
            uint32_t L = k - j;
            int md = MOD_OF[sp][cs];
            if (md >= 0) EMIT(m->first_mod + md);
            int32_t wid = -1;
            if (L <= m->max_wlen) {
                for (uint32_t q = 0; q < L; q++) w[q] = (char)(t[j + q] | 0x20);
                wid = word_lookup(m, w, L);
            }
            if (wid >= 0) EMIT(m->first_word + wid);
            else {
                EMIT(m->esc_word);
                EMIT(L);
                for (uint32_t q = 0; q < L; q++) EMIT(t[j + q] | 0x20);
            }
            i = k;
        } else {
            int32_t sid = other_lookup(m, sp, c);
            if (sid >= 0) EMIT(sid);
            else { EMIT(sp ? 2 : 1); EMIT(c); }
            i = j + 1;
        }
    }
#undef EMIT
    return ri == rec->n;
}

/* decode `count` strings from data[0..ln); 0 ok (strings appended to `out` when not NULL,
 * their UTF-8 lengths to lens), -1 not decided here (the reference decides), -2 Python error,
 * -3 rejected with the reference's error: *ecode, *emsg (the checks of Appendix E in the
 * reference's order, with its codes and messages) */
#define REJECT(c, msg) do { *ecode = (c); *emsg = (msg); ret = -3; goto done; } while (0)
#define CORRUPT(msg) REJECT("E_TEXT_CORRUPT", msg)
#define NONCANON(msg) REJECT("E_TEXT_NONCANONICAL", msg)
#define OUTSIDE(x) do { if ((x) == -1) CORRUPT("code value outside table"); goto done; } while (0)
static int prompt_decode(PModel *m, const unsigned char *data, Py_ssize_t ln, Py_ssize_t count, long limit,
                         PyObject *out, uint32_t *lens, const char **ecode, const char **emsg) {
    int ret = -1;
    Buf txt = {0}, rec = {0};
    if (ln && data[ln - 1] == 0) NONCANON("trailing zero byte");
    RC r = {data, ln, 4, 0, 0xFFFFFFFFu, 0};
    for (int i = 0; i < 4; i++) r.code = (r.code << 8) | (i < ln ? data[i] : 0);
    long total_out = 0;
    for (Py_ssize_t si = 0; si < count; si++) {
        int32_t p1 = m->bos + (si < 2 ? (int32_t)si : 2), p2 = -1;
        int mod = -1;
        uint32_t nparts = 0; /* pieces of this string so far (an empty spelled word is a piece with no text) */
        long start_total = total_out;
        txt.n = 0;
        rec.n = 0;
        for (;;) {
            int32_t t = p2 >= 0 ? ctx2_find(m, p2, p1) : -1;
            int lvl = 2;
            if (t < 0) {
                lvl = 1;
                t = m->ctx1[p1];
                if (t < 0) { t = (int32_t)m->order0; lvl = 0; }
            }
            int32_t esc[3];
            int nesc = 0;
            int32_t sym;
            for (;;) {
                sym = rc_symbol(&r, m, (uint32_t)t, mod >= 0);
                if (sym < 0) OUTSIDE(sym);
                if (sym != m->backoff) break;
                if (nesc == 3) goto done;
                esc[nesc++] = t;
                if (lvl == 2) {
                    lvl = 1;
                    t = m->ctx1[p1];
                    if (t < 0) { t = (int32_t)m->order0; lvl = 0; }
                } else if (lvl == 1) {
                    t = (int32_t)m->order0;
                    lvl = 0;
                } else goto done; /* BACKOFF in order0: the reference model has none */
            }
            if (sym >= m->first_bucket && sym < m->first_mod) {
                int32_t k = sym - m->first_bucket;
                uint32_t u;
                if (rc_uniform(&r, (uint32_t)m->bucket_size[k], &u)) CORRUPT("code value outside uniform range");
                sym = m->bucket_start[k] + (int32_t)u;
            }
            for (int e = 0; e < nesc; e++)
                if (tab_has(m, (uint32_t)esc[e], sym)) NONCANON("symbol coded after an escape from a table that has it");
            if (sym >= m->first_mod) {
                if (sym >= m->bos) goto done;
                mod = sym - m->first_mod;
                if (buf_push(&rec, (uint32_t)sym)) goto nomem;
                continue;
            }
            if (sym == 0) break; /* EOS */
            if (sym == m->backoff) goto done;
            if (buf_push(&rec, (uint32_t)sym)) goto nomem;
            uint32_t piece_start = txt.n;
            long piece_bytes = 0;
            int first = nparts++ == 0;
            if (sym >= m->first_word) {
                int32_t wi = sym - m->first_word;
                uint32_t o = m->word_off[wi], L = m->word_off[wi + 1] - o;
                int sp = mod < 0 || MOD_SP[mod], cs = mod < 0 ? 0 : MOD_CASE[mod];
                if (sp && buf_push(&txt, ' ')) goto nomem;
                for (uint32_t q = 0; q < L; q++) {
                    uint32_t ch = (unsigned char)m->word_chars[o + q];
                    if (cs == 2 || (cs == 1 && q == 0)) ch -= 32;
                    if (buf_push(&txt, ch)) goto nomem;
                }
                piece_bytes = (long)(txt.n - piece_start);
            } else if (sym == m->esc_word) {
                int sp = mod < 0 || MOD_SP[mod], cs = mod < 0 ? 0 : MOD_CASE[mod];
                int lead = !first && sp;
                if (sp && buf_push(&txt, ' ')) goto nomem;
                uint32_t wstart = txt.n;
                int32_t c = rc_symbol(&r, m, m->letters[0], 0);
                if (c < 0) OUTSIDE(c);
                if (buf_push(&rec, 0)) goto nomem; /* the word's length, filled in below */
                uint32_t len_at = rec.n - 1;
                while (c) {
                    uint32_t ch = 96 + (uint32_t)c;
                    if (buf_push(&rec, ch)) goto nomem;
                    if (cs == 2 || (cs == 1 && txt.n == wstart)) ch -= 32;
                    if (buf_push(&txt, ch)) goto nomem;
                    if (total_out + lead + (long)(txt.n - wstart) > limit) REJECT("E_TEXT_LIMIT", "decoded text exceeds limit");
                    c = rc_symbol(&r, m, m->letters[c], 0);
                    if (c < 0) OUTSIDE(c);
                }
                if (txt.n == wstart) {
                    /* an empty spelled word: never canonical (E.7 check 4 fails at the EOS, the tokeniser
                     * spells no empty word), but the reference meets other errors first: the Cap form has no
                     * first letter to uppercase, an empty first piece no implied space (its IndexError) */
                    if (cs == 1 || (first && !sp)) CORRUPT("invalid text data (IndexError)");
                }
                rec.v[len_at] = txt.n - wstart;
                piece_bytes = (long)(txt.n - piece_start);
            } else if (sym == 1 || sym == 2) {
                int32_t k = rc_symbol(&r, m, m->cpclass, 0);
                uint32_t val, v2, cp;
                static const uint32_t base[4] = {0, 0x80, 0x800, 0x10000}, size[4] = {0x80, 0x780, 0xF800, 0x100000};
                if (k < 0) OUTSIDE(k);
                if (k > 3) goto done;
                if (k == 3) {
                    if (rc_uniform(&r, 1024, &val) || rc_uniform(&r, 1024, &v2)) CORRUPT("code value outside uniform range");
                    val = val << 10 | v2;
                } else if (rc_uniform(&r, size[k], &val)) CORRUPT("code value outside uniform range");
                cp = base[k] + val;
                if (cp >= 0xD800 && cp <= 0xDFFF) CORRUPT("surrogate code point");
                if (buf_push(&rec, cp)) goto nomem;
                if (sym == 2 && buf_push(&txt, ' ')) goto nomem;
                if (buf_push(&txt, cp)) goto nomem;
                piece_bytes = (sym == 2) + utf8_len_cp(cp);
            } else if (sym >= 3 && sym < m->backoff) {
                int32_t oi = sym - 3;
                if (m->other_sp[oi] && buf_push(&txt, ' ')) goto nomem;
                if (buf_push(&txt, m->other_cp[oi])) goto nomem;
                piece_bytes = m->other_sp[oi] + utf8_len_cp(m->other_cp[oi]);
            } else goto done;
            mod = -1;
            if (first) {
                if (txt.n == 0) CORRUPT("invalid text data (IndexError)");
                if (txt.v[0] != ' ') NONCANON("string does not start with its implied space");
                total_out -= 1;
            }
            total_out += piece_bytes;
            if (total_out > limit) REJECT("E_TEXT_LIMIT", "decoded text exceeds limit");
            p2 = p1;
            p1 = sym;
        }
        if (!tokens_match(m, txt.v, txt.n, &rec)) NONCANON("symbols are not the canonical tokenisation");
        lens[si] = (uint32_t)(total_out - start_total);
        if (out) {
            PyObject *s = txt.n > 1 ? PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, txt.v + 1, txt.n - 1)
                                    : PyUnicode_FromStringAndSize("", 0);
            if (!s) goto pyerr;
            int e = PyList_Append(out, s);
            Py_DECREF(s);
            if (e) goto pyerr;
        }
    }
    {
        uint64_t exp, low = r.low;
        if (low == 0) exp = 0;
        else if (low + r.rng > ((uint64_t)1 << 32)) exp = ((uint64_t)1 << 32) - low;
        else exp = (((low + 0xFFFFFF) >> 24) << 24) - low;
        if (r.code != exp || ln > r.pos) NONCANON("bytes are not the canonical encoding of the decoded strings");
    }
    ret = 0;
    goto done;
nomem:
    ret = -1; /* the Python path decides */
    goto done;
pyerr:
    ret = -2;
done:
    PyMem_Free(txt.v);
    PyMem_Free(rec.v);
    return ret;
}

