#!/usr/bin/perl

# The end of a stream: every media playlist gets EXT-X-ENDLIST at once
# (well within the grace; bench/end.pl measures the delay), whether the
# publisher says goodbye (deleteStream) or is killed;
# during the grace the ended DVR stays as it is, playable; after the grace
# the playlists answer 404 and the channel's directory is gone from disk.
# With streamline_dvr_keep on, nothing is ever removed.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $GRACE = 3;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF', apps => <<'EOF2'));
streamline_segment 1s;
            streamline_dvr_window 10s;
            streamline_dvr_grace 3s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
application keep {
            live on;
            streamline on;
            streamline_media_path %%TESTDIR%%/media;
            streamline_segment 1s;
            streamline_dvr_window 10s;
            streamline_dvr_grace 3s;
            streamline_dvr_keep on;
        }
EOF2
$t->run;

my @light = (vcodec => [qw(-c:v libx264 -preset ultrafast -g 30
    -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p)], size => '640x360');

# main: ends by itself (deleteStream); killed: SIGKILLed; vod: kept
my %ch = (
    main   => { rends => [qw(source low)], keep => 0, duration => 5 },
    killed => { rends => [qw(source low)], keep => 0 },
    vod    => { rends => [qw(source)], keep => 1, duration => 4,
                app => 'keep' },
);
for my $name (sort keys %ch) {
    my $c = $ch{$name};
    my $key = random_key($name);
    $t->add_key($name => $key);
    $c->{pub} = publish_media($t, $key, @light,
        app => $c->{app} // 'live',
        $c->{duration} ? (duration => $c->{duration}) : ());
}

my $start = time;
my $deadline = $start + 40;
my %bad;

