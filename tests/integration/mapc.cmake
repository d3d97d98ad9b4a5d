# cairn-mapc against mmdblookup (owned by the mapc engineer).
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/mapc_roundtrip.sh)
  cairn_integration_test(mapc_roundtrip tests/integration/mapc_roundtrip.sh)
  set_tests_properties(integration/mapc_roundtrip PROPERTIES SKIP_RETURN_CODE 77)
endif()
