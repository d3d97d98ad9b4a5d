#!/usr/bin/env bash
# auth_diff_machinery.sh — proves that auth_diff_nsd.sh can fail: NSD is
# compared with a second NSD serving the diff zones with a few records changed
# (an rdata, a TTL, a deleted name), over the plain UDP/EDNS queries only; the
# comparison must report every change. Needs NSD only, not cairn-auth.
export CAIRN_DIFF_SELFTEST=mutate
export CAIRN_DIFF_ONLY='* udp,edns=1232'
exec "$(dirname "$0")/auth_diff_nsd.sh" "$@"
