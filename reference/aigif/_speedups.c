/* Optional accelerator of aigif.codec.read / validate (see aigif/_fast.py).
 *
 * It implements the accepting path of SPEC.md §9 for the common files: the
 * container (§4), the core (§5, driven by a program that aigif/_fast.py
 * compiles from the registry), no sections, and the text coders `none`
 * (§7.2), `deflate` (§7.3) and `prompt` (§7.4, Appendix E). It never
 * reports an error: on anything it does not accept -- an invalid file, or a
 * part it does not implement (sections, binary64 `dec` values, ...) -- it
 * returns None and the caller runs the Python reference on the file, which
 * gives the error code and message. So for every input the result is the
 * Python reference's result; tests/test_speedups.py checks that.
 *
 * The reference's text coders also call two functions of it directly:
 * decode_prompt (the strings, or the code and message of the Appendix E
 * check that fails first, in the reference's order, or None) and deflate
 * (the canonical deflater of SPEC.md §7.3, byte for byte).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>

#define TEXT_LIMIT 65536
#define MAX_SIDE 16384
#define SIZE_UNIT 64

/* ------------------------------------------------------------------ CRC-32 (zlib's) */
static uint32_t crc_table[8][256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][i] = c;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
}

static uint32_t crc32_of(const unsigned char *p, Py_ssize_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t a = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t b = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = crc_table[7][a & 0xFF] ^ crc_table[6][(a >> 8) & 0xFF] ^ crc_table[5][(a >> 16) & 0xFF] ^ crc_table[4][a >> 24]
          ^ crc_table[3][b & 0xFF] ^ crc_table[2][(b >> 8) & 0xFF] ^ crc_table[1][(b >> 16) & 0xFF] ^ crc_table[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* ------------------------------------------------------------------ bit reader (SPEC.md §3) */
typedef struct {
    const unsigned char *p; /* the reader's first byte */
    uint64_t pos, nbits;
} BR;

static int br_bits(BR *b, int n, uint64_t *out) { /* u(n), n <= 64 */
    if (b->pos + (uint64_t)n > b->nbits) return -1;
    uint64_t v = 0;
    while (n > 0) {
        unsigned byte = b->p[b->pos >> 3];
        int avail = 8 - (int)(b->pos & 7);
        int take = avail < n ? avail : n;
        v = (v << take) | ((byte >> (avail - take)) & ((1u << take) - 1));
        b->pos += take;
        n -= take;
    }
    *out = v;
    return 0;
}

static int br_ue(BR *b, uint64_t *out) { /* ue: at most 32 leading zeros */
    uint64_t rem = b->nbits - b->pos;
    uint64_t k = rem < 33 ? rem : 33;
    uint64_t zeros = 0;
    while (zeros < k) {
        uint64_t q = b->pos + zeros;
        if ((b->p[q >> 3] >> (7 - (q & 7))) & 1) break;
        zeros++;
    }
    if (zeros == k) return -1; /* overlong or past the end */
    b->pos += zeros + 1;
    uint64_t v;
    if (br_bits(b, (int)zeros, &v)) return -1;
    *out = ((uint64_t)1 << zeros) - 1 + v;
    return 0;
}

/* ------------------------------------------------------------------ the core program */
enum { OP_BOOL, OP_UINT, OP_DEC, OP_REF, OP_BYTES };
enum { CODE_U4, CODE_UE, CODE_EXP };

typedef struct {
    PyObject *name; /* borrowed from the spec the program holds */
    int op, coding, has_lo, has_hi;
    long long lo, hi;
    double dlo, dhi;
    PyObject *keys; /* list: id -> key or None (borrowed) */
} Field;

typedef struct {
    Py_ssize_t n;
    Field *f;
} FieldList;

typedef struct {
    int ok;
    FieldList family, model;
    long long g; /* size multiple */
    Py_ssize_t nstrings;
} ModelInfo;

typedef struct {
    PyObject *spec;
    PyObject *tc_keys, *dev_keys, *model_keys, *dtype_keys, *noise_keys;
    int tc_coding, dev_coding, model_coding, dtype_coding, noise_coding;
    Py_ssize_t n_tc, n_dev, n_model;
    int *tc_kind;
    FieldList *dev_fields; /* per device id; n = -1 when none */
    ModelInfo *models;
} Prog;

static void fieldlist_free(FieldList *fl) { PyMem_Free(fl->f); fl->f = NULL; }

static void prog_free(PyObject *cap) {
    Prog *p = (Prog *)PyCapsule_GetPointer(cap, "aigif.prog");
    if (!p) return;
    if (p->dev_fields) for (Py_ssize_t i = 0; i < p->n_dev; i++) fieldlist_free(&p->dev_fields[i]);
    if (p->models) for (Py_ssize_t i = 0; i < p->n_model; i++) { fieldlist_free(&p->models[i].family); fieldlist_free(&p->models[i].model); }
    PyMem_Free(p->dev_fields);
    PyMem_Free(p->models);
    PyMem_Free(p->tc_kind);
    Py_XDECREF(p->spec);
    PyMem_Free(p);
}

static int parse_fields(PyObject *lst, FieldList *fl) {
    if (!PyList_Check(lst)) { PyErr_SetString(PyExc_TypeError, "field list"); return -1; }
    fl->n = PyList_GET_SIZE(lst);
    fl->f = PyMem_Calloc(fl->n ? fl->n : 1, sizeof(Field));
    if (!fl->f) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < fl->n; i++) {
        PyObject *t = PyList_GET_ITEM(lst, i);
        Field *f = &fl->f[i];
        PyObject *a, *b;
        /* (name, op, a, b, keys, coding) */
        if (!PyArg_ParseTuple(t, "UiOOOi", &f->name, &f->op, &a, &b, &f->keys, &f->coding)) return -1;
        if (f->op == OP_UINT || f->op == OP_BYTES) {
            f->lo = PyLong_AsLongLong(a);
            f->hi = b == Py_None ? 0 : PyLong_AsLongLong(b);
            if (PyErr_Occurred()) return -1;
        } else if (f->op == OP_DEC) {
            f->has_lo = a != Py_None;
            f->has_hi = b != Py_None;
            f->dlo = f->has_lo ? PyFloat_AsDouble(a) : 0;
            f->dhi = f->has_hi ? PyFloat_AsDouble(b) : 0;
            if (PyErr_Occurred()) return -1;
        } else if (f->op == OP_REF) {
            if (!PyList_Check(f->keys)) { PyErr_SetString(PyExc_TypeError, "ref keys"); return -1; }
        }
    }
    return 0;
}

/* compile(spec) -> capsule. spec = (tc_keys, tc_kinds, dev_keys, dev_fields, model_keys, model_infos,
 * dtype_keys, noise_keys, (codings of text_coders, devices, models, dtypes, noise_sources)) */
static PyObject *compile_prog(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *spec;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &spec)) return NULL;
    Prog *p = PyMem_Calloc(1, sizeof(Prog));
    if (!p) return PyErr_NoMemory();
    PyObject *cap = PyCapsule_New(p, "aigif.prog", prog_free);
    if (!cap) { PyMem_Free(p); return NULL; }
    Py_INCREF(spec);
    p->spec = spec;
    PyObject *tc_kinds, *dev_fields, *model_infos;
    if (!PyArg_ParseTuple(spec, "O!O!O!O!O!O!O!O!(iiiii)", &PyList_Type, &p->tc_keys, &PyList_Type, &tc_kinds,
                          &PyList_Type, &p->dev_keys, &PyList_Type, &dev_fields, &PyList_Type, &p->model_keys,
                          &PyList_Type, &model_infos, &PyList_Type, &p->dtype_keys, &PyList_Type, &p->noise_keys,
                          &p->tc_coding, &p->dev_coding, &p->model_coding, &p->dtype_coding, &p->noise_coding))
        goto fail;
    p->n_tc = PyList_GET_SIZE(p->tc_keys);
    p->n_dev = PyList_GET_SIZE(p->dev_keys);
    p->n_model = PyList_GET_SIZE(p->model_keys);
    if (PyList_GET_SIZE(tc_kinds) != p->n_tc || PyList_GET_SIZE(dev_fields) != p->n_dev || PyList_GET_SIZE(model_infos) != p->n_model) {
        PyErr_SetString(PyExc_ValueError, "program tables of unequal length");
        goto fail;
    }
    p->tc_kind = PyMem_Calloc(p->n_tc + 1, sizeof(int));
    p->dev_fields = PyMem_Calloc(p->n_dev + 1, sizeof(FieldList));
    p->models = PyMem_Calloc(p->n_model + 1, sizeof(ModelInfo));
    if (!p->tc_kind || !p->dev_fields || !p->models) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t i = 0; i < p->n_tc; i++) {
        p->tc_kind[i] = (int)PyLong_AsLong(PyList_GET_ITEM(tc_kinds, i));
        if (PyErr_Occurred()) goto fail;
    }
    for (Py_ssize_t i = 0; i < p->n_dev; i++) {
        PyObject *fl = PyList_GET_ITEM(dev_fields, i);
        if (fl == Py_None) { p->dev_fields[i].n = -1; continue; }
        if (parse_fields(fl, &p->dev_fields[i])) goto fail;
    }
    for (Py_ssize_t i = 0; i < p->n_model; i++) {
        PyObject *mi = PyList_GET_ITEM(model_infos, i);
        if (mi == Py_None) continue;
        PyObject *fam, *mod;
        ModelInfo *m = &p->models[i];
        if (!PyArg_ParseTuple(mi, "OOLn", &fam, &mod, &m->g, &m->nstrings)) goto fail;
        if (parse_fields(fam, &m->family) || parse_fields(mod, &m->model)) goto fail;
        if (m->g <= 0) { PyErr_SetString(PyExc_ValueError, "size multiple"); goto fail; }
        m->ok = 1;
    }
    return cap;
