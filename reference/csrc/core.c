/* aigif._speedups: the core (SPEC.md §5), read by a program aigif/_fast.py compiles from the registry.
 * A part of one translation unit: included by reference/aigif/_speedups.c, not compiled alone. */

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

