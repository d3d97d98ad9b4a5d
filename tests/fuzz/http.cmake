# The HTTP request parser glue, fed in random pieces (http/core).
if(TARGET cairn_http_core)
  cairn_fuzz_target(fuzz_http fuzz_http.c cairn_http_core)
endif()
