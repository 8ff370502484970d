#!/usr/bin/perl

# A ladder that cannot keep up (a rung far too heavy for the machine:
# 1080p at x264's veryslow preset) stays live by the overload policy
# (streamline_ladder_max_lag): late video frames are dropped, in every
# rung alike, so the rungs' playlists keep up with the source instead of
# falling behind without bound; one log line as the episode begins and
# one as it ends; the metrics show it (streamline_ladder_overloaded,
# streamline_ladder_overloads_total, frames dropped, the encoder lag
# bounded).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF', http => <<'EOF2'));
streamline_segment 1s;
            streamline_part 250ms;
            streamline_ladder_max_lag 500ms;
            streamline_rendition heavy 1920x1080 8000k preset=veryslow;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
        location = /metrics {
            streamline_metrics;
        }
EOF2
$t->run;

sub scrape { $t->metrics // {} }

my $key = random_key();
$t->add_key(main => $key);

my $pub = publish_media($t, $key, size => '426x240', duration => 24,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

my $start = time;
my (%last, @problems, $behind_max, $lag_max, $overloaded);
$behind_max = 0;
$lag_max = 0;
while (time < $start + 60) {
    for my $rend (qw(source heavy)) {
        my ($r, $pl) = get_media($t, 'main', $rend);
        next unless $pl;
        push @problems, map { "$rend: $_" } @{$pl->{problems}},
            check_reload($last{$rend}, $pl);
        $last{$rend} = $pl;
    }
    my $m = scrape();
    if ($pub->alive && time > $start + 8 && $last{source} && $last{heavy}) {
        my ($s, $h) = map { $_->{segments}[-1]{msn} // 0 }
            @last{qw(source heavy)};
        $behind_max = $s - $h if $s - $h > $behind_max;
        my $lag = $m->{'streamline_encoder_lag_seconds{channel="main",'
                      . 'rendition="heavy"}'} // 0;
        $lag_max = $lag if $lag > $lag_max;
        $overloaded ||= $m->{'streamline_ladder_overloaded{channel="main"}'};
    }
    last if !$pub->alive && $last{heavy} && $last{heavy}{endlist};
    sleep 0.5;
}

ok($last{heavy} && $last{heavy}{endlist}, 'the heavy rung\'s playlist ended')
    or diag playlist_summary($last{heavy});
ok(!@problems, 'every playlist seen follows the rules and continues the last')
    or diag join "\n", @problems[0 .. ($#problems < 9 ? $#problems : 9)];
cmp_ok($behind_max, '<=', 2, "the heavy rung kept up with the source: at "
    . "most $behind_max segments behind while live");
cmp_ok($lag_max, '<=', 2, "its encoder lag stayed bounded (at most "
    . "$lag_max s; the bound 0.5 s plus a 1080p frame's encoding)");
ok($overloaded, 'streamline_ladder_overloaded was 1 while it dropped');

my $m = scrape();
is($m->{'streamline_ladder_overloaded{channel="main"}'}, 0,
    'and is 0 once the stream ended');
is($m->{'streamline_ladder_overloads_total{channel="main"}'}, 1,
    'one overload episode counted');
my ($dh, $dl) = map {
    $m->{"streamline_frames_total{channel=\"main\",rendition=\"$_\","
         . 'result="dropped"}'} // 0 } qw(heavy low);
cmp_ok($dh, '>', 0, "$dh frames of the heavy rung dropped");
is($dl, $dh, 'as many of the light one (one thread encodes both)');

my @began = $t->log_lines(qr/channel "main": the ladder is \d+ ms behind real time/);
is(scalar @began, 1, 'one log line as the episode began') or diag @began;
# the pipeline's threads log through the event loop: a moment later
my $ended_re = qr/channel "main": the ladder's overload is over \(the stream ended\): \d+ video frames dropped/;
wait_for(sub { $t->log_lines($ended_re) }, 10);
my @ended = $t->log_lines($ended_re);
is(scalar @ended, 1, 'one as it ended, with the stream') or diag @ended;

# the heavy rung's media is real 1080p video all the same
my $seg = $last{heavy}{segments}[-2];
my $info = $seg && probe_segment($t, 'main', 'heavy', $seg);
my $v = $info && $info->{video};
ok($v && $v->{width} == 1920 && $v->{height} == 1080
   && $info->{video_frames} >= 1 && $info->{code} == 0,
    'a segment of the heavy rung probes as 1920x1080 video ('
    . ($info ? $info->{video_frames} : 0) . ' frames)')
    or diag explain $info ? $info->{stderr} : 'no segment';

done_testing;
