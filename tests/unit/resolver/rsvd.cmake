# Unit tests of resolver/io's pure parts (options, access list), owned by resolver/io.
if(EXISTS ${CMAKE_SOURCE_DIR}/resolver/io/rsvd_config.c AND TARGET cairn_common_io)
  cairn_unit_test(rsvd_test_config test_rsvd_config.c cairn_rsv_core cairn_common_io
    cairn_common PkgConfig::LIBUV Threads::Threads)
  if(TARGET rsvd_test_config)
    target_sources(rsvd_test_config PRIVATE ${CMAKE_SOURCE_DIR}/resolver/io/rsvd_config.c)
    target_include_directories(rsvd_test_config PRIVATE ${CMAKE_SOURCE_DIR}/resolver/io)
  endif()
endif()
# The upstream exchanges on a real loop against a fake server on 127.0.0.1.
if(EXISTS ${CMAKE_SOURCE_DIR}/resolver/io/rsvd_upstream.c AND TARGET cairn_common_io)
  cairn_unit_test(rsvd_test_upstream test_rsvd_upstream.c cairn_rsv_core cairn_common_io
    cairn_common PkgConfig::LIBUV PkgConfig::LDNS Threads::Threads)
  if(TARGET rsvd_test_upstream)
    target_sources(rsvd_test_upstream PRIVATE ${CMAKE_SOURCE_DIR}/resolver/io/rsvd_upstream.c)
    target_include_directories(rsvd_test_upstream PRIVATE ${CMAKE_SOURCE_DIR}/resolver/io)
  endif()
endif()
