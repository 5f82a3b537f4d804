/* SPDX-License-Identifier: MIT */
/*
 * evil - a Python extension module whose text holds WRPKRU (0F 01 EF).
 *
 * tests/vm/python/vm_python.sh imports it in a process that is not
 * attached (the control: it is a working module, evil.hello() answers) and
 * in one that is, after attach: there the module must refuse to map it executable, so
 * the import fails with ImportError and the process carries on using the
 * store.
 */
#include <Python.h>

/* Never called: the bytes only have to be in an executable section. */
__attribute__((used, noinline)) void py_evil_wrpkru(void)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" ::: "memory");
}

static PyObject *evil_hello(PyObject *self, PyObject *unused)
{
	return PyUnicode_FromString("evil");
}

static PyMethodDef evil_methods[] = {
	{"hello", evil_hello, METH_NOARGS, "hello() -> 'evil'"},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef evil_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "evil",
	.m_size = -1,
	.m_methods = evil_methods,
};

PyMODINIT_FUNC PyInit_evil(void)
{
	return PyModule_Create(&evil_module);
}
