#!/usr/bin/perl

# An encoder with a 30 s keyframe interval (or intra refresh) on a channel
# with 2 s segments: segments are cut on time anyway, so that the playlist
# keeps its EXT-X-TARGETDURATION and every EXTINF rounds to it; the
# source's segments that do not start with a keyframe are not claimed
# independent (no EXT-X-INDEPENDENT-SEGMENTS, no INDEPENDENT=YES on their
# first part), while the ladder's (an IDR at every segment) are.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF'));
streamline_segment 2s;
            streamline_dvr_window 60s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$t->run;

my $key = random_key();
$t->add_key(main => $key);

my $pub = publish_media($t, $key, size => '426x240', duration => 14,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 900 -keyint_min 900
                  -sc_threshold 0 -pix_fmt yuv420p)]);

my (%last, @problems);
my $deadline = time + 40;
while (time < $deadline) {
    for my $rend (qw(source low)) {
        my ($r, $pl) = get_media($t, 'main', $rend);
        next unless $pl;
        push @problems, map { "$rend: $_" } @{$pl->{problems}},
            check_reload($last{$rend}, $pl);
        $last{$rend} = $pl;
    }
    last if !$pub->alive && $last{source} && $last{source}{endlist}
            && $last{low} && $last{low}{endlist};
    sleep 0.25;
}

my ($src, $low) = @last{qw(source low)};
ok($src && $src->{endlist}, 'the source playlist ended')
    or diag playlist_summary($src);
ok(!@problems, 'every playlist seen follows the rules and continues the '
    . 'last (the target duration never changed)')
    or diag join "\n", @problems[0 .. ($#problems < 9 ? $#problems : 9)];
is($src->{target}, 2, 'EXT-X-TARGETDURATION is the configured 2');

my @segs = @{$src->{segments}};
cmp_ok(scalar(@segs), '>=', 5, scalar(@segs) . ' source segments in 14 s');
ok(!grep({ $_->{extinf} >= 2.5 } @segs[0 .. $#segs - 1]),
    'every EXTINF rounds to the target')
    or diag playlist_summary($src);
ok(!$src->{independent}, 'the source does not claim independent segments');

my @dependent = grep { @{$_->{parts} || []} && !$_->{parts}[0]{independent} }
    @segs;
ok(@dependent, scalar(@dependent) . ' source segments whose first part is '
    . 'not INDEPENDENT=YES (as listed)') or diag $src->{text};
ok($low && $low->{independent},
    'the ladder\'s segments start with an IDR: EXT-X-INDEPENDENT-SEGMENTS')
    or diag $low ? $low->{text} : 'no playlist';

done_testing;
