#!/usr/bin/perl

# Publishing again within the grace continues the same DVR: the media
# sequence numbers keep increasing, an EXT-X-DISCONTINUITY separates the
# two streams, the new stream's segments name an init segment that decodes
# them (a new EXT-X-MAP when the init changed), the old segments stay
# listed and playable, and no EXT-X-ENDLIST shows while live again.  A
# republish with another resolution gets a new init-<id>.mp4.  After the
# grace, a publish starts a fresh DVR.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $GRACE = 4;
my @RENDS = qw(source low);

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF'));
streamline_segment 1s;
            streamline_dvr_window 60s;
            streamline_dvr_grace 4s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my $begin = time;

my @light = (vcodec => [qw(-c:v libx264 -preset ultrafast -g 30
    -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p)]);

# publishes for $secs, polls the playlists while live and until ENDLIST;
# returns { connected, ended, endlist, last => { rend => playlist },
# problems => [...], endlist_live => [...] }
my %last;    # the last playlist seen of each rendition, across streams
sub run_stream {
    my ($name, $size, $secs) = @_;
    my %s = (name => $name, problems => [], endlist_live => [], pdt => []);
    my $pub = publish_media($t, $key, @light, size => $size,
        duration => $secs);
    $s{connected} = wait_for(sub {
        $t->nginx->worker_of_client($pub->pid, $t->port('RTMP')) ? time : 0
    }, 10) || time;
    my $deadline = time + $secs + 15;
    while (time < $deadline) {
        my $alive = $pub->alive;
        $s{ended} //= time unless $alive;
        my $all_ended = 1;
        for my $rend (@RENDS) {
            my ($r, $pl) = get_media($t, 'main', $rend);
            unless ($pl) {
                push @{$s{problems}}, "$rend: $r->{status} while "
                    . ($alive ? 'live' : 'ended') if $last{$rend};
                $all_ended = 0;
                next;
            }
            push @{$s{problems}}, map { "$name/$rend: $_" }
                @{$pl->{problems}};
            # ENDLIST going away is what a republish does; the rest holds
            push @{$s{problems}}, map { "$name/$rend reload: $_" }
                grep { !/ENDLIST went away/ } check_reload($last{$rend}, $pl);
            push @{$s{pdt}}, map { "$name/$rend: $_" }
                pdt_changes($last{$rend}, $pl);
            # a second for the publish command to arrive after connecting;
            # ffmpeg says goodbye a moment before it exits
            if ($pl->{endlist} && $alive && time > $s{connected} + 1
                && time < $s{connected} + $secs - 0.5) {
                push @{$s{endlist_live}}, sprintf "%s, %.1f s after "
                    . "connecting:\n%s", $rend, time - $s{connected},
                    $pl->{text};
            }
            $last{$rend} = $pl;
            $s{last}{$rend} = $pl;
            $all_ended = 0 unless $pl->{endlist};
        }
        if (!$alive && $all_ended) {
            $s{endlist} = time;
            last;
        }
        sleep 0.1;
    }
    $s{code} = $pub->exit_code;
    $s{stderr} = $pub->stderr;
    return \%s;
}

# the segments of stream B in a playlist: those after the last of A
sub after {
    my ($pl, $msn) = @_;
    return grep { $_->{msn} > $msn } @{$pl->{segments}};
}

my $A = run_stream('A', '640x360', 4);
ok($A->{endlist}, 'A: published, ended with ENDLIST') or diag $A->{stderr};
ok(!@{$A->{problems}}, 'A: playlists follow the rules')
    or diag join "\n", @{$A->{problems}};
my %a_last = map { $_ => $A->{last}{$_}{last_msn} } @RENDS;
my %a_map = map { $_ => $A->{last}{$_}{segments}[-1]{map} } @RENDS;
cmp_ok(scalar @{$A->{last}{source}{segments}}, '>=', 3, 'A: segments');

