// The engine's app call without ctypes in between: the environ dict is
// built here, in C, and the worker's Python handler is called with it.
//
// Through a ctypes callback, every request paid for ctypes' argument
// conversion and then, in Python, a string_at, a latin-1 decode, a split
// and dict(zip(...)): 3-5 us of a hello request's 40 (more behind nginx,
// whose uwsgi_params add a dozen variables). Here that is one pass over
// the encoded pairs.
//
// The library is built once for every CPython the runtime supports (3.9
// on), so it does not compile against Python.h: it looks up a few
// functions of CPython's stable ABI, whose signatures do not change
// between versions, in the process that loaded it (the python running the
// worker). If one is missing (a python that does not export them), the
// worker keeps the ctypes callback (engine.py).

#include <dlfcn.h>
#include <string.h>
#include <sys/types.h>

#include "pycall.h"
#include "_cgo_export.h" // gowsgi_respond, for respond below

typedef gowsgi_pyobject O;

static O *(*py_dict_new)(void);
static int (*py_dict_set_item)(O *, O *, O *);
static int (*py_dict_update)(O *, O *);
static O *(*py_decode_latin1)(const char *, ssize_t, const char *);
static O *(*py_long_from_long)(long);
static long (*py_long_as_long)(O *);
static O *(*py_call_obj_args)(O *, ...);
static void (*py_decref)(O *);
static int (*py_gil_ensure)(void);
static void (*py_gil_release)(int);
static O *(*py_err_occurred)(void);
static void (*py_err_print)(void);
// For the builtins below.
static O *(*py_object_type)(O *);
static const char *(*py_unicode_as_utf8)(O *, ssize_t *);
static O *(*py_bytes_from)(const char *, ssize_t);
static char *(*py_bytes_as_string)(O *);
static int (*py_bytes_as_string_size)(O *, char **, ssize_t *);
static ssize_t (*py_list_size)(O *);
static O *(*py_list_get)(O *, ssize_t);
static ssize_t (*py_tuple_size)(O *);
static O *(*py_tuple_get)(O *, ssize_t);
static O *(*py_tuple_pack)(ssize_t, ...);
static O *(*py_long_from_long_long)(long long);
static void (*py_err_clear)(void);
static void *(*py_save_thread)(void);
static void (*py_restore_thread)(void *);
static O *(*py_cfunction_new)(void *, O *, O *);
static void (*py_incref)(O *);
static O *py_none, *py_str_type, *py_list_type, *py_tuple_type, *py_bytes_type;

// gowsgi_py_resolve looks the functions up; 1 when all are there.
int gowsgi_py_resolve(void) {
#define LOOKUP(var, name)                                   \
	if ((*(void **)&var = dlsym(RTLD_DEFAULT, name)) == NULL) \
		return 0;
	LOOKUP(py_dict_new, "PyDict_New")
	LOOKUP(py_dict_set_item, "PyDict_SetItem")
	LOOKUP(py_dict_update, "PyDict_Update")
	LOOKUP(py_decode_latin1, "PyUnicode_DecodeLatin1")
	LOOKUP(py_long_from_long, "PyLong_FromLong")
	LOOKUP(py_long_as_long, "PyLong_AsLong")
	LOOKUP(py_call_obj_args, "PyObject_CallFunctionObjArgs")
	LOOKUP(py_decref, "Py_DecRef")
	LOOKUP(py_gil_ensure, "PyGILState_Ensure")
	LOOKUP(py_gil_release, "PyGILState_Release")
	LOOKUP(py_err_occurred, "PyErr_Occurred")
	LOOKUP(py_err_print, "PyErr_Print")
	LOOKUP(py_object_type, "PyObject_Type")
	LOOKUP(py_unicode_as_utf8, "PyUnicode_AsUTF8AndSize")
	LOOKUP(py_bytes_from, "PyBytes_FromStringAndSize")
	LOOKUP(py_bytes_as_string, "PyBytes_AsString")
	LOOKUP(py_bytes_as_string_size, "PyBytes_AsStringAndSize")
	LOOKUP(py_list_size, "PyList_Size")
	LOOKUP(py_list_get, "PyList_GetItem")
	LOOKUP(py_tuple_size, "PyTuple_Size")
	LOOKUP(py_tuple_get, "PyTuple_GetItem")
	LOOKUP(py_tuple_pack, "PyTuple_Pack")
	LOOKUP(py_long_from_long_long, "PyLong_FromLongLong")
	LOOKUP(py_err_clear, "PyErr_Clear")
	LOOKUP(py_save_thread, "PyEval_SaveThread")
	LOOKUP(py_restore_thread, "PyEval_RestoreThread")
	LOOKUP(py_cfunction_new, "PyCFunction_NewEx")
	LOOKUP(py_incref, "Py_IncRef")
	LOOKUP(py_none, "_Py_NoneStruct")
	LOOKUP(py_str_type, "PyUnicode_Type")
	LOOKUP(py_list_type, "PyList_Type")
	LOOKUP(py_tuple_type, "PyTuple_Type")
	LOOKUP(py_bytes_type, "PyBytes_Type")
#undef LOOKUP
	return 1;
}

