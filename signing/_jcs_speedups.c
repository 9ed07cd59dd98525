/*
 * signing._jcs_speedups: the byte checks of the fast paths of signing.jcs and
 * signing.json_input, each in one pass.
 *
 * signing/jcs.py serializes with orjson (sorted keys) and must then prove that the output
 * is RFC 8785 JCS, or patch it. Its Python fallback does so with several scans over the
 * bytes; finish() below does all of them in a single pass over orjson's output:
 *
 *   - strings are skipped, escapes included, so nothing inside one is mistaken for a
 *     token; they are scanned only for the UTF-8 lead bytes EE/EF and F0-F4 (when both
 *     occur, UTF-16 key order may differ from orjson's code point order);
 *   - nesting deeper than MAX_DEPTH, and "null" outside strings (orjson's spelling of NaN
 *     and infinities, which only a walk over the value can tell from None), are left to
 *     the Python code;
 *   - number tokens are parsed: "-?D+.0" loses its ".0" and "-0.0" becomes "0"; the
 *     exponents ECMAScript writes differently from orjson ("e+16".."e+20", "e-6") are left
 *     to the Python code, as is any number whose shape orjson does not write.
 *
 * finish(out) returns `out` itself when nothing needs rewriting, a new bytes object when
 * fractions were dropped, and None to say "give up: let the Python code decide" (also on
 * anything that is not compact JSON as orjson writes it, e.g. a malformed orjson.Fragment).
 * Giving up is always safe: the Python code is exact on its own.
 *
 * signing/json_input.py accepts orjson.loads' result for untrusted JSON only when two
 * functions here prove that its strict json.loads would return the same value:
 *
 *   - json_scan(data) reads the raw bytes once, strings skipped (escapes included), and
 *     returns the number of ':' outside strings (object members in the text), the deepest
 *     nesting of '[' and '{', and whether an integer literal has more than 15 digits
 *     (orjson and the strict parser treat those differently beyond 2^53), or None when
 *     the bytes are not JSON as the scan knows it;
 *   - json_keys(value, limit) walks the parsed value and counts the keys of its objects;
 *     fewer keys than members in the text means a duplicate key was dropped;
 *   - b58decode(text) decodes Bitcoin base58 for signing.multibase (a signature per proof
 *     verified), or gives None for anything the Python code should decide.
 *
 * Keep it warning-free: gcc -O2 -c -o /dev/null -Wall -Wextra -Wpedantic -Wconversion
 *   -I"$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
 *   signing/_jcs_speedups.c
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#define MAX_DEPTH 128 /* signing.jcs.MAX_DEPTH */

/* How each byte is treated inside a string. */
enum {
    PLAIN = 0,     /* nothing to do */
    QUOTE = 1,     /* ends the string */
    BACKSLASH = 2, /* starts an escape */
    BMP_HIGH = 3,  /* UTF-8 lead byte of U+E000..U+FFFF */
    ASTRAL = 4     /* UTF-8 lead byte of U+10000..U+10FFFF */
};

static const unsigned char in_string[256] = {
    ['"'] = QUOTE,
    ['\\'] = BACKSLASH,
    [0xEE] = BMP_HIGH,
    [0xEF] = BMP_HIGH,
    [0xF0] = ASTRAL,
    [0xF1] = ASTRAL,
    [0xF2] = ASTRAL,
    [0xF3] = ASTRAL,
    [0xF4] = ASTRAL,
};

/* The characters that may follow a backslash in JSON. */
static const unsigned char escapable[256] = {
    ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1,
    ['n'] = 1, ['r'] = 1,  ['t'] = 1, ['u'] = 1,
};

/* Word-at-a-time skipping of string content: a word of eight plain ASCII bytes has no
   '"', no '\\' and no byte with the high bit set (Mycroft's has-a-zero-byte test). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define HAS_ZERO_BYTE(v) (((v) - ONES) & ~(v))

static inline int
plain_ascii_word(const unsigned char *p)
{
    uint64_t word;
    memcpy(&word, p, sizeof word);
    const uint64_t quote = word ^ (ONES * '"');
    const uint64_t backslash = word ^ (ONES * '\\');
    return ((HAS_ZERO_BYTE(quote) | HAS_ZERO_BYTE(backslash) | word) & HIGHS) == 0;
}

#define IS_DIGIT(c) ((unsigned char)((c) - '0') < 10)
#define ENDS_VALUE(c) ((c) == ',' || (c) == ']' || (c) == '}')

/* Output being built: in[0:copied] has been written (with fix-ups) to buffer[0:written]. */
typedef struct {
    PyObject *bytes; /* NULL until the first fix-up */
    char *buffer;
    Py_ssize_t written;
    Py_ssize_t copied;
} Output;

