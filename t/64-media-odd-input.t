#!/usr/bin/perl

# Inputs an OBS would not send, each on a channel of its own:
#   aonly   audio only (-vn): playable audio playlists
#   vonly   video only (-an): playable video playlists
#   flv1    Sorenson H.263 + MP3: a clear "not supported" line, once each,
#           nothing to play, no crash
#   mp3     H.264 + MP3: the audio is refused with a clear line, the video
#           is packaged alone
#   noise   H.264 with damaged packets (noise bsf): nginx stays up, the
#           playlists keep growing
#   wrap    RTMP timestamps that jump back (FLV's 31-bit timestamps wrap a
#           few seconds in: 2147483.5 s -> 0): no crash, segments keep
#           coming, no absurd durations
#   nohdr   H.264 + AAC without their sequence headers: no crash, nothing
#           to play, the publisher is not cut off, one line a track says
#           why
#   late    the same, the headers sent 3 s in: playable from there on
# ffmpeg always sends the sequence headers: the last two are an FLV that
# ffmpeg made, published tag by tag by Streamline::RTMP without them.
# Every playlist seen must follow the rules.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;
use Streamline::RTMP;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF'));
streamline_segment 1s;
            streamline_dvr_window 30s;
            streamline_dvr_grace 30s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$t->run;
my @workers = $t->nginx->worker_pids;
my $begin = time;

my @x264 = qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
    -sc_threshold 0 -pix_fmt yuv420p);
my %case = (
    aonly => { video => 0, duration => 6 },
    vonly => { audio => 0, vcodec => \@x264, duration => 6 },
    flv1  => { vcodec => [qw(-c:v flv -b:v 500k)],
               acodec => [qw(-c:a libmp3lame -ar 44100 -ac 2)],
               duration => 6 },
    mp3   => { vcodec => \@x264,
               acodec => [qw(-c:a libmp3lame -ar 44100 -ac 2)],
               duration => 6 },
    noise => { vcodec => \@x264, duration => 9,
               extra => ['-bsf:v', 'noise=amount=-30000'] },
    # FLV timestamps are 31 bits of ms: they wrap 2147483.648 s in
    wrap  => { vcodec => \@x264, duration => 9,
               extra => [qw(-output_ts_offset 2147480.648)] },
    nohdr => { headers_at => undef },
    late  => { headers_at => 3 },
);

# what the last two publish: 9 s of H.264 + AAC, as ffmpeg sends them
my $flv = $t->testdir . '/odd.flv';
system('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=426x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', 9,
    @x264, '-c:a', 'aac', '-f', 'flv', $flv) == 0
    or BAIL_OUT('ffmpeg could not make the FLV for nohdr and late');
$t->expect_log(qr/not supported/);

# two batches, so that the two cores keep up
my @batches = ([qw(aonly vonly flv1 mp3)], [qw(noise wrap nohdr late)]);
for my $batch (@batches) {
    for my $name (@$batch) {
        my $c = $case{$name};
        my $key = random_key($name);
        $t->add_key($name => $key);
        $c->{pub} = exists $c->{headers_at}
            ? Streamline::RTMP::publish_flv($t, $key, $flv,
                  headers_at => $c->{headers_at})
            : publish_media($t, $key, size => '426x240',
                  map { exists $c->{$_} ? ($_ => $c->{$_}) : () }
                      qw(video audio vcodec acodec duration extra));
        $c->{started} = time;
    }
    my $deadline = time + 30;
    while (time < $deadline) {
        my $running = 0;
        for my $name (@$batch) {
            my $c = $case{$name};
            my $alive = $c->{pub}->alive;
            $running++ if $alive;
            $c->{ended} //= time unless $alive;
            for my $rend (qw(source low)) {
                my ($r, $pl) = get_media($t, $name, $rend);
                push @{$c->{status}{$rend}}, $r->{status};
                next unless $pl;
                $c->{problems}{$rend} ||= [];
                push @{$c->{problems}{$rend}}, @{$pl->{problems}},
                    check_reload($c->{last}{$rend}, $pl);
                push @{$c->{growth}{$rend}},
                    [time - $c->{started}, $pl->{last_msn}];
                $c->{last}{$rend} = $pl;
            }
        }
        last unless $running;
        sleep 0.25;
    }
    # the ENDLIST versions
    for my $name (@$batch) {
        my $c = $case{$name};
        for my $rend (qw(source low)) {
            next unless $c->{last}{$rend};
            my $pl = wait_playlist($t, $name, $rend,
                sub { $_[0]{endlist} }, 5);
            $c->{last}{$rend} = $pl if $pl;
            $c->{endlist}{$rend} = $pl ? 1 : 0;
        }
    }
}

