// SPDX-License-Identifier: MIT
/*
 * python/_plmc.c - the CPython binding of libpl: plmc._plmc.
 *
 * A thin layer: each function makes one libpl call on bytes keys and
 * values and returns libpl's status as an int (or the value it found);
 * plmc/__init__.py gives them pymemcache's names, arguments and return
 * conventions. Errors of libpl (< 0) raise plmc._plmc.Error with the
 * code in .rc and plmc_strerror()'s text, except where the status is the
 * answer (the store functions return it).
 *
 * The GIL is held across a gate call: a call is a few hundred
 * nanoseconds, less than releasing and taking the GIL back. attach()
 * releases it (it may wait on the module).
 *
 * Ring wraps a handle of the libmemcached-compatible library
 * (libpl/memcached) built from a configuration string, so a key lands on
 * the server libpl/memcached (and libmemcached) would pick: the same
 * code computes it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include <plmc.h>
#include <plmc/layout.h> /* PLMC_STORE_MAX: Client(create=)'s bound */
#include <libmemcached/memcached.h>

static PyObject *plmc_error; /* plmc._plmc.Error */

/* OSError's (errno, text) for -errno; libpl's own code for PLMC_E_*. */
static PyObject *raise_rc(int rc)
{
	int code = rc < 0 && rc > -4096 ? -rc : rc;
	PyObject *exc = Py_BuildValue("(is)", code, plmc_strerror(rc));

	if (exc) {
		PyErr_SetObject(plmc_error, exc);
		Py_DECREF(exc);
	}
	return NULL;
}

static PyObject *py_attach(PyObject *self, PyObject *args)
{
	const char *name;
	PyThreadState *ts;
	int use, rc;

	if (!PyArg_ParseTuple(args, "si", &name, &use))
		return NULL;
	ts = PyEval_SaveThread();
	rc = plmc_attach(name, use);
	PyEval_RestoreThread(ts);
	if (rc < 0)
		return raise_rc(rc);
	Py_RETURN_NONE;
}

/* create(name, size, mode, use): a store of size bytes (whole MiB) */
static PyObject *py_create(PyObject *self, PyObject *args)
{
	const char *name;
	unsigned long long size;
	unsigned int mode;
	PyThreadState *ts;
	int use, rc;

	if (!PyArg_ParseTuple(args, "sKIi", &name, &size, &mode, &use))
		return NULL;
	ts = PyEval_SaveThread();
	rc = plmc_create(name, size, mode, use);
	PyEval_RestoreThread(ts);
	if (rc < 0)
		return raise_rc(rc);
	Py_RETURN_NONE;
}

static PyObject *py_backend(PyObject *self, PyObject *unused)
{
	const char *b = plmc_backend();

	if (!b)
		Py_RETURN_NONE;
	return PyUnicode_FromString(b);
}

/* The storage commands, by memcached's name. */
enum { ST_SET, ST_ADD, ST_REPLACE, ST_APPEND, ST_PREPEND, ST_CAS };

/* store(cmd, key, value, flags, exptime, cas) -> status or error code */
static PyObject *py_store(PyObject *self, PyObject *args)
{
	Py_buffer k, v;
	int cmd, rc;
	unsigned int flags;
	int exptime;
	unsigned long long cas;

	if (!PyArg_ParseTuple(args, "iy*y*IiK", &cmd, &k, &v, &flags, &exptime,
			      &cas))
		return NULL;
	switch (cmd) {
	case ST_SET:
		rc = plmc_set(k.buf, k.len, v.buf, v.len, flags, exptime);
		break;
	case ST_ADD:
		rc = plmc_add(k.buf, k.len, v.buf, v.len, flags, exptime);
		break;
	case ST_REPLACE:
		rc = plmc_replace(k.buf, k.len, v.buf, v.len, flags, exptime);
		break;
	case ST_APPEND:
		rc = plmc_append(k.buf, k.len, v.buf, v.len);
		break;
	case ST_PREPEND:
		rc = plmc_prepend(k.buf, k.len, v.buf, v.len);
		break;
	case ST_CAS:
		rc = plmc_cas(k.buf, k.len, v.buf, v.len, flags, exptime, cas);
		break;
	default:
		rc = PLMC_E_INVAL;
	}
	PyBuffer_Release(&k);
	PyBuffer_Release(&v);
	return PyLong_FromLong(rc);
}

