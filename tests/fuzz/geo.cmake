# Fuzz target of the steering map loader (geo core engineer): JSON in, and a
# map that loads is then steered, explained and carried over.
if(TARGET cairn_auth_core)
  cairn_fuzz_target(fuzz_map fuzz_map.c cairn_auth_core)
endif()