static void decref(O *o) {
	if (o != NULL)
		py_decref(o);
}

// environ_of builds the environ of one request: the pairs of the encoding
// (key NUL value NUL key ..., as Python's split("\0") and zip pair them:
// an unpaired last field is dropped), then base over them, as
// dict(zip(it, it)).update(base) does. NULL with a Python error set.
static O *environ_of(O *base, const char *p, int n) {
	O *d = py_dict_new();
	if (d == NULL)
		return NULL;
	const char *end = p + n;
	for (;;) {
		const char *kz = memchr(p, 0, end - p);
		if (kz == NULL)
			break; // a last key without a value
		const char *v = kz + 1;
		const char *vz = memchr(v, 0, end - v);
		const char *vend = vz != NULL ? vz : end;
		O *key = py_decode_latin1(p, kz - p, NULL);
		O *val = key != NULL ? py_decode_latin1(v, vend - v, NULL) : NULL;
		int bad = val == NULL || py_dict_set_item(d, key, val) != 0;
		decref(key);
		decref(val);
		if (bad) {
			py_decref(d);
			return NULL;
		}
		if (vz == NULL)
			break;
		p = vz + 1;
	}
	if (py_dict_update(d, base) != 0) {
		py_decref(d);
		return NULL;
	}
	return d;
}

// gowsgi_call_py runs fn(thread, environ, flags) with the GIL and returns
// its int: the app callback's codes (engine.py). A Python error here (no
// memory, or fn itself raised, which app_call does not let happen) is
// printed and the request is a broken one (2).
int gowsgi_call_py(O *fn, O *base, int thread, const char *environ, int len, int flags) {
	int gil = py_gil_ensure();
	int rc = 2;
	O *env = environ_of(base, environ, len);
	O *t = env != NULL ? py_long_from_long(thread) : NULL;
	O *f = t != NULL ? py_long_from_long(flags) : NULL;
	O *r = f != NULL ? py_call_obj_args(fn, t, env, f, NULL) : NULL;
	if (r != NULL) {
		long v = py_long_as_long(r);
		rc = v == -1 && py_err_occurred() != NULL ? 2 : (int)v;
	}
	if (py_err_occurred() != NULL)
		py_err_print();
	decref(r);
	decref(f);
	decref(t);
	decref(env);
	py_gil_release(gil);
	return rc;
}

// The response's two builtins: start_payload, which is start_response's
// check_start (wsgi.py) for the headers nearly every app sends, and
// respond, which is gowsgi_respond without ctypes. Through Python and
// ctypes they were a fifth of a hello request's Python time (1 us of
// check_start, 0.6 of ctypes' argument conversion).

// is_type reports whether o's type is exactly t (PyObject_Type, not the
// object's layout: it differs between builds).
static int is_type(O *o, O *t) {
	O *ot = py_object_type(o);
	if (ot == NULL) {
		py_err_clear();
		return 0;
	}
	py_decref(ot);
	return ot == t;
}

// plain_text is s's ASCII bytes when it is exactly a str of printable
// ASCII and tabs (what start_payload passes as it is); NULL otherwise.
static const char *plain_text(O *s, ssize_t *n) {
	if (!is_type(s, py_str_type))
		return NULL;
	const char *p = py_unicode_as_utf8(s, n);
	if (p == NULL) {
		py_err_clear(); // a lone surrogate: wsgi.py says what is wrong
		return NULL;
	}
	for (ssize_t i = 0; i < *n; i++) {
		unsigned char c = (unsigned char)p[i];
		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return NULL;
	}
	return p;
}

