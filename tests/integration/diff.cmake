# Integration tests of cairn-auth against NSD and against malformed input.
# Included by tests/integration/CMakeLists.txt (owned by the lead).
# Exit status 77 means "skipped" (a needed tool or binary is missing).
cairn_integration_test(auth_diff_nsd tests/integration/auth_diff_nsd.sh)
cairn_integration_test(auth_badinput tests/integration/auth_badinput.sh)
if(CAIRN_TESTS)
  set_tests_properties(integration/auth_diff_nsd integration/auth_badinput
    PROPERTIES SKIP_RETURN_CODE 77)
endif()
# The comparison's own check: it must detect a mutated zone (NSD vs NSD).
cairn_integration_test(auth_diff_machinery tests/integration/auth_diff_machinery.sh)
if(CAIRN_TESTS)
  set_tests_properties(integration/auth_diff_machinery PROPERTIES SKIP_RETURN_CODE 77)
endif()