/* Append in[copied:upto] to the output, then skip to in[resume:]. 0, or -1 on MemoryError. */
static int
splice(Output *out, const char *in, Py_ssize_t size, Py_ssize_t upto, Py_ssize_t resume)
{
    Py_ssize_t length = upto - out->copied;

    if (out->bytes == NULL) {
        /* Fix-ups only remove bytes: the input's size is enough. */
        out->bytes = PyBytes_FromStringAndSize(NULL, size);
        if (out->bytes == NULL) {
            return -1;
        }
        out->buffer = PyBytes_AS_STRING(out->bytes);
    }
    memcpy(out->buffer + out->written, in + out->copied, (size_t)length);
    out->written += length;
    out->copied = resume;
    return 0;
}

PyDoc_STRVAR(finish_doc,
"finish(out, /)\n"
"--\n"
"\n"
"Check and fix up orjson's sorted-key output ``out`` (bytes) in one pass.\n"
"\n"
"Returns ``out`` itself when it is already RFC 8785 JCS, new bytes when integral floats\n"
"lost their ``.0`` (``-0.0`` becomes ``0``), or None when the Python code must decide:\n"
"``null`` or nesting deeper than 128 levels, UTF-8 lead bytes of both U+E000..U+FFFF and\n"
"supplementary-plane characters, an exponent ECMAScript writes differently (``e+16`` to\n"
"``e+20``, ``e-6``), or anything orjson does not write.");