is_deeply([$t->nginx->worker_pids], \@workers, 'the worker never died');
ok(!$t->log_lines(qr/exited on signal|worker process \d+ exited/),
    'no worker exit in error.log')
    or diag join "\n", $t->log_lines(qr/exited/);
for my $name (sort keys %case) {
    my $c = $case{$name};
    is($c->{pub}->exit_code, 0, "$name: the publisher was not cut off")
        or diag $c->{pub}->stderr;
    for my $rend (sort keys %{$c->{problems} || {}}) {
        ok(!@{$c->{problems}{$rend}}, "$name/$rend: every playlist seen "
            . 'follows the rules and continues the last')
            or diag join "\n", grep { defined } @{$c->{problems}{$rend}}[0 .. 9];
        ok($c->{endlist}{$rend}, "$name/$rend: EXT-X-ENDLIST at the end");
        my $pl = $c->{last}{$rend};
        my $files = segment_files($t, $name, $rend);
        # an EXT-X-GAP segment has no media (a rung that lost its frames)
        my @missing = grep { !$_->{gap} && !$files->{$_->{msn}} }
            @{$pl->{segments}};
        ok(!@missing, "$name/$rend: every listed segment is on disk")
            or diag "missing: @{[map { $_->{uri} } @missing]}\non disk: "
                . join(' ', sort keys %$files) . "\n" . playlist_summary($pl);
        my @inits = init_files($t, $name, $rend);
        my @nomap = grep { my $m = $_; !grep { $_ eq $m } @inits }
            @{$pl->{maps}};
        ok(!@nomap, "$name/$rend: every EXT-X-MAP is on disk")
            or diag "listed @{$pl->{maps}}, on disk @inits\n"
                . playlist_summary($pl);
    }
}

# every variant the master lists plays: segments that decode, with the
# tracks the CODECS name
sub check_playable {
    my ($name, %o) = @_;
    my ($mr, $m) = get_master($t, $name);
    is($mr->{status}, 200, "$name: master") or return;
    ok(!@{$m->{problems}}, "$name: master follows the rules")
        or diag join "\n", @{$m->{problems}};
    ok(grep({ $_->{uri} eq 'source/index.m3u8' } @{$m->{variants}}),
        "$name: master lists the source") or diag $mr->{body};
    for my $v (@{$m->{variants}}) {
        my ($rend) = $v->{uri} =~ m{^([^/]+)/index\.m3u8$};
        my ($r, $pl) = get_media($t, $name, $rend // '-');
        ok($pl && @{$pl->{segments}} >= 3,
            "$name/$rend: listed in the master, has segments")
            or do { diag "$r->{status}\n$r->{body}"; next };
        my (@bad, @dur);
        for my $seg (@{$pl->{segments}}) {
            my $p = probe_segment($t, $name, $rend, $seg);
            unless ($p) {
                push @bad, "$seg->{map} + $seg->{uri}: "
                    . join(', ', map { "$_ missing" } grep { !-e
                        rendition_dir($t, $name, $rend) . "/$_" }
                        $seg->{map}, $seg->{uri});
                next;
            }
            push @bad, "$seg->{uri}: exit $p->{code}: $p->{stderr}"
                if $p->{code} || length $p->{stderr};
            push @bad, "$seg->{uri}: " . ($p->{video} ? '' : 'no ')
                . 'video, ' . ($p->{audio} ? '' : 'no ') . 'audio'
                if !!$p->{video} != !!$o{video}
                   || !!$p->{audio} != !!$o{audio};
            push @bad, "$seg->{uri}: does not start with an IDR"
                if $o{video} && !$p->{first_video_key};
            # within a frame: 1/30 s of video, 1024/48000 s of audio
            my ($d, $slack) = $o{video}
                ? ($p->{video_duration}, 1 / 30 + 0.001)
                : ($p->{audio_duration}, 1024 / 48000 + 0.001);
            push @dur, sprintf('%s: EXTINF %s, decoded %.3f s',
                $seg->{uri}, $seg->{extinf_text}, $d // -1)
                if !defined $d || abs($d - $seg->{extinf}) > $slack;
        }
        ok(!@bad, "$name/$rend: every segment decodes with the expected "
            . 'tracks') or diag join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)];
        ok(!@dur, "$name/$rend: decoded durations are the EXTINFs")
            or diag join "\n", @dur;
        my @c = avc_codecs(rendition_dir($t, $name, $rend) . '/'
            . $pl->{segments}[0]{map});
        is($v->{codecs}, join(',', @c), "$name/$rend: CODECS are the "
            . "init's ($v->{codecs})");
        if ($o{video}) {
            like($v->{resolution} // '', qr/^\d+x\d+$/,
                "$name/$rend: RESOLUTION");
        } else {
            ok(!defined $v->{resolution} && !defined $v->{frame_rate},
                "$name/$rend: no RESOLUTION or FRAME-RATE without video")
                or diag $mr->{body};
        }
    }
}