fail:
    Py_DECREF(cap);
    return NULL;
}

/* a registry reference; returns the key (borrowed) or NULL (unknown: fall back) */
static PyObject *read_ref(BR *b, int coding, PyObject *keys, uint64_t *idout) {
    uint64_t id = 0, v;
    if (coding == CODE_U4) {
        if (br_bits(b, 4, &id)) return NULL;
    } else if (coding == CODE_UE) {
        if (br_ue(b, &id)) return NULL;
    } else {
        int u;
        for (u = 0; u < 16; u++) {
            if (br_bits(b, 8, &v)) return NULL;
            if (v != 0xFF) { id += v; break; }
            id += 255;
        }
        if (u == 16) return NULL;
    }
    if (id >= (uint64_t)PyList_GET_SIZE(keys)) return NULL;
    PyObject *k = PyList_GET_ITEM(keys, (Py_ssize_t)id);
    if (idout) *idout = id;
    return k == Py_None ? NULL : k;
}

static const double POW10[7] = {1, 10, 100, 1000, 10000, 100000, 1000000};

/* the fields of one list into dict d (or only checked when d is NULL); 0 ok, -1 fall back, -2 Python error */
static int read_fields(BR *b, FieldList *fl, PyObject *d) {
    for (Py_ssize_t i = 0; i < fl->n; i++) {
        Field *f = &fl->f[i];
        PyObject *val = NULL;
        uint64_t v;
        switch (f->op) {
        case OP_BOOL:
            if (br_bits(b, 1, &v)) return -1;
            if (d) { val = v ? Py_True : Py_False; Py_INCREF(val); }
            break;
        case OP_UINT: {
            if (br_ue(b, &v)) return -1;
            long long x = (long long)v + f->lo;
            if (x > f->hi) return -1;
            if (d && !(val = PyLong_FromLongLong(x))) return -2;
            break;
        }
        case OP_DEC: {
            uint64_t e, k;
            if (br_bits(b, 3, &e)) return -1;
            if (e == 7) return -1; /* binary64: the reference checks its decimal form */
            if (br_ue(b, &k)) return -1;
            long long m = k & 1 ? (long long)((k + 1) / 2) : -(long long)(k / 2);
            double x = (double)m / POW10[e];
            if ((f->has_lo && x < f->dlo) || (f->has_hi && x > f->dhi)) return -1;
            if ((m == 0 && e != 0) || (e > 0 && m % 10 == 0)) return -1;
            if (d && !(val = PyFloat_FromDouble(x))) return -2;
            break;
        }
        case OP_REF: {
            PyObject *key = read_ref(b, f->coding, f->keys, NULL);
            if (!key) return -1;
            if (d) { val = key; Py_INCREF(val); }
            break;
        }
        case OP_BYTES: {
            uint64_t n;
            if (br_ue(b, &n)) return -1;
            if ((long long)n > f->lo) return -1; /* lo holds max_len */
            if (b->pos + 8 * n > b->nbits) return -1;
            if (d) {
                val = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
                if (!val) return -2;
                unsigned char *o = (unsigned char *)PyBytes_AS_STRING(val);
                for (uint64_t j = 0; j < n; j++) { br_bits(b, 8, &v); o[j] = (unsigned char)v; }
            } else {
                b->pos += 8 * n;
            }
            break;
        }
        default:
            return -1;
        }
        if (d) {
            int r = PyDict_SetItem(d, f->name, val);
            Py_DECREF(val);
            if (r) return -2;
        }
    }
    return 0;
}

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

