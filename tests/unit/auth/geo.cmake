# CDN steering tests (owned by the geo core engineer): the map and placement
# tree with an in-memory GeoIP source, and the MaxMind DB adapter against
# MaxMind's test databases in tests/fixtures/mmdb/.
cairn_unit_test(test_geo_map test_geo_map.c cairn_auth_core m)
cairn_unit_test(test_geo_mmdb test_geo_mmdb.c cairn_auth_core m)
if(TARGET test_geo_mmdb)
  target_compile_definitions(test_geo_mmdb PRIVATE
    CAIRN_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures/mmdb")
endif()
