# auth_steer: CDN steering in the running cairn-auth (map, ECS, health checks,
# CH TXT explanations, reload, metrics) against real dig and python3 http.server
# endpoints on 127.61.0.0/16. Owned by the steering io engineer.
cairn_integration_test(auth_steer tests/integration/auth_steer.sh)
set_tests_properties(integration/auth_steer PROPERTIES SKIP_RETURN_CODE 77)
