#!/usr/bin/perl

# Each streamline_keys_file takes memory for the keys its file has: it used
# to take room for the most a file may have (65536 entries, 9.4 MB) in
# every application that names one.  Forty applications with a one-key
# file must not make nginx much bigger than one; the keys still work.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $key = random_key();
$t->keys_file('keys', { $key => 'main' });
$t->start_redis;

# the size of nginx's address space (kB): master and worker alike hold the
# configuration
sub vm_size {
    my $pid = $t->nginx->pid;
    open my $fh, '<', "/proc/$pid/status" or die "/proc/$pid/status: $!\n";
    my ($kb) = join('', <$fh>) =~ /^VmSize:\s+(\d+) kB/m;
    return $kb;
}

sub apps {
    my ($n) = @_;
    return join "\n", map { <<"EOF" } 1 .. $n;
        application app$_ {
            live on;
            streamline on;
            streamline_keys_file %%TESTDIR%%/keys;
            streamline_keys_redis off;
        }
EOF
}

my %size;
for my $n (1, 40) {
    my $conf = state_conf(app => 'streamline_keys_file %%TESTDIR%%/keys;
                                  streamline_keys_redis off;');
    my $more = apps($n);
    $conf =~ s/(application live \{)/$more\n        $1/;
    $t->write_conf($conf);
    $t->run;
    $size{$n} = vm_size();
    $t->stop;
}

my $grown = ($size{40} - $size{1}) / 1024;
cmp_ok($grown, '<', 40,
    sprintf('40 keys files instead of one: %.1f MB more', $grown));

$t->run;
my $pub = $t->publish($key, app => 'app40');
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'the key publishes in the last application') or diag $pub->stderr;
$pub->stop;

done_testing;
