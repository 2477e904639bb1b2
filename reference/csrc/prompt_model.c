/* aigif._speedups: the prompt coder's model file (SPEC.md Appendix E.2).
 * A part of one translation unit: included by reference/aigif/_speedups.c, not compiled alone. */

/* ------------------------------------------------------------------ the prompt model (Appendix E.2) */
typedef struct { uint32_t soff, coff, n, total, wlo, whi, wbase, wtot; } Tab;
#define MAX_WLEN 1024 /* longest word a model may have here */

typedef struct {
    int32_t n_other, n_words, n_buckets, n_top;
    uint32_t max_wlen;
    int32_t backoff, esc_word, first_word, first_bucket, first_mod, bos, n_ids;
    uint8_t *other_sp;
    uint32_t *other_cp;
    uint32_t *word_off; /* n_words + 1 */
    char *word_chars;
    uint32_t *whash; uint32_t wmask; /* word -> id + 1 */
    uint32_t *ohash; uint32_t omask; /* (cp << 1 | sp) + 1 -> id + 1, two slots per entry */
    int32_t *bucket_start, *bucket_size;
    Tab *tabs; uint32_t n_tabs, cap_tabs;
    int32_t *syms; uint32_t n_syms, cap_syms;
    uint32_t *cums; uint32_t n_cums, cap_cums;
    uint32_t order0, cpclass, letters[27];
    int32_t *ctx1; /* n_ids: table index or -1 */
    uint64_t *ctx2_keys; uint32_t *ctx2_tab; uint32_t n_ctx2;
} PModel;

static void pmodel_free(PModel *m) {
    if (!m) return;
    PyMem_Free(m->other_sp); PyMem_Free(m->other_cp); PyMem_Free(m->word_off); PyMem_Free(m->word_chars);
    PyMem_Free(m->whash); PyMem_Free(m->ohash); PyMem_Free(m->bucket_start); PyMem_Free(m->bucket_size);
    PyMem_Free(m->tabs); PyMem_Free(m->syms); PyMem_Free(m->cums); PyMem_Free(m->ctx1);
    PyMem_Free(m->ctx2_keys); PyMem_Free(m->ctx2_tab);
    PyMem_Free(m);
}

static void model_capsule_free(PyObject *cap) { pmodel_free((PModel *)PyCapsule_GetPointer(cap, "aigif.pmodel")); }

typedef struct { const unsigned char *b; Py_ssize_t n, pos; int bad; } Blob;

static uint32_t uvar(Blob *s) { /* at most 4 bytes, minimal */
    uint32_t v = 0;
    int shift = 0;
    for (;;) {
        if (s->pos >= s->n || shift > 21) { s->bad = 1; return 0; }
        unsigned b = s->b[s->pos++];
        v |= (uint32_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            if (b == 0 && shift) s->bad = 1;
            return v;
        }
        shift += 7;
    }
}

static uint32_t whash_of(const char *w, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static int grow(void **p, uint32_t *cap, uint32_t need, size_t size) {
    if (need <= *cap) return 0;
    uint32_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = PyMem_Realloc(*p, (size_t)c * size);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static int read_tab(Blob *s, PModel *m, uint32_t *out) {
    uint32_t n = uvar(s);
    if (s->bad || n == 0 || n > 70000) return -1;
    if (grow((void **)&m->tabs, &m->cap_tabs, m->n_tabs + 1, sizeof(Tab))
        || grow((void **)&m->syms, &m->cap_syms, m->n_syms + n, sizeof(int32_t))
        || grow((void **)&m->cums, &m->cap_cums, m->n_cums + n + 1, sizeof(uint32_t))) return -1;
    Tab *t = &m->tabs[m->n_tabs];
    t->soff = m->n_syms;
    t->coff = m->n_cums;
    t->n = n;
    int64_t sid = -1;
    uint32_t c = 0;
    m->cums[t->coff] = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t dlt = uvar(s), f = uvar(s);
        sid += (int64_t)dlt + 1;
        if (s->bad || f == 0 || sid >= m->n_ids) return -1;
        c += f;
        if (c > 65536) return -1;
        m->syms[t->soff + i] = (int32_t)sid;
        m->cums[t->coff + i + 1] = c;
    }
    t->total = c;
    /* word class [wlo, whi): backoff <= id < first_mod */
    uint32_t i = 0;
    while (i < n && m->syms[t->soff + i] < m->backoff) i++;
    t->wlo = i;
    while (i < n && m->syms[t->soff + i] < m->first_mod) i++;
    t->whi = i;
    t->wbase = m->cums[t->coff + t->wlo];
    t->wtot = m->cums[t->coff + t->whi] - t->wbase;
    m->n_syms += n;
    m->n_cums += n + 1;
    *out = m->n_tabs++;
    return 0;
}

static int tab_has(PModel *m, uint32_t ti, int32_t sym) {
    Tab *t = &m->tabs[ti];
    const int32_t *s = m->syms + t->soff;
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s[mid] < sym) lo = mid + 1; else hi = mid;
    }
    return lo < t->n && s[lo] == sym;
}

