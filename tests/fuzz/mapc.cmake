# cairn-mapc's JSON reader and MaxMind DB writer, output read back by libmaxminddb.
if(TARGET cairn_auth_core AND EXISTS ${CMAKE_SOURCE_DIR}/authoritative/core/geo_mmdbw.c)
  cairn_fuzz_target(fuzz_mapc fuzz_mapc.c cairn_auth_core PkgConfig::MAXMINDDB PkgConfig::JANSSON)
endif()
