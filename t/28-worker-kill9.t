#!/usr/bin/perl

# The worker that holds a live publisher is killed with SIGKILL (what the
# OOM killer does).  Nothing of it runs: its owner lock stays in Redis, its
# channel record in shared memory says live.  Both name a process of this
# host that is gone, so:
#   1. a publisher that reconnects at once (OBS retries every 2 s) is
#      accepted within seconds (the lock and the record are taken over),
#      and viewers get the new stream's segments after a discontinuity;
#   2. with nobody reconnecting, the channel goes idle within seconds (a
#      worker finds the record orphaned: ENDLIST, idle, lock released), and
#      a publisher that comes back later resumes the DVR.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(workers => 2, app => 'streamline_segment 1s;'));
$t->run;

# the master says so at [alert] level: provoked here
$t->expect_log(qr/worker process \d+ exited on signal 9/);
$t->expect_log(qr/shared memory zone "streamline_media" was locked by/);

my $key = random_key('main');
$t->add_key(main => $key);
my @light = (size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

sub last_msn {
    my (undef, $pl) = get_media($t, 'main', 'source');
    return $pl && @{$pl->{segments}} ? $pl->{segments}[-1]{msn} : undef;
}

sub kill_worker_of {
    my ($pub) = @_;
    my $w = wait_for(sub {
        $t->nginx->worker_of_client($pub->pid, $t->port('RTMP'))
    }, 10);
    ok($w, "the publisher's worker is $w") or return;
    kill 'KILL', $w;
    ok(wait_for(sub { !kill(0, $w) || _zombie($w) }, 5), 'worker killed');
    return $w;
}

sub _zombie {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    return ((<$fh> // '') =~ /\) ([A-Z])/)[0] eq 'Z';
}

# an OBS-like publisher: tries again every 2 s until one stays
sub reconnect {
    my ($deadline) = @_;
    my $until = time + $deadline;
    while (time < $until) {
        my $lives = () = $t->log_lines(qr/channel "main" is live/);
        my $pub = publish_media($t, $key, @light);
        # the API may still say live for the dead stream: the log tells
        return $pub if wait_for(sub {
            my $n = () = $t->log_lines(qr/channel "main" is live/);
            $n > $lives && $pub->alive;
        }, 2) && $pub->alive;
        $pub->kill('KILL');
        $pub->wait(5);
    }
    return undef;
}

# 1. killed, and the publisher comes back at once
my $pub = publish_media($t, $key, @light);
ok(wait_for(sub { (last_msn() // 0) && @{(get_media($t, 'main',
    'source'))[1]{segments}} >= 3 }, 20), 'first stream: segments')
    or diag $pub->stderr;
my $before = last_msn();

my $killed = time;
kill_worker_of($pub) or BAIL_OUT('no worker to kill');
$pub->wait(10);

$pub = reconnect(15);
my $took = time - $killed;
ok($pub, 'the reconnecting publisher is accepted')
    or diag join "\n", $t->log_lines(qr/streamline:/);
ok($took < 10, sprintf 'within seconds of the SIGKILL (%.1f s)', $took);
is($t->api_status, 'live', 'the API says live');

my ($last, @missing);
ok(wait_for(sub {
    my (undef, $pl) = get_media($t, 'main', 'source');
    $last = $pl;
    $pl && !$pl->{endlist} && @{$pl->{segments}}
        && $pl->{segments}[-1]{msn} > $before + 2
        && grep { $_->{discontinuity} && $_->{msn} > $before }
                @{$pl->{segments}};
}, 20), 'viewers get the new stream\'s segments after a discontinuity')
    or diag playlist_summary($last);
is_deeply([$t->log_lines(qr/no media for this one/)], [],
    'the new stream has media');
@missing = grep { $t->get("/hls/main/source/$_->{uri}")->{status} != 200 }
    @{$last->{segments}};
is_deeply([map { $_->{uri} } @missing], [],
    'every listed segment is there, the dead stream\'s too');
ok(scalar $t->log_lines(qr/stale owner lock|media record is taken over|its worker \d+ died/),
    'the takeover is logged');

# 2. killed, nobody comes back for a while; killed while a segment is
# half written (two of its parts are listed)
my $open;
ok(wait_for(sub {
    my $body = $t->get('/hls/main/source/index.m3u8')->{body} // '';
    my ($tail) = $body =~ /.*\nseg-\d+\.m4s\n(.*)\z/s or return 0;
    my @parts = $tail =~ /#EXT-X-PART:.*URI="part-(\d+)\.\d+\.m4s"/g;
    $open = $parts[0];
    return @parts >= 2;
}, 10), 'a segment is half written');
$killed = time;
kill_worker_of($pub) or BAIL_OUT('no worker to kill');
$pub->wait(10);

ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 8),
    'the API says idle within seconds');
# its own command, after the idle (which the worker's cache shows first)
ok(wait_for(sub { !$t->redis('EXISTS', 'streamline:owner:main') }, 5),
   'the lock is released within seconds');
ok(wait_for(sub {
    my (undef, $pl) = get_media($t, 'main', 'source');
    $last = $pl;
    $pl && $pl->{endlist};
}, 5), 'the playlist ends (ENDLIST)') or diag playlist_summary($last);

# the segment the dead worker was writing ends with its completed parts
@missing = grep { $t->get("/hls/main/source/$_->{uri}")->{status} != 200 }
    @{$last->{segments}};
is_deeply([map { $_->{uri} } @missing], [], 'every listed segment is there');
my $end = $last->{segments}[-1];
is($end->{msn}, $open, 'the half-written segment is listed');
ok(!@{$end->{parts}} || abs(eval { my $d = 0; $d += $_->{duration} for
    @{$end->{parts}}; $d } - $end->{extinf}) < 0.01,
    'the last one lasts what its parts do');

$pub = reconnect(10);
ok($pub, 'a publisher that comes back later is accepted');
ok(wait_for(sub {
    my (undef, $pl) = get_media($t, 'main', 'source');
    $last = $pl;
    $pl && !$pl->{endlist} && $pl->{segments}[0]{msn} <= $before
        && $pl->{segments}[-1]{msn} > $before + 2;
}, 20), 'and resumes the DVR') or diag playlist_summary($last);

$pub->stop;
done_testing;
