// The environ fast path of the engine's app call: see pycall.c.
#ifndef GOWSGI_PYCALL_H
#define GOWSGI_PYCALL_H

typedef struct gowsgi_pyobject gowsgi_pyobject; // a CPython PyObject, opaque here

int gowsgi_py_resolve(void);
int gowsgi_call_py(gowsgi_pyobject *fn, gowsgi_pyobject *base, int thread, const char *environ, int len, int flags);
gowsgi_pyobject *gowsgi_py_builtins(void);

#endif