static PyObject *
finish(PyObject *Py_UNUSED(module), PyObject *arg)
{
    if (!PyBytes_CheckExact(arg)) {
        PyErr_Format(PyExc_TypeError, "finish() argument must be bytes, not %.200s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const char *in = PyBytes_AS_STRING(arg);
    const unsigned char *u = (const unsigned char *)in;
    const Py_ssize_t n = PyBytes_GET_SIZE(arg);
    Output out = {NULL, NULL, 0, 0};
    Py_ssize_t i = 0;
    int depth = 0;
    int seen = 0; /* 1: a BMP_HIGH lead byte occurred, 2: an ASTRAL one */

    while (i < n) {
        unsigned char c = u[i];
        switch (c) {
        case '"':
            i++;
            for (;;) {
                while (n - i >= 8 && plain_ascii_word(u + i)) {
                    i += 8;
                }
                while (i < n && in_string[u[i]] == PLAIN) {
                    i++;
                }
                if (i >= n) {
                    goto give_up; /* unterminated string */
                }
                unsigned char kind = in_string[u[i]];
                if (kind == QUOTE) {
                    i++;
                    break;
                }
                if (kind == BACKSLASH) {
                    /* The escaped character is ASCII: it cannot be a lead byte. */
                    if (i + 1 >= n || !escapable[u[i + 1]]) {
                        goto give_up;
                    }
                    i += 2;
                    continue;
                }
                seen |= kind == BMP_HIGH ? 1 : 2;
                if (seen == 3) {
                    goto give_up; /* UTF-16 order may differ from code point order */
                }
                i++;
            }
            break;
        case '[':
        case '{':
            if (++depth > MAX_DEPTH) {
                goto give_up;
            }
            i++;
            break;
        case ']':
        case '}':
            if (--depth < 0) {
                goto give_up;
            }
            i++;
            break;
        case ',':
        case ':':
            i++;
            break;
        case 't':
            if (n - i < 4 || memcmp(in + i, "true", 4) != 0) {
                goto give_up;
            }
            i += 4;
            break;
        case 'f':
            if (n - i < 5 || memcmp(in + i, "false", 5) != 0) {
                goto give_up;
            }
            i += 5;
            break;
        case '-':
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9': {
            /* orjson writes -?D+ (integers), -?D+.D+ and -?D(.D+)?e[+-]D+ (floats). */
            const Py_ssize_t start = i;
            Py_ssize_t point = -1; /* where ".0" starts, when the token is -?D+.0 */
            if (c == '-') {
                i++;
            }
            const Py_ssize_t whole = i;
            while (i < n && IS_DIGIT(u[i])) {
                i++;
            }
            if (i == whole) {
                goto give_up;
            }
            const Py_ssize_t whole_end = i;
            if (i < n && u[i] == '.') {
                const Py_ssize_t fraction = ++i;
                while (i < n && IS_DIGIT(u[i])) {
                    i++;
                }
                if (i == fraction) {
                    goto give_up;
                }
                if (i - fraction == 1 && u[fraction] == '0') {
                    point = fraction - 1;
                }
            }
            if (i < n && u[i] == 'e') {
                /* d.ddde+x with x >= 21 or d.ddde-x with x >= 7 is already ECMAScript's
                   layout; anything else orjson writes (e+16..e+20, e-6) is not. */
                if (whole_end - whole != 1 || u[whole] == '0' || point >= 0 || ++i >= n) {
                    goto give_up;
                }
                const unsigned char sign = u[i++];
                const Py_ssize_t digits = i;
                int exponent = 0;
                while (i < n && IS_DIGIT(u[i]) && i - digits < 3) {
                    exponent = exponent * 10 + (u[i] - '0');
                    i++;
                }
                if (i == digits || u[digits] == '0' || (i < n && IS_DIGIT(u[i]))) {
                    goto give_up;
                }
                if (sign == '+' ? exponent < 21 : sign != '-' || exponent < 7) {
                    goto give_up;
                }
            }
            if (i >= n || !ENDS_VALUE(u[i])) {
                goto give_up;
            }
            if (point >= 0) {
                if (c == '-' && whole_end - whole == 1 && u[whole] == '0') {
                    /* -0.0 becomes 0: drop the minus sign too */
                    if (splice(&out, in, n, start, whole) < 0) {
                        return NULL;
                    }
                }
                if (splice(&out, in, n, point, i) < 0) {
                    return NULL;
                }
            }
            break;
        }
        case 'n': /* null: None, or NaN or an infinity; only the value can tell */
        default:  /* whitespace, garbage: not orjson's compact output */
            goto give_up;
        }
    }
    if (depth != 0) {
        goto give_up;
    }
    if (out.bytes == NULL) {
        return Py_NewRef(arg);
    }
    if (splice(&out, in, n, n, n) < 0) {
        return NULL;
    }
    if (_PyBytes_Resize(&out.bytes, out.written) < 0) {
        return NULL; /* _PyBytes_Resize released the object */
    }
    return out.bytes;

give_up:
    Py_XDECREF(out.bytes);
    Py_RETURN_NONE;
}

/* --- signing.json_input: proving orjson's result equal to the strict parser's ---------- */

#define MAX_SAFE_DIGITS 15 /* every integer of 15 digits is below 2^53 */
#define MAX_WALK_DEPTH 255 /* json_keys never recurses deeper */

/* Word-at-a-time skipping for json_scan: no '"' and no '\\' in eight bytes (UTF-8 is
   plain content here: orjson has already validated it). */
static inline int
no_quote_or_backslash_word(const unsigned char *p)
{
    uint64_t word;
    memcpy(&word, p, sizeof word);
    const uint64_t quote = word ^ (ONES * '"');
    const uint64_t backslash = word ^ (ONES * '\\');
    return ((HAS_ZERO_BYTE(quote) | HAS_ZERO_BYTE(backslash)) & HIGHS) == 0;
}

#define IS_JSON_SPACE(c) ((c) == ' ' || (c) == '\t' || (c) == '\n' || (c) == '\r')
#define IS_FRACTION_OR_EXPONENT(c) \
    ((c) == '.' || (c) == 'e' || (c) == 'E' || (c) == '+' || (c) == '-' || IS_DIGIT(c))

PyDoc_STRVAR(json_scan_doc,
"json_scan(data, /)\n"
"--\n"
"\n"
"Scan JSON bytes once, skipping strings: ``(members, depth, long_integer)``.\n"
"\n"
"``members`` counts the ':' outside strings, ``depth`` is the deepest nesting of '[' and\n"
"'{', ``long_integer`` says whether an integer literal (no '.', 'e', 'E') has more than\n"
"15 digits. Returns None when the bytes are not JSON as the scan knows it: a byte no\n"
"JSON token holds outside strings (a BOM, a form feed), an unterminated string or\n"
"unbalanced brackets. The counts mean something only for valid JSON.");

static PyObject *
json_scan(PyObject *Py_UNUSED(module), PyObject *arg)
{
    if (!PyBytes_CheckExact(arg)) {
        PyErr_Format(PyExc_TypeError, "json_scan() argument must be bytes, not %.200s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const char *in = PyBytes_AS_STRING(arg);
    const unsigned char *u = (const unsigned char *)in;
    const Py_ssize_t n = PyBytes_GET_SIZE(arg);
    Py_ssize_t i = 0;
    Py_ssize_t members = 0;
    Py_ssize_t depth = 0;
    Py_ssize_t deepest = 0;
    int long_integer = 0;

    while (i < n) {
        const unsigned char c = u[i];
        switch (c) {
        case '"':
            i++;
            for (;;) {
                while (n - i >= 8 && no_quote_or_backslash_word(u + i)) {
                    i += 8;
                }
                while (i < n && u[i] != '"' && u[i] != '\\') {
                    i++;
                }
                if (i >= n) {
                    Py_RETURN_NONE; /* unterminated string */
                }
                if (u[i] == '"') {
                    i++;
                    break;
                }
                if (n - i < 2) {
                    Py_RETURN_NONE; /* a backslash at the very end */
                }
                i += 2; /* the escaped character is never the closing quote */
            }
            break;
        case '[':
        case '{':
            if (++depth > deepest) {
                deepest = depth;
            }
            i++;
            break;
        case ']':
        case '}':
            if (--depth < 0) {
                Py_RETURN_NONE;
            }
            i++;
            break;
        case ':':
            members++;
            i++;
            break;
        case ',':
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            i++;
            break;
        case 't':
            if (n - i < 4 || memcmp(in + i, "true", 4) != 0) {
                Py_RETURN_NONE;
            }
            i += 4;
            break;
        case 'f':
            if (n - i < 5 || memcmp(in + i, "false", 5) != 0) {
                Py_RETURN_NONE;
            }
            i += 5;
            break;
        case 'n':
            if (n - i < 4 || memcmp(in + i, "null", 4) != 0) {
                Py_RETURN_NONE;
            }
            i += 4;
            break;
        case '-':
        case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9': {
            if (c == '-') {
                i++;
            }
            const Py_ssize_t digits = i;
            while (i < n && IS_DIGIT(u[i])) {
                i++;
            }
            if (i == digits) {
                Py_RETURN_NONE; /* a lone minus sign */
            }
            if (i < n && (u[i] == '.' || u[i] == 'e' || u[i] == 'E')) {
                while (i < n && IS_FRACTION_OR_EXPONENT(u[i])) {
                    i++;
                }
            }
            else if (i - digits > MAX_SAFE_DIGITS) {
                long_integer = 1;
            }
            break;
        }
        default:
            Py_RETURN_NONE;
        }
    }
    if (depth != 0) {
        Py_RETURN_NONE;
    }
    return Py_BuildValue("(nnO)", members, deepest, long_integer ? Py_True : Py_False);
}

/* Keys of all objects in `value`, or -1 when containers nest deeper than `levels`. */
static Py_ssize_t
count_keys(PyObject *value, Py_ssize_t levels)
{
    PyObject *item;
    Py_ssize_t total = 0;

    if (PyDict_CheckExact(value)) {
        if (levels <= 0) {
            return -1;
        }
        Py_ssize_t pos = 0;
        PyObject *key;
        total = PyDict_GET_SIZE(value);
        while (PyDict_Next(value, &pos, &key, &item)) {
            if (PyDict_CheckExact(item) || PyList_CheckExact(item) || PyFloat_CheckExact(item)) {
                const Py_ssize_t inner = count_keys(item, levels - 1);
                if (inner < 0) {
                    return -1;
                }
                total += inner;
            }
        }
        return total;
    }
    if (PyList_CheckExact(value)) {
        if (levels <= 0) {
            return -1;
        }
        for (Py_ssize_t k = 0; k < PyList_GET_SIZE(value); k++) {
            item = PyList_GET_ITEM(value, k);
            if (PyDict_CheckExact(item) || PyList_CheckExact(item) || PyFloat_CheckExact(item)) {
                const Py_ssize_t inner = count_keys(item, levels - 1);
                if (inner < 0) {
                    return -1;
                }
                total += inner;
            }
        }
        return total;
    }
    if (PyFloat_CheckExact(value) && !isfinite(PyFloat_AS_DOUBLE(value))) {
        return -1; /* orjson refuses these; should it ever not, the strict parser decides */
    }
    return 0;
}

PyDoc_STRVAR(json_keys_doc,
"json_keys(value, limit, /)\n"
"--\n"
"\n"
"Count the keys of every dict in ``value`` (dicts and lists are walked).\n"
"\n"
"Returns -1 when dicts and lists nest deeper than ``limit`` levels (at most 255), or a\n"
"float is NaN or infinite. ``value`` must be one no other thread can change (orjson's\n"
"fresh result).");

static PyObject *
json_keys(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "json_keys() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[1]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (limit > MAX_WALK_DEPTH) {
        limit = MAX_WALK_DEPTH;
    }
    return PyLong_FromSsize_t(count_keys(args[0], limit));
}

/* ------------------------------------------------------------------------------------
 * b58decode: Bitcoin base58 to bytes, for signing.multibase (every proof verification
 * decodes a 64-byte signature: 88 characters).
 *
 * The number is kept in 32-bit limbs, least significant first; each character multiplies
 * it by 58 and adds its digit. Leading '1's are leading zero bytes. Anything else than the
 * alphabet, non-ASCII text, or more than B58_MAX_CHARS characters gives None: the Python
 * code then raises its precise error, or decodes the long input itself.
 */

#define B58_MAX_CHARS 512
#define B58_MAX_LIMBS (B58_MAX_CHARS * 6 / 32 + 2) /* log2(58) < 6 bits a character */
#define B58_CHUNK 5                                 /* 58^5 < 2^30 */

static const signed char b58_digit[128] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, 0,  1,  2,  3,  4,  5,  6,  7,  8,  -1, -1, -1, -1, -1, -1,
    -1, 9,  10, 11, 12, 13, 14, 15, 16, -1, 17, 18, 19, 20, 21, -1,
    22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, -1, -1, -1, -1, -1,
    -1, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, -1, 44, 45, 46,
    47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, -1, -1, -1, -1, -1,
};