# B: same resolution, within the grace
my $gap = time - $A->{ended};
my $B = run_stream('B', '640x360', 4);
diag(sprintf 'B connected %.1f s after A ended (grace %d s)',
    $B->{connected} - $A->{ended}, $GRACE);
cmp_ok($B->{connected} - $A->{ended}, '<', $GRACE - 1,
    'B published well within the grace');
ok($B->{endlist}, 'B: ended with ENDLIST') or diag $B->{stderr};
ok(!@{$B->{problems}}, 'B: every playlist follows the rules and continues '
    . 'the last one (DVR never gone)') or diag join "\n", @{$B->{problems}};
ok(!@{$B->{pdt}}, 'B: segments keep their PROGRAM-DATE-TIME across reloads')
    or diag join "\n", @{$B->{pdt}};
ok(!@{$B->{endlist_live}}, 'B: no ENDLIST while live again')
    or diag join "\n", @{$B->{endlist_live}};

for my $rend (@RENDS) {
    my $pl = $B->{last}{$rend} or next;
    my @old = grep { $_->{msn} <= $a_last{$rend} } @{$pl->{segments}};
    my @new = after($pl, $a_last{$rend});
    is(scalar @old, scalar @{$A->{last}{$rend}{segments}},
        "$rend: A's segments are still listed");
    cmp_ok(scalar @new, '>=', 2, "$rend: B's segments follow them")
        or diag playlist_summary($pl);
    next unless @new;
    is($new[0]{msn}, $a_last{$rend} + 1,
        "$rend: media sequence numbers go on from A's last + 1");
    ok($new[0]{discontinuity}, "$rend: EXT-X-DISCONTINUITY before B's first "
        . 'segment') or diag playlist_summary($pl);
    is(scalar(grep { $_->{discontinuity} } @{$pl->{segments}}), 1,
        "$rend: one discontinuity, none inside a stream");
    ok($new[0]{pdt_stated}, "$rend: PROGRAM-DATE-TIME after the "
        . 'discontinuity');
    cmp_ok(abs(($new[0]{pdt_ms} // 0) / 1000 - $B->{connected}), '<', 2,
        "$rend: B's PROGRAM-DATE-TIME is B's wall clock");

    # the init: a new one only named if it differs, and it decodes B
    my $dir = rendition_dir($t, 'main', $rend);
    my $b_map = $new[0]{map};
    my $same = $b_map eq $a_map{$rend};
    diag("$rend: A's init $a_map{$rend}, B's init $b_map");
    if ($same) {
        pass("$rend: B reuses A's init");
    } else {
        ok(-e "$dir/$b_map", "$rend: B's new init $b_map is on disk");
        ok(-e "$dir/$a_map{$rend}", "$rend: A's init stays while A's "
            . 'segments are listed');
        my ($ma, $mb) = map { m{init-(\d+)} ? $1 : -1 } $a_map{$rend}, $b_map;
        cmp_ok($mb, '>', $ma, "$rend: the new init id is greater");
    }
    my @errs;
    for my $seg ($pl->{segments}[0], $new[0], $new[-1]) {
        my $p = probe_segment($t, 'main', $rend, $seg);
        push @errs, "$seg->{uri} with $seg->{map}: "
            . ($p ? "exit $p->{code}, $p->{stderr}, key "
                  . ($p->{first_video_key} // '-') : 'missing')
            if !$p || $p->{code} || length $p->{stderr}
               || !$p->{first_video_key};
    }
    ok(!@errs, "$rend: A's and B's segments decode with their EXT-X-MAP")
        or diag join "\n", @errs;
}
is_deeply([map { $_->{msn} } @{$B->{last}{low}{segments}}],
    [map { $_->{msn} } @{$B->{last}{source}{segments}}],
    'source and low: the same media sequence numbers after the republish');

# C: another resolution, within the grace: a new init
my %b_last = map { $_ => $B->{last}{$_}{last_msn} } @RENDS;
my %b_map = map { $_ => $B->{last}{$_}{segments}[-1]{map} } @RENDS;
my $C = run_stream('C', '854x480', 4);
ok($C->{endlist}, 'C: ended with ENDLIST') or diag $C->{stderr};
ok(!@{$C->{problems}}, 'C: playlists follow the rules')
    or diag join "\n", @{$C->{problems}};
ok(!@{$C->{endlist_live}}, 'C: no ENDLIST while live again')
    or diag join "\n", @{$C->{endlist_live}};
for my $rend (@RENDS) {
    my $pl = $C->{last}{$rend} or next;
    my @new = after($pl, $b_last{$rend});
    cmp_ok(scalar @new, '>=', 2, "$rend: C's segments follow B's") or next;
    is($new[0]{msn}, $b_last{$rend} + 1, "$rend: numbers go on");
    ok($new[0]{discontinuity}, "$rend: EXT-X-DISCONTINUITY before C");
    isnt($new[0]{map}, $b_map{$rend}, "$rend: C has a new EXT-X-MAP")
        or diag playlist_summary($pl);
    my $p = probe_segment($t, 'main', $rend, $new[0]);
    my $want = $rend eq 'source' ? '854x480' : '320x180';
    is($p && "$p->{video}{width}x$p->{video}{height}", $want,
        "$rend: C's segment is $want with its init");
    ok($p && !$p->{code} && !length $p->{stderr}, "$rend: and decodes")
        or diag $p && $p->{stderr};
    my $q = probe_segment($t, 'main', $rend, (after($pl, $a_last{$rend}))[0]);
    is($q && "$q->{video}{width}x$q->{video}{height}",
        $rend eq 'source' ? '640x360' : '320x180',
        "$rend: B's segment still decodes with B's init");
}
{
    my @inits = init_files($t, 'main', 'source');
    my %listed = map { $_->{map} => 1 } @{$C->{last}{source}{segments}};
    ok(!grep({ !-e rendition_dir($t, 'main', 'source') . "/$_" }
        keys %listed), 'every listed init is on disk')
        or diag "listed: @{[sort keys %listed]}, on disk: @inits";
}
my ($mr, $master) = get_master($t, 'main');
my ($src) = grep { $_->{uri} eq 'source/index.m3u8' }
    @{$master ? $master->{variants} : []};
is($src && $src->{resolution}, '854x480',
    'master: the source variant has the latest resolution');

# after the grace: gone, and a new publish starts a fresh DVR
ok(wait_for(sub { (get_media($t, 'main', 'source'))[0]{status} == 404 },
    $GRACE + 3), 'after the grace: 404');
ok(wait_for(sub { !-e channel_dir($t, 'main') }, 3),
    'after the grace: the directory is gone');

my $pub = publish_media($t, $key, @light, size => '640x360', duration => 3);
my $pl = wait_playlist($t, 'main', 'source',
    sub { @{$_[0]{segments}} >= 2 }, 10);
ok($pl, 'a publish after the grace: a new playlist') or diag $pub->stderr;
if ($pl) {
    ok(!grep({ $_->{discontinuity} } @{$pl->{segments}}),
        'new DVR: no discontinuity') or diag $pl->{text};
    ok(!grep({ $_->{msn} <= $C->{last}{source}{last_msn}
               && $_->{msn} >= $A->{last}{source}{segments}[0]{msn} }
        @{$pl->{segments}}), 'new DVR: none of the old segment numbers')
        or diag $pl->{text};
    is($pl->{dseq}, 0, 'new DVR: discontinuity sequence 0');
    ok(!@{$pl->{problems}}, 'new DVR: follows the rules')
        or diag join "\n", @{$pl->{problems}};
}
$pub->wait(10);

diag(sprintf 'test ran %.1f s', time - $begin);

done_testing;
