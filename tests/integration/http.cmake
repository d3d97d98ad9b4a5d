# Integration tests of the HTTP programs (cairn-origin; cairn-edge later), on 127.64.0.0/16.
if(TARGET cairn-origin)
  # A raw pipelining client (one write, read to EOF): netcat is not a dependency.
  add_executable(cairn-httppipe ${CMAKE_CURRENT_LIST_DIR}/tools/httppipe.c)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/http_origin.sh)
    cairn_integration_test(http_origin tests/integration/http_origin.sh)
    set_tests_properties(integration/http_origin PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endif()