/* ------------------------------------------------------------------ the file (SPEC.md §9) */
#define NEW_DICT(x) do { if (build && !((x) = PyDict_New())) goto pyerr; } while (0)

/* read(data, prog, prompt_model or None, build) -> None (not accepted here: run the reference),
 * True (valid; build false) or the tuple (text_coder, device, platform, model, dtype, noise,
 * height, width, seed, fields, model_fields, strings) */
static PyObject *fast_read(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer buf;
    PyObject *progcap, *modelcap;
    int build;
    if (!PyArg_ParseTuple(args, "y*OOp", &buf, &progcap, &modelcap, &build)) return NULL;
    Prog *p = PyCapsule_GetPointer(progcap, "aigif.prog");
    PModel *pm = modelcap == Py_None ? NULL : PyCapsule_GetPointer(modelcap, "aigif.pmodel");
    if (!p || (modelcap != Py_None && !pm)) { PyBuffer_Release(&buf); return NULL; }
    const unsigned char *d = buf.buf;
    Py_ssize_t n = buf.len, pos = 4;
    PyObject *platform = NULL, *fields = NULL, *model_fields = NULL, *strings = NULL, *result = NULL;
    uint32_t lens_small[8], *lens = lens_small;
    uint64_t L, v, id;
    /* §4: steps 1-5 */
    if (n < 4 || memcmp(d, "AIG", 3) || d[3] != 1) goto fallback;
    if (read_uvarint(d, &pos, n, &L) || L < 1 || L > 0xFFFFFFFFu) goto fallback;
    if ((uint64_t)(n - pos) != L + 4) goto fallback;
    Py_ssize_t start = pos, end = pos + (Py_ssize_t)L;
    uint32_t crc = (uint32_t)d[end] | (uint32_t)d[end + 1] << 8 | (uint32_t)d[end + 2] << 16 | (uint32_t)d[end + 3] << 24;
    if (crc32_of(d, end) != crc) goto fallback;
    /* §5: the core */
    BR b = {d + start, 0, 8 * L};
    if (br_bits(&b, 4, &v) || v) goto fallback; /* a section flag: the reference reads sections */
    PyObject *tc = read_ref(&b, p->tc_coding, p->tc_keys, &id);
    if (!tc) goto fallback;
    int kind = p->tc_kind[id];
    PyObject *dev = read_ref(&b, p->dev_coding, p->dev_keys, &id);
    if (!dev || p->dev_fields[id].n < 0) goto fallback;
    NEW_DICT(platform);
    int r = read_fields(&b, &p->dev_fields[id], platform);
    if (r == -2) goto pyerr;
    if (r) goto fallback;
    PyObject *model = read_ref(&b, p->model_coding, p->model_keys, &id);
    if (!model || !p->models[id].ok) goto fallback;
    ModelInfo *mi = &p->models[id];
    PyObject *dtype = read_ref(&b, p->dtype_coding, p->dtype_keys, NULL);
    if (!dtype) goto fallback;
    PyObject *noise = read_ref(&b, p->noise_coding, p->noise_keys, NULL);
    if (!noise) goto fallback;
    /* size */
    uint64_t ubit, hk, wk, c, seed;
    if (br_bits(&b, 1, &ubit)) goto fallback;
    long long g = mi->g, u = ubit ? SIZE_UNIT : g;
    if (br_ue(&b, &hk)) goto fallback;
    long long h = ((long long)hk + 1) * u;
    if (h > MAX_SIDE) goto fallback;
    if (br_ue(&b, &wk)) goto fallback;
    long long se = wk & 1 ? (long long)((wk + 1) / 2) : -(long long)(wk / 2);
    long long w = h + se * u;
    if (w < g || w > MAX_SIDE) goto fallback;
    if (u != SIZE_UNIT && h % SIZE_UNIT == 0 && w % SIZE_UNIT == 0 && SIZE_UNIT % g == 0) goto fallback;
    /* seed */
    static const int SEED_W[4] = {8, 16, 32, 64};
    if (br_bits(&b, 2, &c) || br_bits(&b, SEED_W[c], &seed)) goto fallback;
    if (c > 0 && seed < ((uint64_t)1 << SEED_W[c - 1])) goto fallback;
    NEW_DICT(fields);
    NEW_DICT(model_fields);
    r = read_fields(&b, &mi->family, fields);
    if (r == -2) goto pyerr;
    if (r) goto fallback;
    r = read_fields(&b, &mi->model, model_fields);
    if (r == -2) goto pyerr;
    if (r) goto fallback;
    {   /* padding (§3.10) */
        uint64_t pad = (8 - (b.pos & 7)) & 7, rem = b.nbits - b.pos;
        if (br_bits(&b, (int)(pad < rem ? pad : rem), &v) || v) goto fallback;
    }
    Py_ssize_t tpos = start + (Py_ssize_t)((b.pos + 7) / 8);
    /* §7: the text block */
    const unsigned char *blk = d + tpos;
    Py_ssize_t blen = end - tpos, count = mi->nstrings;
    if (count > 8 && !(lens = PyMem_Malloc(sizeof(uint32_t) * (size_t)count))) goto fallback;
    if (build && !(strings = PyList_New(0))) goto pyerr;
    if (count > 64) goto fallback;
    Py_ssize_t at[64];
    if (kind == 0) { /* none (§7.2): framed text */
        if (blen > TEXT_LIMIT || unframe(blk, blen, count, at, lens)) goto fallback;
        if (build) for (Py_ssize_t i = 0; i < count; i++) if (append_utf8(strings, blk + at[i], lens[i])) goto pyerr;
    } else if (kind == 1) { /* deflate (§7.3): inflate, unframe, then the block must be the canonical deflater's output */
        unsigned char small[4096], *fr = small;
        if (blen > 4096 / 2 && !(fr = PyMem_Malloc(TEXT_LIMIT + 1))) goto fallback;
        Py_ssize_t fn = inflate_fixed(blk, blen, fr, fr == small ? (Py_ssize_t)sizeof small : TEXT_LIMIT);
        if (fn < 0 && fr == small && blen <= 4096 / 2) { /* a short block that inflates past the small buffer */
            if (!(fr = PyMem_Malloc(TEXT_LIMIT + 1))) goto fallback;
            fn = inflate_fixed(blk, blen, fr, TEXT_LIMIT);
        }
        int okd = fn >= 0 && !unframe(fr, fn, count, at, lens) && is_canonical_deflate(fr, fn, blk, blen) == 1;
        if (okd && build) for (Py_ssize_t i = 0; i < count; i++) if (append_utf8(strings, fr + at[i], lens[i])) { okd = -1; break; }
        if (fr != small) PyMem_Free(fr);
        if (okd == -1) goto pyerr;
        if (!okd) goto fallback;
    } else if (kind == 2 && pm) { /* prompt (§7.4, Appendix E) */
        const char *ec, *em;
        r = prompt_decode(pm, blk, blen, count, TEXT_LIMIT, strings, lens, &ec, &em);
        if (r == -2) goto pyerr;
    if (r) goto fallback;
    } else goto fallback;
    {   /* the framed-text limit (§7.1) */
        uint64_t framed = 0;
        for (Py_ssize_t i = 0; i < count; i++) framed += (uint64_t)uvarint_len(lens[i]) + lens[i];
        if (framed > TEXT_LIMIT) goto fallback;
    }
    if (!build) {
        result = Py_True;
        Py_INCREF(result);
        goto out;
    }
    result = Py_BuildValue("(OOOOOOLLKOOO)", tc, dev, platform, model, dtype, noise, h, w, (unsigned long long)seed,
                           fields, model_fields, strings);
    goto out;
fallback:
    result = Py_None;
    Py_INCREF(result);
    goto out;
pyerr:
    result = NULL;
out:
    if (lens != lens_small) PyMem_Free(lens);
    Py_XDECREF(platform);
    Py_XDECREF(fields);
    Py_XDECREF(model_fields);
    Py_XDECREF(strings);
    PyBuffer_Release(&buf);
    return result;
}

