cairn_unit_test(test_xfr test_xfr.c cairn_auth_core)