/* decode one UTF-8 code point of an "other" symbol's text; -1 if not one code point */
static int64_t one_cp(const unsigned char *p, uint32_t n) {
    if (n == 1 && p[0] < 0x80) return p[0];
    if (n == 2 && (p[0] & 0xE0) == 0xC0) return ((p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    if (n == 3 && (p[0] & 0xF0) == 0xE0) return ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (n == 4 && (p[0] & 0xF8) == 0xF0) return ((int64_t)(p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    return -1;
}

static int32_t other_lookup(PModel *m, int sp, uint32_t cp) {
    uint32_t key = (cp << 1 | (uint32_t)sp) + 1;
    uint32_t h = (key * 2654435761u) & m->omask;
    while (m->ohash[2 * h]) {
        if (m->ohash[2 * h] == key) return (int32_t)m->ohash[2 * h + 1] - 1;
        h = (h + 1) & m->omask;
    }
    return -1;
}

static int32_t word_lookup(PModel *m, const char *w, uint32_t n) {
    uint32_t h = whash_of(w, n) & m->wmask;
    while (m->whash[h]) {
        uint32_t id = m->whash[h] - 1;
        uint32_t o = m->word_off[id], l = m->word_off[id + 1] - o;
        if (l == n && !memcmp(m->word_chars + o, w, n)) return (int32_t)id;
        h = (h + 1) & m->wmask;
    }
    return -1;
}

/* load_model(blob) -> capsule: the caller checked the blob's SHA-256 */
static PyObject *load_model(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "y*", &buf)) return NULL;
    PModel *m = PyMem_Calloc(1, sizeof(PModel));
    if (!m) { PyBuffer_Release(&buf); return PyErr_NoMemory(); }
    Blob s = {buf.buf, buf.len, 9, 0};
    const char *why = "bad model";
    if (buf.len < 9 || memcmp(buf.buf, "AIGIFTXT", 8) || ((unsigned char *)buf.buf)[8] != 1) goto bad;
    m->n_other = (int32_t)uvar(&s);
    if (s.bad) goto bad;
    m->other_sp = PyMem_Calloc(m->n_other + 1, 1);
    m->other_cp = PyMem_Calloc(m->n_other + 1, sizeof(uint32_t));
    if (!m->other_sp || !m->other_cp) goto nomem;
    for (int32_t i = 0; i < m->n_other; i++) {
        uint32_t ln = uvar(&s);
        if (s.bad || s.pos + ln > s.n || ln == 0) goto bad;
        const unsigned char *p = s.b + s.pos;
        int64_t cp;
        if (p[0] == ' ' && ln > 1) { m->other_sp[i] = 1; cp = one_cp(p + 1, ln - 1); }
        else cp = one_cp(p, ln);
        if (cp < 0 || (m->other_sp[i] && cp == ' ')) { why = "an other symbol that is not one code point"; goto bad; }
        m->other_cp[i] = (uint32_t)cp;
        s.pos += ln;
    }
    m->n_words = (int32_t)uvar(&s);
    if (s.bad) goto bad;
    m->word_off = PyMem_Calloc(m->n_words + 1, sizeof(uint32_t));
    uint32_t wcap = 0, wlen = 0;
    if (!m->word_off) goto nomem;
    for (int32_t i = 0; i < m->n_words; i++) {
        uint32_t keep = uvar(&s), ln = uvar(&s);
        uint32_t prev = i ? m->word_off[i] - m->word_off[i - 1] : 0;
        if (s.bad || keep > prev || s.pos + ln > s.n || keep + ln == 0) goto bad;
        if (grow((void **)&m->word_chars, &wcap, wlen + keep + ln, 1)) goto nomem;
        if (keep) memmove(m->word_chars + wlen, m->word_chars + m->word_off[i - 1], keep);
        memcpy(m->word_chars + wlen + keep, s.b + s.pos, ln);
        for (uint32_t k = 0; k < keep + ln; k++) {
            char c = m->word_chars[wlen + k];
            if (c < 'a' || c > 'z') { why = "a word that is not lowercase ASCII"; goto bad; }
        }
        if (keep + ln > MAX_WLEN) { why = "a word too long for the accelerator"; goto bad; }
        if (keep + ln > m->max_wlen) m->max_wlen = keep + ln;
        s.pos += ln;
        wlen += keep + ln;
        m->word_off[i + 1] = wlen;
    }
    m->n_buckets = (int32_t)uvar(&s);
    m->n_top = (int32_t)uvar(&s);
    if (s.bad) goto bad;
    m->bucket_start = PyMem_Calloc(m->n_buckets + 1, sizeof(int32_t));
    m->bucket_size = PyMem_Calloc(m->n_buckets + 1, sizeof(int32_t));
    if (!m->bucket_start || !m->bucket_size) goto nomem;
    m->backoff = 3 + m->n_other;
    m->esc_word = m->backoff + 1;
    m->first_word = m->esc_word + 1;
    m->first_bucket = m->first_word + m->n_words;
    m->first_mod = m->first_bucket + m->n_buckets;
    m->bos = m->first_mod + 5;
    m->n_ids = m->bos + 3;
    {
        int64_t st = m->first_word + m->n_top, sum = m->n_top;
        for (int32_t i = 0; i < m->n_buckets; i++) {
            uint32_t v = uvar(&s);
            if (s.bad || v == 0 || v > 65536) goto bad;
            m->bucket_start[i] = (int32_t)st;
            m->bucket_size[i] = (int32_t)v;
            st += v;
            sum += v;
        }
        if (sum != m->n_words) goto bad;
    }
    if (read_tab(&s, m, &m->order0)) goto bad;
    m->ctx1 = PyMem_Malloc(sizeof(int32_t) * (size_t)m->n_ids);
    if (!m->ctx1) goto nomem;
    for (int32_t i = 0; i < m->n_ids; i++) m->ctx1[i] = -1;
    {
        uint32_t n = uvar(&s);
        int64_t c = -1;
        if (s.bad) goto bad;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t t;
            c += (int64_t)uvar(&s) + 1;
            if (s.bad || read_tab(&s, m, &t)) goto bad;
            if (c < m->n_ids) m->ctx1[c] = (int32_t)t;
        }
    }
    {
        uint32_t n = uvar(&s);
        if (s.bad) goto bad;
        m->ctx2_keys = PyMem_Malloc(sizeof(uint64_t) * (n + 1));
        m->ctx2_tab = PyMem_Malloc(sizeof(uint32_t) * (n + 1));
        if (!m->ctx2_keys || !m->ctx2_tab) goto nomem;
        int64_t last = -1;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t a = uvar(&s), b = uvar(&s), t;
            if (s.bad || a >= (uint32_t)m->n_ids || b >= (uint32_t)m->n_ids || read_tab(&s, m, &t)) goto bad;
            int64_t key = (int64_t)a * m->n_ids + b;
            if (key <= last) goto bad;
            last = key;
            m->ctx2_keys[i] = (uint64_t)key;
            m->ctx2_tab[i] = t;
        }
        m->n_ctx2 = n;
    }
    for (int i = 0; i < 27; i++) if (read_tab(&s, m, &m->letters[i])) goto bad;
    if (read_tab(&s, m, &m->cpclass)) goto bad;
    if (s.pos != s.n) goto bad;
    /* the ids the decoder relies on: letters and code point classes (E.2) */
    for (int i = 0; i < 27; i++) {
        Tab *t = &m->tabs[m->letters[i]];
        if (t->n != (i ? 27u : 26u)) goto bad;
        for (uint32_t k = 0; k < t->n; k++) if (m->syms[t->soff + k] != (int32_t)(i ? k : k + 1)) goto bad;
    }
    if (m->tabs[m->cpclass].n != 4) goto bad;
    /* hash tables */
    {
        uint32_t sz = 1;
        while (sz < 2u * (uint32_t)m->n_words + 2) sz <<= 1;
        m->wmask = sz - 1;
        m->whash = PyMem_Calloc(sz, sizeof(uint32_t));
        if (!m->whash) goto nomem;
        for (int32_t i = 0; i < m->n_words; i++) { /* a later duplicate replaces an earlier one, as in a dict */
            uint32_t o = m->word_off[i], l = m->word_off[i + 1] - o;
            uint32_t h = whash_of(m->word_chars + o, l) & m->wmask;
            while (m->whash[h]) {
                uint32_t id = m->whash[h] - 1;
                if (m->word_off[id + 1] - m->word_off[id] == l && !memcmp(m->word_chars + m->word_off[id], m->word_chars + o, l)) break;
                h = (h + 1) & m->wmask;
            }
            m->whash[h] = (uint32_t)i + 1;
        }
        sz = 1;
        while (sz < 2u * (uint32_t)m->n_other + 2) sz <<= 1;
        m->omask = sz - 1;
        m->ohash = PyMem_Calloc(2 * sz, sizeof(uint32_t));
        if (!m->ohash) goto nomem;
        for (int32_t i = 0; i < m->n_other; i++) {
            uint32_t key = (m->other_cp[i] << 1 | m->other_sp[i]) + 1;
            uint32_t h = (key * 2654435761u) & m->omask;
            while (m->ohash[2 * h] && m->ohash[2 * h] != key) h = (h + 1) & m->omask;
            m->ohash[2 * h] = key;
            m->ohash[2 * h + 1] = (uint32_t)(3 + i) + 1;
        }
    }
    PyBuffer_Release(&buf);
    PyObject *cap = PyCapsule_New(m, "aigif.pmodel", model_capsule_free);
    if (!cap) pmodel_free(m);
    return cap;
nomem:
    PyBuffer_Release(&buf);
    pmodel_free(m);
    return PyErr_NoMemory();
bad:
    PyBuffer_Release(&buf);
    pmodel_free(m);
    PyErr_SetString(PyExc_ValueError, why);
    return NULL;
}

