#!/usr/bin/perl

# The disk budget of a media path (issue 9, case 6):
# - streamline_media_max_size: the DVRs under the path never hold more
#   than that for long; the oldest DVR is trimmed first (an ended channel
#   in its grace before a live one), a live edge (6 segments) never;
# - streamline_media_min_free: below that much free space on the path's
#   filesystem a publish is refused, with a log line that says why, and
#   the channel stays idle.

use strict;
use warnings;

use List::Util qw(sum0);
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $BUDGET = 2 * 1024 * 1024;
my $KEEP = 6;

my $t = Streamline::Test->new;
$t->start_redis;

# a filesystem of its own for the free-space floor (root only: tmpfs)
my $small = $t->testdir . '/small';
mkdir $small;
my $mounted = $> == 0
    && system('mount', '-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', $small) == 0;
END { system('umount', $small) if $mounted }

sub conf {
    my ($extra) = @_;
    my $apps = !$mounted ? '' : <<"EOF";
application small {
            live on;
            streamline on;
            streamline_media_path %%TESTDIR%%/small;
            streamline_segment 1s;
            streamline_media_min_free 24m;
        }
EOF
    return media_conf(app => <<"EOF", apps => $apps);
streamline_segment 1s;
            streamline_dvr_grace 60s;
            streamline_media_max_size 2m;
            $extra
EOF
}

$t->write_conf(conf(''));
$t->run;

# about 1 Mbit/s: 16 one-second segments fill the budget
my @enc = (size => '640x360', vcodec => [qw(-c:v libx264 -preset ultrafast
    -g 30 -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p -b:v 1M
    -maxrate 1M -bufsize 500k)]);

sub listed {
    my ($ch) = @_;
    my (undef, $pl) = get_media($t, $ch, 'source');
    return $pl;
}