/*
 * One get into a bytes object: first into a buffer of a guess, then, on
 * PLMC_E_SMALLBUF, into one of the size the store said (the item may
 * change in between: try again). Returns a new (value, flags, cas), None
 * on a miss, or NULL with an exception set.
 */
static PyObject *get_one(const char *key, size_t klen)
{
	size_t cap = 1024, vlen = 0;
	uint32_t flags = 0;
	uint64_t cas = 0;

	for (;;) {
		PyObject *val =
			PyBytes_FromStringAndSize(NULL, (Py_ssize_t)cap);
		int rc;

		if (!val)
			return NULL;
		rc = plmc_get(key, klen, PyBytes_AS_STRING(val), cap, &vlen,
			      &flags, &cas);
		if (rc == PLMC_OK) {
			PyObject *t;

			if (_PyBytes_Resize(&val, (Py_ssize_t)vlen) < 0)
				return NULL;
			t = Py_BuildValue("(NIK)", val, flags,
					  (unsigned long long)cas);
			return t;
		}
		Py_DECREF(val);
		if (rc == PLMC_NOT_FOUND)
			Py_RETURN_NONE;
		if (rc != PLMC_E_SMALLBUF)
			return raise_rc(rc);
		cap = vlen;
	}
}

static PyObject *py_get(PyObject *self, PyObject *arg)
{
	char *key;
	Py_ssize_t klen;

	if (PyBytes_AsStringAndSize(arg, &key, &klen) < 0)
		return NULL;
	return get_one(key, (size_t)klen);
}

/*
 * get_many(list of bytes) -> list of (value, flags, cas) or None, in the
 * keys' order. Values up to 4 KiB come back in one gate crossing per
 * PLMC_MGET_MAX keys; larger ones are fetched again one by one.
 */
#define MGET_BUF 4096
static PyObject *py_get_many(PyObject *self, PyObject *arg)
{
	PyObject *seq, *out = NULL;
	struct plmc_mget *mg = NULL;
	char *bufs = NULL;
	Py_ssize_t n;

	seq = PySequence_Fast(arg, "get_many needs a sequence of bytes");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	out = PyList_New(n);
	if (!out)
		goto fail;
	for (Py_ssize_t base = 0; base < n; base += PLMC_MGET_MAX) {
		Py_ssize_t cnt =
			n - base < PLMC_MGET_MAX ? n - base : PLMC_MGET_MAX;
		int rc;

		if (!mg) {
			mg = PyMem_Calloc(PLMC_MGET_MAX, sizeof(*mg));
			bufs = PyMem_Malloc((size_t)PLMC_MGET_MAX * MGET_BUF);
			if (!mg || !bufs) {
				PyErr_NoMemory();
				goto fail;
			}
		}
		for (Py_ssize_t i = 0; i < cnt; i++) {
			PyObject *k = PySequence_Fast_GET_ITEM(seq, base + i);
			char *kb;
			Py_ssize_t kl;

			if (PyBytes_AsStringAndSize(k, &kb, &kl) < 0)
				goto fail;
			memset(&mg[i], 0, sizeof(mg[i]));
			mg[i].key = kb;
			mg[i].klen =
				(uint32_t)(kl > PLMC_KEY_MAX ? PLMC_KEY_MAX + 1
							     : kl);
			mg[i].buf = bufs + (size_t)i * MGET_BUF;
			mg[i].buflen = MGET_BUF;
		}
		rc = plmc_mget(mg, (size_t)cnt);
		if (rc < 0) {
			raise_rc(rc);
			goto fail;
		}
		for (Py_ssize_t i = 0; i < cnt; i++) {
			PyObject *r;

			if (mg[i].rc == PLMC_OK)
				r = Py_BuildValue(
					"(y#IK)", (char *)mg[i].buf,
					(Py_ssize_t)mg[i].vlen, mg[i].flags,
					(unsigned long long)mg[i].cas);
			else if (mg[i].rc == PLMC_NOT_FOUND)
				r = Py_NewRef(Py_None);
			else if (mg[i].rc == PLMC_E_SMALLBUF)
				r = get_one(mg[i].key, mg[i].klen);
			else
				r = raise_rc(mg[i].rc);
			if (!r)
				goto fail;
			PyList_SET_ITEM(out, base + i, r);
		}
	}
	PyMem_Free(mg);
	PyMem_Free(bufs);
	Py_DECREF(seq);
	return out;
fail:
	PyMem_Free(mg);
	PyMem_Free(bufs);
	Py_XDECREF(out);
	Py_DECREF(seq);
	return NULL;
}

