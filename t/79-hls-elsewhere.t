#!/usr/bin/perl

# Playlists of a channel that this nginx's zone does not know, but another
# nginx streams (the old binary of an upgrade: it holds the flock on the
# channel's .streamline.live) or has just ended (it left its DVR index,
# .streamline.dvr, a moment ago): the request waits for the channel to
# come here (its publisher reconnects), and gets it live; if the channel
# does not come within 8 s, 503 with Retry-After: 1, not 404.  A channel
# nobody streams gets its 404 at once, as before.  Here this test process
# plays the other nginx.  t/35-operator-live.t does the real upgrade.

use strict;
use warnings;

use Fcntl qw(:flock);
use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $CAP = 5;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => 'streamline_segment 1s;',
    http => "streamline_hls_max_held $CAP;"));
$t->run;
my $media = media_dir($t);

# the other nginx: a stream runs in "other", "back" has just ended there
mkdir $media;
for my $ch (qw(other back unlocked stale)) {
    mkdir "$media/$ch";
    mkdir "$media/$ch/source";
}
for my $ch (qw(other unlocked)) {
    open my $fh, '>', "$media/$ch/.streamline.live" or die "$ch: $!";
    close $fh;
}
open my $live, '<', "$media/other/.streamline.live" or die "other: $!";
flock $live, LOCK_EX or die "flock: $!";
for my $ch (qw(back stale)) {
    open my $fh, '>', "$media/$ch/.streamline.dvr" or die "$ch: $!";
    print $fh 'an index';
    close $fh;
}
utime time - 60, time - 60, "$media/stale/.streamline.dvr";
# a part that the other nginx wrote: a file, for the static module
open my $part, '>', "$media/other/source/part-5.0.m4s" or die "part: $!";
print $part 'a part';
close $part;

sub send_get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('HTTP'), Proto => 'tcp', Timeout => 5)
        or die "connect: $!";
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n";
    return { s => $s, path => $path, sent => time };
}

# the answer within $timeout: status, headers, body, seconds; undef if none
sub answer {
    my ($q, $timeout) = @_;
    return undef unless IO::Select->new($q->{s})->can_read($timeout);
    local $/;
    my $data = readline($q->{s}) // '';
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.1 (\d{3})};
    my %h = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () }
        split /\r\n/, $head // '';
    return { status => $status // 'garbled', headers => \%h,
             body => $body // '', took => time - $q->{sent} };
}

my @held = map { send_get($_) } '/hls/other/master.m3u8',
    '/hls/other/source/index.m3u8', '/hls/other/source/index.m3u8?_HLS_msn=9',
    '/hls/other/source/part-7.0.m4s', '/hls/back/source/index.m3u8';
sleep 1;
ok(!grep({ IO::Select->new($_->{s})->can_read(0) } @held),
   'held: the playlists, a blocking reload, the next part, of a channel '
   . 'another nginx streams or has just ended');

my $r = $t->get('/hls/other/source/part-5.0.m4s');
is($r->{status}, 200, 'a part on disk is served at once');

for my $ch (qw(nobody unlocked stale)) {
    $r = $t->get("/hls/$ch/source/index.m3u8");
    ok($r->{status} == 404 && $r->{elapsed} < 1,
       "$ch: 404 at once") or diag "$r->{status} in $r->{elapsed} s";
}

# the cap on held requests counts them
my $over = send_get('/hls/other/source/index.m3u8');
my $a = answer($over, 0.5);
is($a && $a->{status}, 503, 'beyond streamline_hls_max_held: 503 at once');

for my $q (@held) {
    my $a = answer($q, 12);
    ok($a && $a->{status} == 503 && $a->{took} > 7 && $a->{took} < 10
       && ($a->{headers}{'retry-after'} // '') eq '1',
       "$q->{path}: 503 with Retry-After: 1 after 8 s")
        or diag explain $a;
}

# the channel comes here: the other nginx's stream ends, the publisher
# reconnects here
my $q = send_get('/hls/other/source/index.m3u8');
my $m = send_get('/hls/other/master.m3u8');
sleep 0.5;
close $live;
my $key = random_key();
$t->add_key(other => $key);
my $pub = publish_media($t, $key, size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 25 -keyint_min 25
                  -sc_threshold 0 -pix_fmt yuv420p)]);
for my $w ($q, $m) {
    my $a = answer($w, 10);
    ok($a && $a->{status} == 200 && $a->{body} =~ /^#EXTM3U/
       && $a->{body} !~ /^#EXT-X-ENDLIST/m,
       "$w->{path}: answered live once the channel is here")
        or diag explain($a), $pub->stderr;
    diag sprintf '%s held %.1f s', $w->{path}, $a->{took} if $a;
}
$pub->stop;

done_testing;
