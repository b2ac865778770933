#!/bin/sh
# Regenerates the derived fixtures (domains, hosts and urls formats) from the URLhaus
# filter copy in this folder. URLhaus lines are CC0-1.0; the files keep its header lines.
set -eu
cd "$(dirname "$0")"
src=urlhaus-filter-online.txt
hdr() { grep '^!' "$src" | sed 's/^!/#/'; echo "# Derived for consentgate tests by gen-derived.sh ($1 format)."; }
# domains: the list's plain host and IP lines (every 10th, and all IPs 1.*)
{ hdr domains; grep -v '^[!|]' "$src" | awk 'NR % 10 == 1 || /^1\./'; } > urlhaus-domains.txt
# hosts: the same names as a hosts file, with the boilerplate Debian's /etc/hosts carries
{ hdr hosts
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n\n'
  grep -v '^[!|]' "$src" | grep -v '^[0-9.]*$' | awk 'NR % 10 == 2 { printf "0.0.0.0 %s\n", $0 } NR % 10 == 3 { printf "127.0.0.1 %s", $0; getline; printf " %s  # two names\n", $0 }'
} > urlhaus-hosts.txt
# urls: the list's URL rules, without the abp syntax, every 5th with an http:// scheme
{ hdr urls; grep '^||.*/' "$src" | sed 's/^||//; s/\^\$all$//; s/\$all$//' | awk 'NR % 25 == 1 { print "http://" $0 } NR % 25 == 6 { print }'; } > urlhaus-urls.txt
