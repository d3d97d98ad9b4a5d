# Replication tests (owned by the xfr engineer): the pure core, then the libuv
# shell against scripted peers on 127.56.0.1 with a stub server.
cairn_unit_test(test_xfr test_xfr.c cairn_auth_core)
if(TARGET cairn_common_io AND EXISTS ${CMAKE_SOURCE_DIR}/authoritative/io/authd_xfr.c)
  cairn_unit_test(test_authd_xfr test_authd_xfr.c cairn_auth_core cairn_common_io)
  if(TARGET test_authd_xfr)
    target_sources(test_authd_xfr PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/io/authd_xfr.c)
    target_include_directories(test_authd_xfr PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/io)
  endif()
endif()
