/* aigif._speedups: CRC-32 (zlib's) and the bit reader (SPEC.md §3).
 * A part of one translation unit: included by reference/aigif/_speedups.c, not compiled alone. */

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

