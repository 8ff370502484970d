#!/usr/bin/perl

# A host name of 63 bytes (the Linux limit; Kubernetes pod names and cloud
# FQDNs come close) goes into every publisher's owner token: the token is
# bounded wherever it is kept (the RTMP session, the claim, the live list,
# the channel's media record), so nothing is written past a buffer (run
# under ASan: SANITIZE=1), and the lock works as with a short name.  nginx
# runs in a UTS namespace of its own (unshare -u) with that name.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

plan skip_all => 'needs root for unshare -u' if $>;
plan skip_all => 'unshare -u does not work here'
    if system('unshare -u true >/dev/null 2>&1');

my $host = substr('h' . ('0123456789abcdef-' x 4), 0, 62) . 'z';

my $t = Streamline::Test->new;
my $nginx = Streamline::Test::nginx_bin();
my $wrapper = $t->path('nginx-uts');
$t->write_file($wrapper, <<"SH");
#!/bin/sh
exec unshare -u /bin/sh -c 'hostname "\$0" && exec "\$@"' '$host' '$nginx' "\$@"
SH
chmod 0755, $wrapper or die "$wrapper: $!";
$ENV{NGINX_BIN} = $wrapper;

$t->start_redis;
$t->write_conf(media_conf(app => 'streamline_segment 1s;'));
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);
my @light = (size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

is(length $host, 63, 'a 63-byte host name');

for my $round (1, 2) {
    my $pub = publish_media($t, $key, @light);
    ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
        "round $round: live") or diag $pub->stderr;
    my $owner = $t->redis('GET', 'streamline:owner:main') // '';
    like($owner, qr/^\Q$host\E:\d+:\d+:\d+:\d+$/,
        "round $round: the owner token holds the whole host name");
    ok(wait_for(sub { my (undef, $pl) = get_media($t, 'main', 'source');
                      $pl && @{$pl->{segments}} >= 2 }, 20),
        "round $round: segments");
    $pub->stop;
    ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 5),
        "round $round: idle");
    is($t->redis('EXISTS', 'streamline:owner:main'), 0,
        "round $round: the lock is released");
}

done_testing;
