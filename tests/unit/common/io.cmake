# Tests of the config reader (pure) and of the common libuv shell; included by
# tests/unit/common/CMakeLists.txt.
cairn_unit_test(test_config test_config.c cairn_common)
if(TARGET cairn_common_io)
  foreach(t test_listen test_metrics test_rand)
    if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/${t}.c)
      cairn_unit_test(${t} ${t}.c cairn_common_io)
    endif()
  endforeach()
endif()
