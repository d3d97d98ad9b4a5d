# cairn-edge's cache core (http/core/http_cache.c): Cache-Control parsing and the
# store / lookup / revalidate / invalidate rules on arbitrary fields.
if(TARGET cairn_http_core)
  cairn_fuzz_target(fuzz_http_cache fuzz_http_cache.c cairn_http_core)
endif()