while (time < $deadline) {
    my $now = time;
    my $pending = 0;
    for my $name (sort keys %ch) {
        my $c = $ch{$name};
        my @rends = @{$c->{rends}};

        # the killed publisher goes once it has three segments
        if ($name eq 'killed' && !$c->{ended} && $c->{pub}->alive) {
            my (undef, $pl) = get_media($t, $name, 'low');
            if ($pl && @{$pl->{segments}} >= 3) {
                $c->{pub}->kill('KILL');
                $c->{pub}->wait(5);
            }
        }

        if (!$c->{ended}) {
            $pending++;
            if (!$c->{pub}->alive) {
                $c->{ended} = time;
            } else {
                # while live: no ENDLIST (a publisher that ends by itself
                # says goodbye a moment before it exits: live until then)
                my $live = !$c->{duration}
                    || time < $c->{pub}{started} + $c->{duration} - 0.5;
                for my $rend (@rends) {
                    my (undef, $pl) = get_media($t, $name, $rend);
                    push @{$bad{"$name: ENDLIST while live"}}, $pl->{text}
                        if $pl && $pl->{endlist} && $live
                           && $c->{pub}->alive;
                    $c->{live_segments}{$rend} = scalar @{$pl->{segments}}
                        if $pl;
                }
            }
            next;
        }

        if (!$c->{endlist}) {
            $pending++;
            my %pl;
            for my $rend (@rends) {
                my (undef, $pl) = get_media($t, $name, $rend);
                $pl{$rend} = $pl if $pl && $pl->{endlist};
            }
            if (@rends == keys %pl) {
                $c->{endlist} = time;
                $c->{final} = \%pl;
            } elsif (time - $c->{ended} > 10) {
                $c->{endlist} = -1;    # gave up
            }
            next;
        }
        next if $c->{endlist} < 0;

        # the grace: the ended playlists stay as they are, files served
        my $since = time - $c->{ended};
        if (!$c->{gone}) {
            $pending++ if !$c->{keep} || $since < $GRACE + 3;
            my ($mr) = get_master($t, $name);
            my @st = ($mr->{status});
            for my $rend (@rends) {
                my ($r, $pl) = get_media($t, $name, $rend);
                push @st, $r->{status};
                next unless $pl;
                push @{$bad{"$name/$rend: the ended playlist changed"}},
                    sprintf("%.1f s after the end:\n%s", $since, $pl->{text})
                    if $pl->{text} ne $c->{final}{$rend}{text};
            }
            if (!grep { $_ != 404 } @st) {
                $c->{gone} = time;
            } elsif (grep { $_ != 200 } @st) {
                # the removal may fall between one poll's requests: a mix
                # is wrong when the next poll shows one again
                push @{$bad{"$name: playlists neither all 200 nor all 404"}},
                    sprintf '%.1f s after the end: %s', $since, "@st"
                    if $c->{mixed}++;
            } elsif ($c->{mixed}) {
                push @{$bad{"$name: a playlist answers again after a 404"}},
                    sprintf '%.1f s after the end: %s', $since, "@st";
            }
            if (!$c->{served} && $since > 1) {
                # a segment and the init through HTTP, as on disk
                my $seg = $c->{final}{source}{segments}[-1];
                for my $uri ($seg->{uri}, $seg->{map}) {
                    my $r = $t->get("/hls/$name/source/$uri");
                    my $disk = -s rendition_dir($t, $name, 'source') . "/$uri";
                    push @{$c->{served}}, "$uri: $r->{status}, "
                        . length($r->{body}) . ' bytes, ' . ($disk // '-')
                        . ' on disk';
                    push @{$bad{"$name: files served during the grace"}},
                        $c->{served}[-1]
                        if $r->{status} != 200 || !$disk
                           || length($r->{body}) != $disk;
                }
            }
        } elsif (!$c->{dir_gone}) {
            if (!-e channel_dir($t, $name)) {
                $c->{dir_gone} = time;
            } elsif (time - $c->{gone} > 3) {
                $c->{dir_gone} = -1;
            } else {
                $pending++;
            }
        }
    }
    last unless $pending;
    sleep 0.05;
}

ok(!%bad, 'nothing wrong seen while polling') or diag explain \%bad;

for my $name (sort keys %ch) {
    my $c = $ch{$name};
    ok($c->{ended}, "$name: the publisher ended") or next;
    ok(($c->{live_segments}{source} // 0) >= 2,
        "$name: segments while live") or diag explain $c->{live_segments};
    ok($c->{endlist} && $c->{endlist} > 0,
        "$name: EXT-X-ENDLIST in every media playlist")
        or do {
            for my $rend (@{$c->{rends}}) {
                my ($r) = get_media($t, $name, $rend);
                diag "$rend: $r->{status}\n$r->{body}";
            }
            next;
        };
    my $d = $c->{endlist} - $c->{ended};
    diag(sprintf '%s: ENDLIST %.2f s after the publisher ended', $name, $d);
    # at the end, not when the grace ends (the exact delay, well under a
    # second, is bench/end.pl's)
    cmp_ok($d, '<', $GRACE, "$name: ENDLIST within the grace, at the end");
    for my $rend (@{$c->{rends}}) {
        my $pl = $c->{final}{$rend};
        ok(!@{$pl->{problems}}, "$name/$rend: the ended playlist follows "
            . 'the rules') or diag join "\n", @{$pl->{problems}};
        cmp_ok(scalar @{$pl->{segments}}, '>=',
            $c->{live_segments}{$rend} // 1,
            "$name/$rend: the ended playlist has every segment seen live");
    }

    if ($c->{keep}) {
        ok(!$c->{gone}, "$name: kept: the playlists still answer "
            . ($GRACE + 3) . ' s after the end');
        for my $rend (@{$c->{rends}}) {
            my ($r, $pl) = get_media($t, $name, $rend);
            is($r->{status}, 200, "$name/$rend: kept playlist answers");
            is($pl && $pl->{text}, $c->{final}{$rend}{text},
                "$name/$rend: kept playlist unchanged, with ENDLIST");
            my $files = segment_files($t, $name, $rend);
            my @missing = grep { !$files->{$_->{msn}} || !-e
                rendition_dir($t, $name, $rend) . "/$_->{map}" }
                @{$c->{final}{$rend}{segments}};
            ok(!@missing, "$name/$rend: kept segments and init on disk")
                or diag join ' ', map { $_->{uri} } @missing;
        }
        my ($mr) = get_master($t, $name);
        is($mr->{status}, 200, "$name: kept master answers");
        next;
    }

    ok($c->{gone}, "$name: the playlists answer 404 after the grace") or do {
        my ($mr) = get_master($t, $name);
        diag "master: $mr->{status}";
        next;
    };
    my $g = $c->{gone} - $c->{ended};
    diag(sprintf '%s: 404 %.2f s after the end (grace %d s)', $name, $g,
        $GRACE);
    cmp_ok($g, '>=', $GRACE - 0.3, "$name: not removed before the grace");
    cmp_ok($g, '<=', $GRACE + 5, "$name: removed within 5 s after the grace");
    ok($c->{dir_gone} && $c->{dir_gone} > 0,
        "$name: the channel's directory is gone from disk")
        or diag `find ${\ channel_dir($t, $name)} | head -20`;
    ok($c->{served}, "$name: a segment fetched during the grace")
        or diag 'the grace ended before a fetch';
    is($t->get("/hls/$name/source/" . $c->{final}{source}{segments}[0]{uri})
        ->{status}, 404, "$name: its segments answer 404 too");
}

is($t->api_status('main'), 'idle', 'the API says idle');
ok(-d media_dir($t), 'the media path itself stays');

diag(sprintf 'test ran %.1f s', time - $start);

done_testing;