/* decode_prompt(model, data, count, limit) -> list of strings, (code, message) of the reference's
 * error, or None (the reference decides) */
static PyObject *decode_prompt(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *cap;
    Py_buffer buf;
    Py_ssize_t count;
    long limit;
    if (!PyArg_ParseTuple(args, "Oy*nl", &cap, &buf, &count, &limit)) return NULL;
    PModel *pm = PyCapsule_GetPointer(cap, "aigif.pmodel");
    PyObject *out = NULL;
    uint32_t *lens = NULL;
    if (!pm || count < 0) goto end;
    out = PyList_New(0);
    lens = PyMem_Malloc(sizeof(uint32_t) * (size_t)(count + 1));
    if (!out || !lens) { Py_CLEAR(out); if (!PyErr_Occurred()) PyErr_NoMemory(); goto end; }
    const char *ec = NULL, *em = NULL;
    int r = prompt_decode(pm, buf.buf, buf.len, count, limit, out, lens, &ec, &em);
    if (r == -2) Py_CLEAR(out);
    else if (r == -3) { Py_DECREF(out); out = Py_BuildValue("(ss)", ec, em); }
    else if (r) { Py_DECREF(out); out = Py_None; Py_INCREF(out); }
end:
    PyMem_Free(lens);
    PyBuffer_Release(&buf);
    return out;
}

static PyMethodDef methods[] = {
    {"compile", compile_prog, METH_VARARGS, "compile(spec) -> the core program of a registry (see aigif._fast)"},
    {"load_model", load_model, METH_VARARGS, "load_model(blob) -> the prompt coder's model (SHA-256 checked by the caller)"},
    {"read", fast_read, METH_VARARGS, "read(data, prog, model, build) -> None (run the reference), True, or the file's values"},
    {"decode_prompt", decode_prompt, METH_VARARGS, "decode_prompt(model, data, count, limit) -> strings, (code, message), or None (run the reference)"},
    {"deflate", py_deflate, METH_VARARGS, "deflate(data) -> the canonical deflater's output (SPEC.md §7.3), as aigif.text.deflate.deflate"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "aigif._speedups", "Optional accelerator of aigif.codec (see aigif._fast).", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__speedups(void) {
    crc_init();
    return PyModule_Create(&moddef);
}