static PyObject *py_delete(PyObject *self, PyObject *arg)
{
	char *key;
	Py_ssize_t klen;

	if (PyBytes_AsStringAndSize(arg, &key, &klen) < 0)
		return NULL;
	return PyLong_FromLong(plmc_delete(key, (size_t)klen));
}

/* arith(key, delta, decr) -> (status, new value) */
static PyObject *py_arith(PyObject *self, PyObject *args)
{
	Py_buffer k;
	unsigned long long delta;
	int decr, rc;
	uint64_t value = 0;

	if (!PyArg_ParseTuple(args, "y*Kp", &k, &delta, &decr))
		return NULL;
	rc = decr ? plmc_decr(k.buf, k.len, delta, &value)
		  : plmc_incr(k.buf, k.len, delta, &value);
	PyBuffer_Release(&k);
	return Py_BuildValue("(iK)", rc, (unsigned long long)value);
}

static PyObject *py_touch(PyObject *self, PyObject *args)
{
	Py_buffer k;
	int exptime, rc;

	if (!PyArg_ParseTuple(args, "y*i", &k, &exptime))
		return NULL;
	rc = plmc_touch(k.buf, k.len, exptime);
	PyBuffer_Release(&k);
	return PyLong_FromLong(rc);
}

static PyObject *py_flush_all(PyObject *self, PyObject *args)
{
	int delay;

	if (!PyArg_ParseTuple(args, "i", &delay))
		return NULL;
	return PyLong_FromLong(plmc_flush_all(delay));
}

/* The counters of struct plmc_stats under memcached's stat names. */
#define STAT(f)                                                                \
	{                                                                      \
#f, offsetof(struct plmc_stats, f)                             \
	}
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	STAT(curr_items),	 STAT(total_items),    STAT(bytes),
	STAT(limit_maxbytes),	 STAT(get_hits),       STAT(get_misses),
	STAT(cmd_get),		 STAT(cmd_set),	       STAT(delete_hits),
	STAT(delete_misses),	 STAT(evictions),      STAT(time),
	STAT(cmd_touch),	 STAT(touch_hits),     STAT(touch_misses),
	STAT(incr_hits),	 STAT(incr_misses),    STAT(decr_hits),
	STAT(decr_misses),	 STAT(cas_hits),       STAT(cas_misses),
	STAT(cas_badval),	 STAT(get_expired),    STAT(get_flushed),
	STAT(cmd_flush),	 STAT(reclaimed),      STAT(expired_unfetched),
	STAT(evicted_unfetched), STAT(total_malloced), STAT(hash_buckets),
	STAT(nattach),		 STAT(generation),     STAT(deaths),
	STAT(slab_reassign_rescues),
	STAT(slab_reassign_chunk_rescues),
	STAT(slab_reassign_evictions_nomem),
	STAT(slab_reassign_inline_reclaim),
	STAT(slab_reassign_busy_items),
	STAT(slab_reassign_busy_deletes),
	STAT(slab_reassign_running),
	STAT(slabs_moved),	 STAT(slab_global_page_pool),
	STAT(lru_maintainer_juggles),
	STAT(moves_to_cold),	 STAT(moves_to_warm),  STAT(moves_within_lru),
	STAT(evicted_active),	 STAT(direct_reclaims), STAT(temporary_ttl),
};

static PyObject *py_stats(PyObject *self, PyObject *unused)
{
	struct plmc_stats st = {.size = sizeof(st)};
	PyObject *d;
	int rc = plmc_stats(&st);

	if (rc < 0)
		return raise_rc(rc);
	d = PyDict_New();
	if (!d)
		return NULL;
	for (size_t i = 0; i < sizeof(stat_fields) / sizeof(stat_fields[0]);
	     i++) {
		uint64_t v;
		PyObject *val;

		memcpy(&v, (char *)&st + stat_fields[i].off, sizeof(v));
		val = PyLong_FromUnsignedLongLong(v);
		if (!val || PyDict_SetItemString(d, stat_fields[i].name, val)) {
			Py_XDECREF(val);
			Py_DECREF(d);
			return NULL;
		}
		Py_DECREF(val);
	}
	return d;
}

