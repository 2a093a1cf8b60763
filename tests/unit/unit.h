/* SPDX-License-Identifier: MIT */
/* CUnit scaffolding shared by the unit test programs. */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <stdlib.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

struct unit_test {
	const char	*name;
	CU_TestFunc	 fn;
};

#define UNIT_TEST(fn)	{ #fn, fn }
#define UNIT_END	{ NULL, NULL }

/* Runs the tests of one suite; exit status 0 only if all passed. */
static inline int
unit_run(const char *suite, const struct unit_test *tests)
{
	CU_pSuite	 s;
	int		 failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return (2);
	s = CU_add_suite(suite, NULL, NULL);
	for (; tests->name != NULL; tests++)
		CU_add_test(s, tests->name, tests->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	failed += CU_get_number_of_failure_records() ? 1 : 0;
	CU_cleanup_registry();
	return (failed ? 1 : 0);
}

#endif
