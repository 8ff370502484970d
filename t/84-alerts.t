#!/usr/bin/perl

# The shipped alert rules (nginx-conf/prometheus/streamline-alerts.yml):
# promtool checks them and runs their unit tests
# (streamline-alerts.test.yml: each alert fires when it should, with its
# labels and summary, and not before or after).  t/85-prometheus.t runs
# them in a real Prometheus against a real origin.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $dir = "$Streamline::Test::REPO/nginx-conf/prometheus";

plan skip_all => 'promtool not installed (Debian package prometheus)'
    unless system('command -v promtool >/dev/null 2>&1') == 0;

my $out = `cd $dir && promtool check rules streamline-alerts.yml 2>&1`;
is($?, 0, 'promtool check rules') or diag $out;
like($out, qr/SUCCESS: (\d+) rules found/, 'the rules load');

$out = `cd $dir && promtool check config prometheus.yml 2>&1`;
is($?, 0, 'promtool check config: the example prometheus.yml') or diag $out;

$out = `cd $dir && promtool test rules streamline-alerts.test.yml 2>&1`;
is($?, 0, 'promtool test rules: every alert fires when it should') or diag $out;

# every alert of the file has a test
my @rules = `cd $dir && grep -o 'alert: [A-Za-z]*' streamline-alerts.yml`;
my %tested = map { /alertname: (\w+)/ ? ($1 => 1) : () }
             `cd $dir && grep 'alertname:' streamline-alerts.test.yml`;
for (@rules) {
    my ($name) = /alert: (\w+)/;
    ok($tested{$name}, "$name has a unit test");
}

done_testing;