static PyObject *py_store_size(PyObject *self, PyObject *unused)
{
	return PyLong_FromUnsignedLongLong(plmc_store_size());
}

static PyObject *py_version(PyObject *self, PyObject *unused)
{
	char buf[128];
	int rc = plmc_version(buf, sizeof(buf));

	if (rc < 0)
		return raise_rc(rc);
	return PyUnicode_FromString(buf);
}

/* ---- Ring: which server a key goes to ----------------------------------- */

typedef struct {
	PyObject_HEAD memcached_st *mc;
} Ring;

static int ring_init(Ring *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"config", "ketama", NULL};
	const char *conf;
	Py_ssize_t len;
	int ketama = 0;
	char err[512] = "";

	if (!PyArg_ParseTupleAndKeywords(args, kw, "s#|p", kwlist, &conf, &len,
					 &ketama))
		return -1;
	if (self->mc) {
		PyErr_SetString(PyExc_TypeError, "Ring already set up");
		return -1;
	}
	if (libmemcached_check_configuration(
		    conf, (size_t)len, err, sizeof(err)) != MEMCACHED_SUCCESS) {
		PyErr_Format(PyExc_ValueError, "server configuration: %s",
			     err[0] ? err : "not understood");
		return -1;
	}
	self->mc = memcached(conf, (size_t)len);
	if (!self->mc) {
		PyErr_NoMemory();
		return -1;
	}
	/* libmemcached's KETAMA_WEIGHTED: MD5 key hash, 160 points per unit
	 * of weight share (the classic ketama of other clients too). */
	if (ketama &&
	    memcached_behavior_set(self->mc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED,
				   1) != MEMCACHED_SUCCESS) {
		PyErr_Format(PyExc_ValueError, "ketama: %s",
			     memcached_last_error_message(self->mc));
		return -1;
	}
	return 0;
}

static void ring_dealloc(Ring *self)
{
	memcached_free(self->mc);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static const char *const kinds[] = {"tcp", "unix", "segment"};

/* servers() -> [(kind, name, port, weight)] in the handle's order */
static PyObject *ring_servers(Ring *self, PyObject *unused)
{
	uint32_t n = self->mc ? memcached_server_count(self->mc) : 0;
	PyObject *l = PyList_New(n);

	if (!l)
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		const memcached_instance_st *s =
			memcached_server_instance_by_position(self->mc, i);
		PyObject *t = Py_BuildValue(
			"(ssII)", kinds[s->kind < 3 ? s->kind : 0], s->hostname,
			(unsigned)s->port, (unsigned)s->weight);

		if (!t) {
			Py_DECREF(l);
			return NULL;
		}
		PyList_SET_ITEM(l, i, t);
	}
	return l;
}

/* index(key) -> the position of the server that owns key */
static PyObject *ring_index(Ring *self, PyObject *arg)
{
	char *key;
	Py_ssize_t klen;

	if (PyBytes_AsStringAndSize(arg, &key, &klen) < 0)
		return NULL;
	if (!self->mc || !memcached_server_count(self->mc)) {
		PyErr_SetString(PyExc_ValueError, "no servers");
		return NULL;
	}
	return PyLong_FromUnsignedLong(
		memcached_generate_hash(self->mc, key, (size_t)klen));
}

static PyMethodDef ring_methods[] = {
	{"servers", (PyCFunction)ring_servers, METH_NOARGS,
	 "servers() -> [(kind, name, port, weight)]"},
	{"index", (PyCFunction)ring_index, METH_O,
	 "index(key: bytes) -> position of the server that owns key"},
	{NULL},
};

static PyTypeObject RingType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "plmc._plmc.Ring",
	.tp_doc =
		"Ring(config, ketama=False): key placement of a "
		"libmemcached configuration string, as libpl/memcached "
		"computes it; ketama: then MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED",
	.tp_basicsize = sizeof(Ring),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_new = PyType_GenericNew,
	.tp_init = (initproc)ring_init,
	.tp_dealloc = (destructor)ring_dealloc,
	.tp_methods = ring_methods,
};

/* strerror(code): libpl's text for a status or error code */
static PyObject *py_strerror(PyObject *self, PyObject *arg)
{
	long rc = PyLong_AsLong(arg);

	if (rc == -1 && PyErr_Occurred())
		return NULL;
	return PyUnicode_FromString(plmc_strerror((int)rc));
}