PyDoc_STRVAR(b58decode_doc,
"b58decode(text, /)\n"
"--\n"
"\n"
"Bitcoin base58 ``text`` decoded to bytes (leading '1' characters are zero bytes), or\n"
"None for a character outside the alphabet, non-ASCII text, or text longer than 512.");

static PyObject *
b58decode(PyObject *Py_UNUSED(module), PyObject *arg)
{
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "b58decode() expects a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(arg)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(arg);
    if (length > B58_MAX_CHARS) {
        Py_RETURN_NONE;
    }
    const unsigned char *text = (const unsigned char *)PyUnicode_DATA(arg);
    Py_ssize_t zeros = 0;
    while (zeros < length && text[zeros] == '1') {
        zeros++;
    }
    uint32_t limbs[B58_MAX_LIMBS];
    size_t used = 0;
    for (Py_ssize_t i = zeros; i < length;) {
        /* Up to B58_CHUNK digits per pass over the limbs, as one base-58^n digit: the
           number is the same, the passes five times fewer. */
        uint64_t chunk = 0;
        uint64_t scale = 1;
        for (int n = 0; n < B58_CHUNK && i < length; n++, i++) {
            int digit = b58_digit[text[i] & 0x7F];
            if (digit < 0) {
                Py_RETURN_NONE;
            }
            chunk = chunk * 58u + (uint64_t)digit;
            scale *= 58u;
        }
        /* limb < 2^32, scale <= 58^5 < 2^30 and carry < 2^31: value < 2^63. */
        uint64_t carry = chunk;
        for (size_t k = 0; k < used; k++) {
            uint64_t value = (uint64_t)limbs[k] * scale + carry;
            limbs[k] = (uint32_t)value;
            carry = value >> 32;
        }
        if (carry != 0) {
            limbs[used++] = (uint32_t)carry; /* bounded: 58^512 < 2^(32 * B58_MAX_LIMBS) */
        }
    }
    /* Big-endian bytes of the number, without its leading zero bytes. */
    unsigned char number[B58_MAX_LIMBS * 4];
    size_t size = 0;
    for (size_t k = used; k-- > 0;) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            unsigned char byte = (unsigned char)(limbs[k] >> shift);
            if (size == 0 && byte == 0) {
                continue;
            }
            number[size++] = byte;
        }
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, zeros + (Py_ssize_t)size);
    if (out == NULL) {
        return NULL;
    }
    char *bytes = PyBytes_AS_STRING(out);
    memset(bytes, 0, (size_t)zeros);
    if (size != 0) {
        memcpy(bytes + zeros, number, size);
    }
    return out;
}

static PyMethodDef methods[] = {
    {"finish", finish, METH_O, finish_doc},
    {"json_scan", json_scan, METH_O, json_scan_doc},
    {"json_keys", (PyCFunction)(void (*)(void))json_keys, METH_FASTCALL, json_keys_doc},
    {"b58decode", b58decode, METH_O, b58decode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "signing._jcs_speedups",
    .m_doc = "Byte checks for signing.jcs and signing.json_input, and base58 decoding for "
             "signing.multibase (see their docstrings).",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__jcs_speedups(void)
{
    PyObject *m = PyModule_Create(&module);
#ifdef Py_GIL_DISABLED
    if (m != NULL && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#endif
    return m;
}
