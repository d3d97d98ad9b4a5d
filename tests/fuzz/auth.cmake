if(TARGET cairn_auth_core)
  cairn_fuzz_target(fuzz_zone fuzz_zone.c cairn_auth_core)
endif()
