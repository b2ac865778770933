#!/usr/bin/env bash
# A fuzzing campaign over the drivers in tests/fuzz, one fuzzer process at a time (not part of make test).
#   tests/fuzz/campaign.sh run [SECONDS] [DRIVER...]   fuzz each driver (default: all, the request parsers first) for
#                                                      SECONDS (default 90) on a copy of its corpus in
#                                                      $FUZZ_WORK/<driver>/corpus (default /tmp/fuzz-campaign);
#                                                      crashes, leaks, timeouts (5 s) and out-of-memory (1 GB) land in
#                                                      $FUZZ_WORK/<driver>/artifacts; one summary line per driver
#   tests/fuzz/campaign.sh cov [DRIVER...]             replay tests/fuzz/corpus/<driver> (and the campaign's corpus, if
#                                                      any) through the source-coverage build; print line and branch
#                                                      coverage of the driver's parser files
#   tests/fuzz/campaign.sh show DRIVER FILE            the annotated source of FILE after 'cov' (llvm-cov show)
# The repository's corpus is not changed: copy a new finding in on purpose (tests/fuzz/README).
set -uo pipefail
cd "$(dirname "$0")/../.."
work=${FUZZ_WORK:-/tmp/fuzz-campaign}
mode=${1:-run}
shift || true

# request parsers first (they see a visitor's or an origin's bytes), then the operator-fed ones
all="fuzz_cookie fuzz_set_cookie fuzz_token fuzz_html fuzz_url fuzz_host fuzz_xff fuzz_proxy_header fuzz_consent_body
     fuzz_gunzip fuzz_mime fuzz_fetch fuzz_csp_report fuzz_csp_policy fuzz_beacon fuzz_ui_parse fuzz_utf16
     fuzz_entries_body fuzz_jsonpos fuzz_config fuzz_abp fuzz_risk"

# the files each driver is meant to reach
files_of() {
    case $1 in
    fuzz_cookie) echo filters/cookie.c filters/cookie_db.c ;;
    fuzz_set_cookie) echo filters/cookie.c ;;
    fuzz_token) echo filters/token.c ;;
    fuzz_html) echo filters/html.c ;;
    fuzz_url) echo filters/url.c ;;
    fuzz_host | fuzz_risk) echo filters/risk.c ;;
    fuzz_xff) echo gateway/geo.c ;;
    fuzz_proxy_header) echo filters/proxy_header.c ;;
    fuzz_consent_body) echo filters/consent_body.c ;;
    fuzz_gunzip) echo gateway/gunzip.c ;;
    fuzz_mime) echo filters/mime.c ;;
    fuzz_fetch) echo filters/fetch.c ;;
    fuzz_csp_report) echo filters/csp_report.c ;;
    fuzz_csp_policy) echo filters/csp_policy.c ;;
    fuzz_beacon) echo filters/beacon.c ;;
    fuzz_ui_parse) echo gateway/ui_parse.c ;;
    fuzz_utf16) echo filters/utf16.c ;;
    fuzz_entries_body) echo filters/entries_body.c ;;
    fuzz_jsonpos) echo gateway/jsonpos.c ;;
    fuzz_config) echo gateway/config.c ;;
    fuzz_abp) echo filters/abp.c ;;
    esac
}

# the functions of those files a driver is meant to reach, when not all of them (an extended regular expression)
funcs_of() {
    case $1 in
    fuzz_cookie) echo '^(gw_cookie_iter|gw_cookie_value_next_name|gw_cookie_db_(new|add|lookup)|cookie\.c:(is_|find_ctl|trim)|cookie_db\.c:)' ;;
    fuzz_token) echo '^(gw_token_(encode|decode|hmac|key_init)$|gw_b64url|token\.c:)' ;;
    fuzz_host) echo '^(gw_risk_normalize_host|risk\.c:(normalize|ipv|lower|label_hash|unicode_to_ascii|utf8_next|is_ignored|puny))' ;;
    fuzz_xff) echo '^(gw_cidr_list_(add|contains)|gw_client_addr|geo\.c:(parse_addr|sockaddr_bytes|list_contains|cidr_match|xff_without_port|store_addr))' ;;
    *) echo . ;;
    esac
}

dict_of() { [ -f tests/fuzz/$1.dict ] && echo "-dict=tests/fuzz/$1.dict"; }

case $mode in
run)
    secs=${1:-90}
    shift || true
    drivers=${*:-$all}
    make -s -j2 $(for d in $drivers; do echo build/fuzz/$d; done) || exit 1
    for d in $drivers; do
        dir=$work/$d
        mkdir -p "$dir/corpus" "$dir/artifacts"
        cp -n tests/fuzz/corpus/$d/* "$dir/corpus/" 2>/dev/null
        build/fuzz/$d -max_total_time="$secs" -timeout=5 -rss_limit_mb=1024 -max_len=8192 -print_final_stats=1 \
            -artifact_prefix="$dir/artifacts/" $(dict_of $d) "$dir/corpus" >"$dir/log" 2>&1
        rc=$?
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
        cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$dir/log" | tail -1)
        echo "$d: ${secs}s rc=$rc execs=${execs:-?} $cov corpus=$(ls "$dir/corpus" | wc -l) artifacts=$(ls "$dir/artifacts" | wc -l)"
    done
    ;;
cov)
    drivers=${*:-$all}
    make -s -j2 $(for d in $drivers; do echo build/fuzzcov/$d; done) || exit 1
    for d in $drivers; do
        dir=$work/cov/$d
        rm -rf "$dir" && mkdir -p "$dir"
        dirs=tests/fuzz/corpus/$d
        [ -d "$work/$d/corpus" ] && dirs="$dirs $work/$d/corpus"
        LLVM_PROFILE_FILE="$dir/%p.profraw" build/fuzzcov/$d -runs=0 $dirs >"$dir/log" 2>&1
        llvm-profdata merge -sparse "$dir"/*.profraw -o "$dir/merged.profdata"
        # per function: name, regions, missed, cover, lines, missed, cover, branches, missed, cover
        llvm-cov report build/fuzzcov/$d -instr-profile="$dir/merged.profdata" -show-functions $(files_of $d) 2>/dev/null |
            awk -v d=$d -v re="$(funcs_of $d)" '
                /^File / { file = $0; sub(/.*\//, "", file); sub(/.:$/, "", file) }
                NF == 10 && $1 != "TOTAL" && $1 ~ re && $5 ~ /^[0-9]+$/ { l[file] += $5; lm[file] += $6; b[file] += $8; bm[file] += $9 }
                END { for (f in l) printf "%-18s %-16s lines %6.2f%% of %5d   branches %6.2f%% of %5d%s\n", d, f,
                                           l[f] ? 100 * (l[f] - lm[f]) / l[f] : 0, l[f], b[f] ? 100 * (b[f] - bm[f]) / b[f] : 0, b[f],
                                           re == "." ? "" : "   (the functions it is meant to reach)" }' | sort
        llvm-cov report build/fuzzcov/$d -instr-profile="$dir/merged.profdata" -show-functions $(files_of $d) >"$dir/report" 2>/dev/null
    done
    ;;
show)
    d=${1:?driver}
    llvm-cov show build/fuzzcov/$d -instr-profile="$work/cov/$d/merged.profdata" -show-branches=count "${2:?file}"
    ;;
*)
    sed -n '2,12p' "$0"
    exit 2
    ;;
esac
