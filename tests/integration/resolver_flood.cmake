# resolver_flood: an off-path attacker process floods cairn-resolver's upstream
# ports with spoofed replies (raw sockets, needs root; skips otherwise).
cairn_integration_test(resolver_flood tests/integration/resolver_flood.sh)
set_tests_properties(integration/resolver_flood PROPERTIES SKIP_RETURN_CODE 77)
