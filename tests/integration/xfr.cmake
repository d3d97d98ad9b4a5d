# Replication interop (AXFR/NOTIFY with NSD and knotd); owned by the xfr engineer.
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/auth_xfr_interop.sh)
  cairn_integration_test(auth_xfr_interop tests/integration/auth_xfr_interop.sh)
  set_tests_properties(integration/auth_xfr_interop PROPERTIES SKIP_RETURN_CODE 77)
endif()
