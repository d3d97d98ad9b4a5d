# Health-check state machine of CDN steering (owned by the steering io engineer):
# pure core, fake clock. Compiled from source so it does not wait for the rest
# of the geo_* core to be in cairn_auth_core.
cairn_unit_test(test_geo_health test_geo_health.c cairn_common)
if(TARGET test_geo_health)
  target_sources(test_geo_health PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/core/geo_health.c)
  target_include_directories(test_geo_health PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/core)
endif()
# The libuv health checker (authoritative/io/authd_health.c) on a real loop
# against fake replicas on 127.61.200.x.
if(TARGET cairn_common_io AND TARGET cairn-auth)
  cairn_unit_test(test_authd_health test_authd_health.c cairn_auth_core cairn_common_io
    PkgConfig::LIBUV)
  if(TARGET test_authd_health)
    target_sources(test_authd_health PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/io/authd_health.c
      ${CMAKE_SOURCE_DIR}/authoritative/io/authd_geo.c)
    target_include_directories(test_authd_health PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/io)
  endif()
endif()
