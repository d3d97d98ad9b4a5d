# Unit tests of resolver/io's pure parts (options, access list), owned by resolver/io.
if(EXISTS ${CMAKE_SOURCE_DIR}/resolver/io/rsvd_config.c AND TARGET cairn_common_io)
  cairn_unit_test(rsvd_test_config test_rsvd_config.c cairn_rsv_core cairn_common_io
    cairn_common PkgConfig::LIBUV Threads::Threads)
  if(TARGET rsvd_test_config)
    target_sources(rsvd_test_config PRIVATE ${CMAKE_SOURCE_DIR}/resolver/io/rsvd_config.c)
    target_include_directories(rsvd_test_config PRIVATE ${CMAKE_SOURCE_DIR}/resolver/io)
  endif()
endif()
