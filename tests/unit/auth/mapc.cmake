# cairn-mapc's writer (geo_mmdbw), read back with libmaxminddb.
if(TARGET cairn_auth_core AND EXISTS ${CMAKE_SOURCE_DIR}/authoritative/core/geo_mmdbw.c)
  cairn_unit_test(test_mapc test_mapc.c cairn_auth_core PkgConfig::MAXMINDDB)
endif()
