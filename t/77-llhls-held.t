#!/usr/bin/perl

# Held LL-HLS requests are capped per worker (streamline_hls_max_held):
# beyond the cap a blocking request is answered 503 at once instead of
# holding a connection, so that a flood of varied blocking requests cannot
# take the worker_connections that RTMP ingest needs (issue 9, case 10).

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use List::Util qw(max);
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $CAP = 10;
my $FLOOD = 60;            # with the cap's 10: more than the 64 connections

my $t = Streamline::Test->new;
$t->start_redis;

my $conf = media_conf(workers => 1,
    app => "streamline_segment 2s;\n            streamline_part 250ms;",
    http => "streamline_hls_max_held $CAP;");
$conf =~ s/worker_connections \d+;/worker_connections 64;/
    or BAIL_OUT('no worker_connections in media_conf');
$t->write_conf($conf);
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);
my @enc = (vcodec => [qw(-c:v libx264 -preset ultrafast -g 60 -keyint_min 60
                         -sc_threshold 0 -pix_fmt yuv420p)]);
my $pub = publish_media($t, $key, size => '320x180', rate => 30, @enc);

my $url = '/hls/main/source/index.m3u8';
ok(wait_for(sub { $t->get($url)->{body} =~ /^seg-\d+\.m4s$/m }, 20),
   'a complete segment is listed') or diag $pub->stderr;

# Two segments past the last one listed (segment or part): the earliest
# answer is a whole segment (2 s) away, so every request below is held
# while the others come.
sub far {
    my ($body) = @_;
    my @listed = $body =~ /^(?:seg|#EXT-X-PART:.*URI="part)-(\d+)/mg;
    return @listed ? (sort { $a <=> $b } @listed)[-1] + 2 : undef;
}
my $body = $t->get($url)->{body};
my $far = far($body);

sub send_held {
    my ($query) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $t->port('HTTP'), Proto => 'tcp', Timeout => 5)
        or return undef;
    print $s "GET $url?$query HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n";
    return $s;
}

# the status line of an answer within $timeout, undef if none came
sub status_of {
    my ($s, $timeout) = @_;
    return undef unless IO::Select->new($s)->can_read($timeout);
    my $line = <$s> // '';
    return $line =~ m{^HTTP/1\.1 (\d{3})} ? $1 : 'garbled';
}

# $CAP varied blocking requests: each its own msn/part, all held
my @held;
for my $i (0 .. $CAP - 1) {
    my $q = $i == 0 ? "_HLS_msn=$far" : "_HLS_msn=$far&_HLS_part=$i";
    push @held, send_held($q) // BAIL_OUT("connect: $!");
}
sleep 0.3;
ok(!grep({ IO::Select->new($_)->can_read(0) } @held),
   "$CAP blocking requests are held (none answered yet)");

# the next one: 503 at once
my $t0 = time;
my $s = send_held("_HLS_msn=$far&_HLS_part=$CAP");
my $status = status_of($s, 5);
my $took = time - $t0;
is($status, 503, 'one more blocking request: 503');
cmp_ok($took, '<', 1.5, 'answered at once, not held') or diag "took $took s";
close $s;
ok(!grep({ IO::Select->new($_)->can_read(0) } @held),
   'the held ones are still held');

# A flood of varied blocking requests, kept up while a second channel
# publishes: a flooder sends a new request whenever one is answered (and
# hangs up on each answer).  Held, they would take every connection and
# the publisher would not get one; refused, they hold none.
my $key2 = random_key('second');
$t->add_key(second => $key2);
my $pub2 = publish_media($t, $key2, size => '320x180', rate => 30, @enc);

# always two segments ahead, as the stream goes on; each part its own
my $n = 0;
my $ahead = $far;
sub flood_one {
    $n++;
    return send_held("_HLS_msn=$ahead&_HLS_part=" . ($n % 8)
                     . ($n % 2 ? '&_HLS_skip=YES' : ''));
}

my @flood = map { flood_one() } 1 .. $FLOOD;
my ($refused, $other, $packaged) = (0, 0, 0);
my $until = time + 20;
my $next_look = 0;
while (time < $until) {
    for my $f (@flood) {
        next unless defined $f && IO::Select->new($f)->can_read(0);
        my $st = status_of($f, 0);
        (defined $st && $st == 503) ? $refused++ : $other++;
        close $f;
        $f = flood_one();
    }
    if (time >= $next_look) {
        $next_look = time + 0.5;
        $ahead = far($t->get($url, timeout => 1)->{body}) // $ahead;
        last if $packaged = $t->get('/hls/second/source/index.m3u8',
            timeout => 1)->{body} =~ /^seg-\d+\.m4s$/m;
    }
    sleep 0.01;
}
close $_ for grep defined, @flood;

ok($packaged, 'a publisher connects and is packaged during the flood')
    or diag $pub2->stderr;
# (once the held ones are answered, a few of the flood's take their place)
cmp_ok($refused, '>=', $FLOOD, "the flood's requests: 503 at once")
    or diag "$refused refused, $other otherwise";

my $logged = qr/streamline_hls_max_held limit/;
ok(wait_for(sub { $t->log_lines($logged) }, 5),
   'the refusal is logged, with the directive named');
my @lines = $t->log_lines($logged);
cmp_ok(scalar @lines, '<=', 3, 'once in a while, not once a request')
    or diag scalar @lines;

ok($pub->alive, 'the first publisher goes on');

# the held ones are answered as usual: 200 once there, or 503 after 3
# target durations; none is lost
my $answered = 0;
for my $h (@held) {
    my $st = status_of($h, 15);
    $answered++ if defined $st && ($st == 200 || $st == 503);
    close $h;
}
is($answered, $CAP, 'every held request is answered');

# below the cap again: a blocking request is held and answered 200
$body = $t->get($url)->{body};
my ($hmsn, $hpart) = $body =~ /PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/;
my $r = $t->get("$url?_HLS_msn=$hmsn&_HLS_part=$hpart", timeout => 10);
is($r->{status}, 200, 'under the cap again, a blocking request: 200');

$pub->stop;
$pub2->stop;

done_testing;