static int is_tchar(unsigned char c) {
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

// lower_is reports whether name, in lower case, is want.
static int lower_is(const char *name, ssize_t n, const char *want) {
	if ((size_t)n != strlen(want))
		return 0;
	for (ssize_t i = 0; i < n; i++) {
		char c = name[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != want[i])
			return 0;
	}
	return 1;
}

static const char *const hop_by_hop[] = {
	"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
	"te", "trailers", "transfer-encoding", "upgrade", NULL,
};

#define MAX_FAST_HEADERS 64

// start_payload(status, headers) is (payload, content_length) as
// check_start returns them, or None when the response is not one it
// checks itself: anything but a list of (str, str) tuples of printable
// ASCII, a hop-by-hop header, a Content-Length that is not plain digits.
// check_start then checks it, and raises what is wrong.
static O *start_payload(O *self, O *const *args, ssize_t nargs) {
	(void)self;
	if (nargs != 2 || !is_type(args[1], py_list_type))
		goto slow;
	ssize_t sn, total;
	const char *status = plain_text(args[0], &sn);
	if (status == NULL || sn < 4 || status[0] < '0' || status[0] > '9' || status[1] < '0' ||
	    status[1] > '9' || status[2] < '0' || status[2] > '9' || status[3] != ' ')
		goto slow;
	ssize_t count = py_list_size(args[1]);
	if (count < 0 || count > MAX_FAST_HEADERS) {
		py_err_clear();
		goto slow;
	}
	const char *names[MAX_FAST_HEADERS], *values[MAX_FAST_HEADERS];
	ssize_t nlen[MAX_FAST_HEADERS], vlen[MAX_FAST_HEADERS];
	long long length = -1;
	total = sn;
	for (ssize_t i = 0; i < count; i++) {
		O *item = py_list_get(args[1], i);
		if (item == NULL || !is_type(item, py_tuple_type) || py_tuple_size(item) != 2)
			goto slow;
		names[i] = plain_text(py_tuple_get(item, 0), &nlen[i]);
		values[i] = plain_text(py_tuple_get(item, 1), &vlen[i]);
		if (names[i] == NULL || values[i] == NULL || nlen[i] == 0)
			goto slow;
		for (ssize_t k = 0; k < nlen[i]; k++)
			if (!is_tchar((unsigned char)names[i][k]))
				goto slow;
		for (const char *const *h = hop_by_hop; *h != NULL; h++)
			if (lower_is(names[i], nlen[i], *h))
				goto slow;
		if (lower_is(names[i], nlen[i], "content-length")) {
			if (vlen[i] == 0 || vlen[i] > 18)
				goto slow;
			length = 0;
			for (ssize_t k = 0; k < vlen[i]; k++) {
				char c = values[i][k];
				if (c < '0' || c > '9')
					goto slow;
				length = length * 10 + (c - '0');
			}
		}
		total += 2 + nlen[i] + vlen[i];
	}
	O *payload = py_bytes_from(NULL, total);
	if (payload == NULL)
		return NULL;
	char *p = py_bytes_as_string(payload);
	memcpy(p, status, sn);
	p += sn;
	for (ssize_t i = 0; i < count; i++) {
		*p++ = 0;
		memcpy(p, names[i], nlen[i]);
		p += nlen[i];
		*p++ = 0;
		memcpy(p, values[i], vlen[i]);
		p += vlen[i];
	}
	O *cl = length >= 0 ? py_long_from_long_long(length) : py_none;
	if (cl == NULL) {
		py_decref(payload);
		return NULL;
	}
	O *r = py_tuple_pack(2, payload, cl);
	py_decref(payload);
	if (length >= 0)
		py_decref(cl);
	return r;
slow:
	py_incref(py_none);
	return py_none;
}

// respond(thread, start, body) is gowsgi_respond: the answer's Start
// payload and its whole body, bytes both, with the GIL released while the
// engine writes (a slow client may hold the thread).
static O *respond(O *self, O *const *args, ssize_t nargs) {
	(void)self;
	char *start, *body;
	ssize_t slen, blen;
	if (nargs != 3) {
		return py_long_from_long(-1);
	}
	long thread = py_long_as_long(args[0]);
	if (thread == -1 && py_err_occurred() != NULL)
		return NULL;
	if (py_bytes_as_string_size(args[1], &start, &slen) != 0 || py_bytes_as_string_size(args[2], &body, &blen) != 0)
		return NULL;
	if (slen > 0x7fffffff || blen > 0x7fffffff)
		return py_long_from_long(-1);
	void *ts = py_save_thread();
	int rc = gowsgi_respond((int)thread, start, (int)slen, body, (int)blen);
	py_restore_thread(ts);
	return py_long_from_long(rc);
}

// The method table: its layout is CPython's PyMethodDef, with
// METH_FASTCALL (0x80; 3.7 on).
struct method_def {
	const char *name;
	void *fn;
	int flags;
	const char *doc;
};

static struct method_def start_payload_def = {"start_payload", (void *)start_payload, 0x80,
	"start_payload(status, headers): (payload, content_length), or None: check_start decides"};
static struct method_def respond_def = {"respond", (void *)respond, 0x80,
	"respond(thread, start, body): the whole answer through the engine; 0, or -1 when the client is gone"};

// gowsgi_py_builtins is (start_payload, respond), with the GIL held (a
// ctypes.PyDLL call), after gowsgi_py_ready said 1.
O *gowsgi_py_builtins(void) {
	O *a = py_cfunction_new(&start_payload_def, NULL, NULL);
	O *b = a != NULL ? py_cfunction_new(&respond_def, NULL, NULL) : NULL;
	O *r = b != NULL ? py_tuple_pack(2, a, b) : NULL;
	decref(a);
	decref(b);
	return r;
}
