#!/usr/bin/perl
# Writes CG-Geo-Test.mmdb: a tiny GeoIP2-shaped database with the cases MaxMind's own test
# databases do not have (they predate the is_in_european_union flag): the EU flag set and
# cleared against the country, registered_country without country, a subdivision, records
# without a usable country. Documentation networks only (RFC 5737, RFC 3849, RFC 6598).
#   perl tests/data/maxmind/make-cg-geo-test.pl tests/data/maxmind/CG-Geo-Test.mmdb
# Needs libmaxmind-db-writer-perl (Debian); the generated file is committed.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift // 'CG-Geo-Test.mmdb';
my %types = (
    country => 'map', registered_country => 'map', continent => 'map', subdivisions => ['array', 'map'],
    iso_code => 'utf8_string', code => 'utf8_string', is_in_european_union => 'boolean',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'CG-Geo-Test', languages => ['en'],
    description => {en => 'consentgate geo test data (fake, documentation networks only)'},
    alias_ipv6_to_ipv4 => 1, remove_reserved_networks => 0,
    map_key_type_callback => sub { $types{$_[0]} // die "no type for $_[0]" },
);
my @records = (
    # country with flag and subdivision
    ['192.0.2.0/25',     {country => {iso_code => 'FR', is_in_european_union => 1}, subdivisions => [{iso_code => 'IDF'}]}],
    # only registered_country (e.g. anycast / satellite ranges)
    ['192.0.2.128/25',   {registered_country => {iso_code => 'DE', is_in_european_union => 1}}],
    # US-CA
    ['198.51.100.0/24',  {country => {iso_code => 'US'}, subdivisions => [{iso_code => 'CA'}, {iso_code => 'LA'}]}],
    # country without the flag: the built-in EU list decides
    ['203.0.113.0/25',   {country => {iso_code => 'IT'}, registered_country => {iso_code => 'CN'}}],
    ['203.0.113.128/25', {country => {iso_code => 'CN'}}],
    # the flag wins over the built-in list, both ways
    ['2001:db8:1::/48',  {country => {iso_code => 'NO', is_in_european_union => 1}}],
    ['2001:db8:2::/48',  {country => {iso_code => 'SE', is_in_european_union => 0}}],
    # unusable records: no country at all, a malformed iso_code
    ['100.64.0.0/24',    {continent => {code => 'EU'}}],
    ['100.64.1.0/24',    {country => {iso_code => 'USA'}}],
);
$tree->insert_network($_->[0], $_->[1]) for @records;
open my $fh, '>:raw', $out or die "$out: $!";
$tree->write_tree($fh);
close $fh or die "$out: $!";
