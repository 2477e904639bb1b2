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


/* The parts, in dependency order: one translation unit, so every function stays static
 * (reference/csrc/, each under 800 lines, one job each). */
#include "bits.c"
#include "core.c"
#include "utf8.c"
#include "prompt_model.c"
#include "prompt_decode.c"
#include "deflate.c"

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