static PyMethodDef methods[] = {
	{"attach", py_attach, METH_VARARGS, "attach(name, use)"},
	{"strerror", py_strerror, METH_O, "strerror(code) -> str"},
	{"create", py_create, METH_VARARGS, "create(name, size, mode, use)"},
	{"backend", py_backend, METH_NOARGS, "backend() -> str or None"},
	{"store", py_store, METH_VARARGS,
	 "store(cmd, key, value, flags, exptime, cas) -> status"},
	{"get", py_get, METH_O, "get(key) -> (value, flags, cas) or None"},
	{"get_many", py_get_many, METH_O,
	 "get_many(keys) -> [(value, flags, cas) or None]"},
	{"delete", py_delete, METH_O, "delete(key) -> status"},
	{"arith", py_arith, METH_VARARGS,
	 "arith(key, delta, decr) -> (status, value)"},
	{"touch", py_touch, METH_VARARGS, "touch(key, exptime) -> status"},
	{"flush_all", py_flush_all, METH_VARARGS, "flush_all(delay) -> status"},
	{"stats", py_stats, METH_NOARGS, "stats() -> dict"},
	{"version", py_version, METH_NOARGS, "version() -> str"},
	{"store_size", py_store_size, METH_NOARGS,
	 "store_size() -> the attached store's size, 0 if detached"},
	{NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "plmc._plmc",
	.m_doc = "libpl, the plmc client runtime (see the plmc package)",
	.m_size = -1,
	.m_methods = methods,
};

#define ADD_INT(m, name, v)                                                    \
	do {                                                                   \
		if (PyModule_AddIntConstant(m, name, v) < 0)                   \
			goto fail;                                             \
	} while (0)

PyMODINIT_FUNC PyInit__plmc(void)
{
	PyObject *m;

	if (PyType_Ready(&RingType) < 0)
		return NULL;
	m = PyModule_Create(&module);
	if (!m)
		return NULL;
	plmc_error =
		PyErr_NewException("plmc._plmc.Error", PyExc_OSError, NULL);
	if (!plmc_error || PyModule_AddObjectRef(m, "Error", plmc_error) < 0 ||
	    PyModule_AddObjectRef(m, "Ring", (PyObject *)&RingType) < 0)
		goto fail;
	ADD_INT(m, "STORE_MAX", (long)PLMC_STORE_MAX);
	ADD_INT(m, "MAX_SLOTS", PLMC_MAX_SLOTS);
	ADD_INT(m, "USE_AUTO", PLMC_USE_AUTO);
	ADD_INT(m, "USE_KMOD", PLMC_USE_KMOD);
	ADD_INT(m, "USE_NONE", PLMC_USE_NONE);
	ADD_INT(m, "USE_PKU", PLMC_USE_PKU);
	ADD_INT(m, "SET", ST_SET);
	ADD_INT(m, "ADD", ST_ADD);
	ADD_INT(m, "REPLACE", ST_REPLACE);
	ADD_INT(m, "APPEND", ST_APPEND);
	ADD_INT(m, "PREPEND", ST_PREPEND);
	ADD_INT(m, "CAS", ST_CAS);
	ADD_INT(m, "OK", PLMC_OK);
	ADD_INT(m, "STORED", PLMC_STORED);
	ADD_INT(m, "NOT_STORED", PLMC_NOT_STORED);
	ADD_INT(m, "EXISTS", PLMC_EXISTS);
	ADD_INT(m, "NOT_FOUND", PLMC_NOT_FOUND);
	ADD_INT(m, "DELETED", PLMC_DELETED);
	ADD_INT(m, "TOUCHED", PLMC_TOUCHED);
	ADD_INT(m, "E_KEY", PLMC_E_KEY);
	ADD_INT(m, "E_TOOBIG", PLMC_E_TOOBIG);
	ADD_INT(m, "E_NOMEM", PLMC_E_NOMEM);
	ADD_INT(m, "E_NONNUMERIC", PLMC_E_NONNUMERIC);
	ADD_INT(m, "E_DETACHED", PLMC_E_DETACHED);
	ADD_INT(m, "KEY_MAX", PLMC_KEY_MAX);
	return m;
fail:
	Py_XDECREF(plmc_error);
	Py_DECREF(m);
	return NULL;
}
