# Fuzz target of the AXFR consumer and the SOA/NOTIFY reply readers (xfr engineer).
if(TARGET cairn_auth_core)
  cairn_fuzz_target(fuzz_axfr_in fuzz_axfr_in.c cairn_auth_core)
endif()
