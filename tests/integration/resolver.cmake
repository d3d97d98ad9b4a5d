# Integration tests of cairn-resolver (owned by resolver/io).
foreach(t resolver_basic resolver_failover resolver_adversarial resolver_demo)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/${t}.sh)
    cairn_integration_test(${t} tests/integration/${t}.sh)
    set_tests_properties(integration/${t} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()