# (a) audio only, video only
check_playable('aonly', audio => 1);
check_playable('vonly', video => 1);

# (b) unsupported codecs
{
    my @v = $t->log_lines(qr/channel "flv1": video codec \d+ is not supported/);
    my @a = $t->log_lines(qr/channel "flv1": audio codec \d+ is not supported/);
    is(scalar @v, 1, 'flv1: one "video codec ... is not supported" line')
        or diag join "\n", @v;
    is(scalar @a, 1, 'flv1: one "audio codec ... is not supported" line')
        or diag join "\n", @a;
    like($v[0] // '', qr/\[error\].*video codec 2 is not supported \(H\.264 only\)/,
        'flv1: the video line names the codec and what is supported');
    like($a[0] // '', qr/\[error\].*audio codec 2 is not supported \(AAC only\)/,
        'flv1: the audio line names the codec and what is supported');
    is((get_master($t, 'flv1'))[0]{status}, 404,
        'flv1: nothing to play: master 404');
    is((get_media($t, 'flv1', 'source'))[0]{status}, 404,
        'flv1: nothing to play: source 404');
    my @m = $t->log_lines(qr/channel "mp3": audio codec \d+ is not supported/);
    is(scalar @m, 1, 'mp3: one "audio codec ... is not supported" line');
    ok(!$t->log_lines(qr/channel "mp3": video codec/),
        'mp3: the H.264 video is not refused');
}
check_playable('mp3', video => 1);

