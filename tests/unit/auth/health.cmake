# Health-check state machine of CDN steering (owned by the steering io engineer):
# pure core, fake clock. Compiled from source so it does not wait for the rest
# of the geo_* core to be in cairn_auth_core.
cairn_unit_test(test_geo_health test_geo_health.c cairn_common)
if(TARGET test_geo_health)
  target_sources(test_geo_health PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/core/geo_health.c)
  target_include_directories(test_geo_health PRIVATE ${CMAKE_SOURCE_DIR}/authoritative/core)
endif()
