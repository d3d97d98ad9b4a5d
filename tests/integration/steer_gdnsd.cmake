# steer_gdnsd: cairn-auth's CDN steering cross-checked against gdnsd's geoip
# plugin (same datacenters, GeoIP database, networks; > 300 client subnets).
# Skips (77) without gdnsd (or dig, python3).
cairn_integration_test(steer_gdnsd tests/integration/steer_gdnsd.sh)
set_tests_properties(integration/steer_gdnsd PROPERTIES SKIP_RETURN_CODE 77)