sub disk_bytes {
    my ($ch) = @_;
    return sum0(map { -s $_ // 0 } values %{segment_files($t, $ch, 'source')});
}

# channel "older": 12 s, then it ends; its DVR stays for the grace
my $key_a = random_key('older');
$t->add_key(older => $key_a);
my $pub_a = publish_media($t, $key_a, @enc, duration => 12);
ok(wait_for(sub { !$pub_a->alive }, 40), 'the first stream ends')
    or diag $pub_a->stderr;
ok(wait_for(sub { my $pl = listed('older');
                  $pl && $pl->{text} =~ /^#EXT-X-ENDLIST$/m }, 10),
   'its playlist has ENDLIST, its DVR stays');
my $a_first = listed('older')->{media_sequence};
my $a_count = @{listed('older')->{segments}};
cmp_ok($a_count, '>', $KEEP, "it holds more than $KEEP segments ($a_count)");

# channel "newer": its segments push the path over the budget; the older
# DVR goes first, down to its last 6 segments, before any of the newer's
my $key_b = random_key('newer');
$t->add_key(newer => $key_b);
my $pub_b = publish_media($t, $key_b, @enc);

my ($b_first, $a_trimmed, @wrong, $b_trimmed, $max_total);
my $start = time;
while (time - $start < 60) {
    my $pa = listed('older');
    my $pb = listed('newer');
    if ($pa && $pb) {
        $b_first //= $pb->{media_sequence};
        my $na = @{$pa->{segments}};
        $a_trimmed = 1 if $pa->{media_sequence} > $a_first;
        push @wrong, "newer trimmed with $na older segments left"
            if $pb->{media_sequence} > $b_first && $na > $KEEP;
        $b_trimmed = 1 if $pb->{media_sequence} > $b_first;
    }
    last if $b_trimmed && time - $start > 5;
    sleep 0.2;
}

ok($a_trimmed, 'the older DVR is trimmed');
ok(!@wrong, 'the newer DVR only once the older is down to its live edge')
    or diag join "\n", @wrong[0 .. ($#wrong < 5 ? $#wrong : 5)];
ok($b_trimmed, 'then the newer DVR is trimmed too');
is(scalar @{listed('older')->{segments}}, $KEEP,
   "the older keeps its last $KEEP segments");

# on disk: what the playlists list, within the budget (give or take the
# segment being written)
sleep 2;
my $total = disk_bytes('older') + disk_bytes('newer');
cmp_ok($total, '<=', $BUDGET + 512 * 1024,
       "media segments on disk within the budget ($total bytes)");
my %on_disk = %{segment_files($t, 'older', 'source')};
my $pa = listed('older');
my %listed = map { ($pa->{media_sequence} + $_ => 1) }
                 0 .. $#{$pa->{segments}};
ok(!grep({ !$listed{$_} } keys %on_disk),
   'the trimmed segments are gone from disk');
ok(!@{$pa->{problems}} && !@{listed('newer')->{problems}},
   'both playlists still follow the rules')
    or diag join "\n", @{$pa->{problems}};

ok($t->log_lines(qr/media path ".*media" is over its budget: the oldest DVR segments go, channel "older" first/),
   'the trimming is logged, once');
is(scalar $t->log_lines(qr/is over its budget: the oldest/), 1,
   'once, not a line a segment');
ok($pub_b->alive, 'the live stream goes on');
$pub_b->stop;

# the free-space floor on a 32 MB filesystem: at 24 MB free the oldest
# segments go, so that free space stays about there (parts and the live
# edge, about 6 MB at 2 Mbit/s, fit above it)
SKIP: {
    skip 'no tmpfs of our own (root only)', 5 unless $mounted;

    my $key = random_key('tiny');
    $t->add_key(tiny => $key);
    my $pub = publish_media($t, $key, app => 'small', size => '640x360',
        vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
            -sc_threshold 0 -pix_fmt yuv420p -b:v 2M -maxrate 2M
            -bufsize 1M)]);
    my $free_mb = sub {
        my ($kb) = `df -k --output=avail $small` =~ /(\d+)\s*$/;
        return ($kb // 0) / 1024;
    };

    my ($first, $min_free) = (undef, 32);
    my $trimmed = wait_for(sub {
        my $f = $free_mb->();
        $min_free = $f if $f < $min_free;
        my $pl = listed('tiny') or return 0;
        $first //= $pl->{media_sequence};
        return $pl->{media_sequence} > $first;
    }, 60);
    ok($trimmed, 'below the floor, the oldest segments go')
        or diag $pub->stderr;
    for (1 .. 10) {
        my $f = $free_mb->();
        $min_free = $f if $f < $min_free;
        sleep 0.5;
    }
    cmp_ok($min_free, '>', 20,
           "free space stays about the floor (lowest seen: $min_free MB)");
    ok($t->log_lines(qr/media path ".*small" is over its budget: the oldest DVR segments go, channel "tiny" first/),
       'the trimming is logged');
    ok(!$t->log_lines(qr/No space left on device/), 'no write failed');
    ok($pub->alive, 'the stream goes on');
    $pub->stop;
}

# the free-space floor: more than the filesystem has
$t->write_conf(conf('streamline_media_min_free 1000000g;'));
$t->reload;

my $key_c = random_key('third');
$t->add_key(third => $key_c);
my $pub_c = publish_media($t, $key_c, @enc, duration => 10);
ok(wait_for(sub { $t->log_lines(qr/channel "third" refused: \d+ MB free under ".*media", below streamline_media_min_free \(1024000000 MB\)/) }, 15),
   'a publish below the free-space floor is refused, the log says why');
ok(wait_for(sub { !$pub_c->alive }, 15), 'the publisher is disconnected')
    or diag $pub_c->stderr;
my (undef, $st) = $t->api('third');
is($st && $st->{status}, 'idle', 'the channel stays idle');
is($t->get('/hls/third/source/index.m3u8')->{status}, 404,
   'and has no playlist');
ok(!-e channel_dir($t, 'third'), 'nor files');

done_testing;
