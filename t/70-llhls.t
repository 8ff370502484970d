#!/usr/bin/perl

# LL-HLS (RFC 8216bis): parts, preload hint, server control, blocking
# playlist reload (the answer comes when the part appears, not before;
# 400 for malformed or too-far requests; 503 after 3 target durations),
# delta updates that expand to the full playlist, and requests held in a
# worker that does not hold the RTMP session woken all the same.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use POSIX ();
use HTTP::Tiny;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(workers => 2, http_listen => 'reuseport',
                          app => <<'EOF'));
streamline_segment 1s;
            streamline_part 250ms;
            streamline_dvr_window 60s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '640x360', gop => 30,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

my $url = '/hls/main/source/index.m3u8';
sub fetch { my ($q) = @_; my $t0 = time; my $r = $t->get($url . ($q // ''));
            $r->{took} = time - $t0; $r }

ok(wait_for(sub { my $r = fetch(); $r->{status} == 200
                  && $r->{body} =~ /^seg-\d+\.m4s$/m }, 15),
   'a complete segment is listed') or diag $pub->stderr;

# the playlist itself

my $r = fetch();
my $body = $r->{body};
like($body, qr/^#EXT-X-PART-INF:PART-TARGET=0\.250$/m, 'PART-TARGET 0.250');
like($body, qr/^#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=[\d.]+,PART-HOLD-BACK=([\d.]+),HOLD-BACK=[\d.]+$/m,
     'SERVER-CONTROL: blocking reload, delta updates, hold backs');
my ($phb) = $body =~ /PART-HOLD-BACK=([\d.]+)/;
is($phb, '0.750', 'PART-HOLD-BACK: 3 parts by default (the spec asks for 2 at least, 3 recommended)');
my @parts = $body =~ /^#EXT-X-PART:DURATION=([\d.]+),URI="part-\d+\.\d+\.m4s"/mg;
ok(@parts >= 2, 'parts are listed');
ok(!grep({ $_ > 0.250 } @parts), 'no part longer than PART-TARGET')
    or diag "@parts";
like($body, qr/^#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-\d+\.\d+\.m4s"$/m,
     'a preload hint while live');
like($body, qr/^#EXT-X-RENDITION-REPORT:URI="\.\.\/low\/index\.m3u8",LAST-MSN=\d+,LAST-PART=\d+$/m,
     'a rendition report for the other rendition');
is($r->{headers}{'cache-control'}, 'max-age=1',
   'a plain playlist: half a target duration (at least 1 s)');

# the preload hint: asked for before it exists, answered whole once it does

my ($hint) = $body =~ /PRELOAD-HINT:TYPE=PART,URI="(part-\d+\.\d+\.m4s)"/;
my $dir = rendition_dir($t, 'main', 'source');
ok(!-e "$dir/$hint", "the hinted $hint does not exist yet");
my $t0 = time;
my $h = $t->get("/hls/main/source/$hint");
is($h->{status}, 200, 'the hinted part: 200 once it exists');
is(length($h->{body}), -s "$dir/$hint", 'and whole');
cmp_ok(time - $t0, '>', 0.02, 'it waited for the part');

# a held part is the static module's once it exists: ETag, ranges
($hint) = fetch()->{body} =~ /PRELOAD-HINT:TYPE=PART,URI="(part-\d+\.\d+\.m4s)"/;
ok(!-e "$dir/$hint", "the hinted $hint does not exist yet");
$h = $t->get("/hls/main/source/$hint", headers => { Range => 'bytes=0-7' });
is($h->{status}, 206, 'the hinted part asked for with Range: 206 once it exists');
is(length($h->{body}), 8, 'the 8 bytes asked for');
like($h->{headers}{'content-range'} // '', qr{^bytes 0-7/\d+$}, 'with Content-Range');
like($h->{headers}{etag} // '', qr/^"[0-9a-f]+-[0-9a-f]+"$/, 'and an ETag');

# blocking reload: the next part

sub last_part {
    my ($pl) = @_;
    my ($msn, $i) = ($pl =~ /PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/);
    return ($msn, $i);
}

my ($msn, $part) = last_part(fetch()->{body});
my $br = fetch("?_HLS_msn=$msn&_HLS_part=$part");
is($br->{status}, 200, "_HLS_msn=$msn&_HLS_part=$part: 200");
like($br->{body}, qr/URI="part-$msn\.$part\.m4s"/, 'the answer lists the part asked for');
ok(-e "$dir/part-$msn.$part.m4s", 'which is on disk');
cmp_ok($br->{took}, '>', 0.02, "it was held until the part appeared ($br->{took} s)");
# not until the 3 target durations that end with a 503
cmp_ok($br->{took}, '<', 2.5, 'and no longer than that');
is($br->{headers}{'cache-control'}, 'max-age=6', 'a blocking response: 6 target durations');

# _HLS_msn alone: held until that segment is complete
($msn) = last_part(fetch()->{body});
$br = fetch("?_HLS_msn=$msn");
is($br->{status}, 200, "_HLS_msn=$msn: 200");
like($br->{body}, qr/^seg-$msn\.m4s$/m, 'segment complete in the answer');

# 400s
for my $q ('?_HLS_part=1', '?_HLS_msn=x', '?_HLS_msn=-1', '?_HLS_msn=1&_HLS_part=y',
           '?_HLS_skip=NO', '?_HLS_msn=' . ($msn + 10)) {
    is(fetch($q)->{status}, 400, "$q: 400");
}

# delta update after 6 target durations of stream: expands to the full one
ok(wait_for(sub { my @s = fetch()->{body} =~ /^seg-/mg; @s >= 9 }, 20),
   'nine segments listed');
my $full = fetch()->{body};
my $delta = fetch('?_HLS_skip=YES')->{body};
like($delta, qr/^#EXT-X-VERSION:9$/m, 'delta: version 9');
my ($skipped) = $delta =~ /^#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)$/m;
ok($skipped, "delta: EXT-X-SKIP ($skipped segments)");
my @f = $full =~ /^(seg-\d+\.m4s)$/mg;
my @d = $delta =~ /^(seg-\d+\.m4s)$/mg;
my ($fms) = $full =~ /MEDIA-SEQUENCE:(\d+)/;
my ($dms) = $delta =~ /MEDIA-SEQUENCE:(\d+)/;
is($dms, $fms, 'delta: same MEDIA-SEQUENCE');
# the delta may be one segment newer than the full one fetched just before
my @fs = @f[$skipped .. $#f];
is_deeply([@d[0 .. $#fs]], \@fs, 'skipped + listed = the full playlist');
cmp_ok(length $delta, '<', length($full), 'the delta is smaller');

# requests held in both workers are woken (fresh connections land on either)
($msn, $part) = last_part(fetch()->{body});
my %by_worker;
my @pids;
my @workers = sort { $a <=> $b } $t->nginx->worker_pids;
for my $i (1 .. 8) {
    my $pid = fork;
    if ($pid == 0) {
        my $r = $t->get("$url?_HLS_msn=$msn&_HLS_part=$part",
                        ua => HTTP::Tiny->new(keep_alive => 0, timeout => 10));
        my $ok = $r->{status} == 200 && $r->{body} =~ /part-$msn\.$part\.m4s/;
        # no END blocks in the child: the harness's checks are the parent's
        POSIX::_exit(!$ok ? 1
                     : $r->{headers}{'x-worker'} == $workers[0] ? 10 : 11);
    }
    push @pids, $pid;
}
my $good = 0;
for (@pids) { waitpid($_, 0); my $c = $? >> 8; $good++ if $c >= 10; $by_worker{$c}++ }
is($good, 8, 'eight held requests answered with the part');
ok(keys(%by_worker) >= 2, 'by both workers') or diag explain \%by_worker;

# 503: the publisher stops sending (SIGSTOP), a request waits 3 target
# durations for nothing
($msn, $part) = last_part(fetch()->{body});
kill 'STOP', $pub->{pid};
$br = fetch("?_HLS_msn=" . ($msn + 1) . "&_HLS_part=0");
kill 'CONT', $pub->{pid};
is($br->{status}, 503, 'nothing new for 3 target durations: 503');
cmp_ok($br->{took}, '>=', 2.5, "after about 3 s ($br->{took})");

# the end: no preload hint, blocking requests answered at once
$pub->stop;
ok(wait_for(sub { fetch()->{body} =~ /^#EXT-X-ENDLIST$/m }, 10), 'ENDLIST');
$body = fetch()->{body};
unlike($body, qr/PRELOAD-HINT/, 'no preload hint after ENDLIST');
$br = fetch('?_HLS_msn=' . ($msn + 2));
is($br->{status}, 200, 'a blocking request on an ended playlist: 200');
# not held: well under the 3 s hold that ends with a 503
cmp_ok($br->{took}, '<', 2, 'at once');

done_testing;
