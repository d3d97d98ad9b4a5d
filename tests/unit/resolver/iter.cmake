# The iterator's scenario tests (replay files in tests/fixtures/replay), and the
# unit tests of server selection and scrubbing.
cairn_unit_test(rsv_test_iter test_iter.c cairn_rsv_core Threads::Threads PkgConfig::LDNS)
if(TARGET rsv_test_iter)
  target_sources(rsv_test_iter PRIVATE replay.c)
  target_compile_definitions(rsv_test_iter PRIVATE
    REPLAY_DIR="${CMAKE_SOURCE_DIR}/tests/fixtures/replay")
endif()
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_select.c)
  cairn_unit_test(rsv_test_select test_select.c cairn_rsv_core Threads::Threads PkgConfig::LDNS)
endif()
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_scrub.c)
  cairn_unit_test(rsv_test_scrub test_scrub.c cairn_rsv_core Threads::Threads PkgConfig::LDNS)
endif()
