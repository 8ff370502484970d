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

sub conf {
    my ($extra) = @_;
    return media_conf(app => <<"EOF");
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
