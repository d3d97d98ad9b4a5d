# Integration test of cairn-edge (with cairn-origin and a stub origin), on 127.65.0.0/16.
if(TARGET cairn-edge AND TARGET cairn-origin)
  cairn_integration_test(http_edge tests/integration/http_edge.sh)
  set_tests_properties(integration/http_edge PROPERTIES SKIP_RETURN_CODE 77)
endif()