# (c) damaged video: the playlists keep growing
sub grows {
    my ($name, $rend) = @_;
    my @g = @{$case{$name}{growth}{$rend} || []};
    # the last sequence number seen in each second of the stream
    my %at;
    $at{int $_->[0]} = $_->[1] for grep { defined $_->[1] } @g;
    my @sec = sort { $a <=> $b } keys %at;
    return (0, 'never seen') unless @sec;
    my $first = $at{$sec[0]};
    my $last = $at{$sec[-1]};
    return ($last - $first, join ' ', map { "$_ s: $at{$_}" } @sec);
}
for my $rend (qw(source low)) {
    my ($n, $how) = grows('noise', $rend);
    cmp_ok($n, '>=', 5, "noise/$rend: the playlist kept growing "
        . "($n segments more over the stream)") or diag $how;
}
{
    my $pl = $case{noise}{last}{source};
    my $files = segment_files($t, 'noise', 'source');
    ok($pl && !grep({ !$files->{$_->{msn}} } @{$pl->{segments}}),
        'noise: the listed segments are on disk');
}
{
    my ($src, $low) = map { $case{noise}{last}{$_} } qw(source low);
    is_deeply([map { $_->{msn} } @{$low->{segments} || []}],
        [map { $_->{msn} } @{$src->{segments} || []}],
        'noise: the ladder keeps the source\'s segment numbers')
        or diag "source:\n" . playlist_summary($src) . "\nlow:\n"
            . playlist_summary($low);
    my @bad;
    for my $seg (grep { !$_->{gap} } @{$low->{segments} || []}) {
        my $p = probe_segment($t, 'noise', 'low', $seg);
        push @bad, "$seg->{uri}: " . ($p ? "exit $p->{code}, "
            . "$p->{stderr}, key " . ($p->{first_video_key} // '-')
            : 'missing')
            if !$p || $p->{code} || length $p->{stderr}
               || !$p->{first_video_key};
    }
    ok(!@bad, 'noise/low: re-encoded from damaged input, every segment '
        . 'decodes cleanly from an IDR') or diag join "\n", @bad;
}
diag(join "\n", 'pipeline lines:', grep { defined }
    ($t->log_lines(qr/\[(error|warn)\].*streamline: (segment|channel "(noise|wrap)")/))
    [0 .. 9]);

# (d) timestamps jumping back: segments keep coming after the jump
for my $rend (qw(source low)) {
    my ($n, $how) = grows('wrap', $rend);
    cmp_ok($n, '>=', 6, "wrap/$rend: segments kept coming across the "
        . "jump ($n more)") or diag $how;
    my $pl = $case{wrap}{last}{$rend} or next;
    my @long = grep { $_->{extinf} > 1.5 || $_->{extinf} <= 0 }
        @{$pl->{segments}};
    ok(!@long, "wrap/$rend: no absurd segment duration at the jump")
        or diag playlist_summary($pl);
    ok($pl->{duration} > 7 && $pl->{duration} < 11, "wrap/$rend: the "
        . "durations add up to about the 9 s published ($pl->{duration})")
        or diag playlist_summary($pl);
    my (@bad, @rate);
    for my $seg (@{$pl->{segments}}) {
        my $p = probe_segment($t, 'wrap', $rend, $seg);
        push @bad, "$seg->{uri}: " . ($p ? "exit $p->{code}, "
            . "$p->{stderr}, key $p->{first_video_key}" : 'missing')
            if !$p || $p->{code} || length $p->{stderr}
               || !$p->{first_video_key};
        # 30 fps in, 30 fps out: frames / EXTINF
        push @rate, sprintf('%s: %d frames in %s s (%.3f..%.3f)',
            $seg->{uri}, $p->{video_frames}, $seg->{extinf_text},
            $p->{video_start}, $p->{video_end})
            if $p && $p->{video_frames} && $seg->{extinf} > 0.3
               && abs($p->{video_frames} / $seg->{extinf} - 30) > 3;
    }
    ok(!@bad, "wrap/$rend: every segment decodes from an IDR")
        or diag join "\n", @bad;
    ok(!@rate, "wrap/$rend: the frames keep their 30 fps spacing across "
        . 'the jump') or diag join "\n", @rate;
}

# (e) no sequence headers: nothing can decode the packets, nothing to play
ok(!$case{nohdr}{status}{source}
       || !grep({ $_ != 404 } @{$case{nohdr}{status}{source}}),
    'nohdr: the source playlist answered 404 throughout')
    or diag "@{$case{nohdr}{status}{source}}";
is((get_master($t, 'nohdr'))[0]{status}, 404, 'nohdr: master 404');
is((get_media($t, 'nohdr', 'source'))[0]{status}, 404, 'nohdr: source 404');
# and the log says why, once a track (the packets before the headers of
# "late" were dropped as well)
for my $name (qw(nohdr late)) {
    for my $track (qw(video audio)) {
        my $line = "$track packets before any sequence header are dropped";
        my @l = $t->log_lines(qr/\[error\].*channel "$name": \Q$line\E/);
        is(scalar @l, 1, "$name: one \"$line\" line")
            or diag join "\n", @l;
    }
}

# the headers come late: playable from the first keyframe after them
check_playable('late', video => 1, audio => 1);

diag(sprintf 'test ran %.1f s', time - $begin);

done_testing;
