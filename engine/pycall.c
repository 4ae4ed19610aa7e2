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
