# The whole stack end to end (issue 5): cairn-auth's demo internet, cairn-resolver, the CDN
# steering, cairn-edge/cairn-origin, and ordinary Web, mail and FTP clients, all inside a
# private network namespace (needs root; skipped otherwise).
if(TARGET cairn-auth AND TARGET cairn-resolver AND TARGET cairn-origin)
  if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/e2e_stack.sh)
    cairn_integration_test(e2e_stack tests/integration/e2e_stack.sh)
    set_tests_properties(integration/e2e_stack PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300)
  endif()
endif()
