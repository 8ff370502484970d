package Streamline::Media;

# Helpers of the media pipeline's integration tests (t/6*.t), on top of
# Streamline::Test: a configuration with packaging on, an OBS-like
# publisher, playlists fetched and parsed (the HLS rules checked by the
# core's playlist checker, ngx_streamline_module/core/test/, through its
# command-line wrapper sl_playlist_check, built on first use), and
# ffprobe on init + segment.  Core Perl only.
#
#   use lib 't/lib';
#   use Streamline::Test;
#   use Streamline::Media;
#
#   my $t = Streamline::Test->new;
#   $t->start_redis;
#   $t->write_conf(media_conf(app => 'streamline_segment 1s;'));
#   $t->run;
#   my $pub = publish_media($t, $key, size => '1280x720', rate => 30);
#   my $pl = wait_playlist($t, 'main', 'source', sub { @{$_[0]{segments}} >= 3 }, 20);
#   my $p = probe_segment($t, 'main', 'source', $pl->{segments}[0]);
#
# In brief:
#   conf       media_conf(workers =>, app =>, main =>, http =>)
#              media_dir($t) channel_dir($t, $ch) rendition_dir($t, $ch, $r)
#   publisher  publish_media($t, $key, size =>, rate =>, video =>, audio =>,
#              duration =>, vcodec => [...], acodec => [...], extra => [...],
#              vfilter =>, gop =>)
#   playlists  get_master($t, $ch) get_media($t, $ch, $r) -> (response,
#              parsed or undef); parse_master parse_media; check_reload;
#              pdt_changes; wait_playlist($t, $ch, $r, sub { $pl }, $timeout)
#              (parsed media playlists carry ->{problems}: rule violations)
#   ffprobe    probe_file($path) probe_segment($t, $ch, $r, $seg)
#              probe_init($t, $ch, $r, $init_uri) avc_codecs($init_path)
#   files      segment_files($t, $ch, $r) -> { msn => path }
#              init_files($t, $ch, $r)

use strict;
use warnings;

use Exporter qw(import);
use File::Temp qw(tempfile);
use JSON::PP ();
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

use Streamline::Test ();
use Streamline::Unit ();

our @EXPORT = qw(media_conf media_dir channel_dir rendition_dir
    publish_media get_master get_media parse_master parse_media
    check_reload pdt_changes wait_playlist probe_file probe_segment probe_init
    avc_codecs segment_files init_files pdt_ms playlist_summary
    OBS_VIDEO OBS_AUDIO);

# what the brief calls an OBS-like encoder (x264 veryfast, High, 2 B-frames,
# keyframe every 2 s at 30 fps, AAC 48 kHz stereo)
use constant OBS_VIDEO => [qw(-c:v libx264 -preset veryfast -profile:v high
    -bf 2 -g 60 -keyint_min 60 -sc_threshold 0 -b:v 2500k -pix_fmt yuv420p)];
use constant OBS_AUDIO => [qw(-c:a aac -ar 48000 -ac 2)];


# configuration ---------------------------------------------------------------

# media_conf(workers => 1, app => "streamline_segment 1s;\n...",
#            main => "...", http => "..." (inside the server block),
#            apps => "application other { ... }" (more rtmp applications),
#            http_listen => 'reuseport' (HTTP listen options), zone => '64m')
# The media path is %%TESTDIR%%/media; /hls/ serves it with streamline_hls
# (and an X-Worker header); /api/stream is there too.
sub media_conf {
    my (%o) = @_;
    my $workers = $o{workers} // 1;
    my $app = $o{app} // '';
    my $main = $o{main} // '';
    my $http = $o{http} // '';
    my $zone = $o{zone} // '64m';
    my $apps = $o{apps} // '';
    my $listen = $o{http_listen} ? " $o{http_listen}" : '';

    return <<"EOF";
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

worker_processes $workers;

events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;
streamline_state_ttl 6s;
streamline_media_zone $zone;
$main

rtmp {
    server {
        listen 127.0.0.1:%%RTMP_PORT%%;
        application live {
            live on;
            streamline on;
            streamline_media_path %%TESTDIR%%/media;
            $app
        }
        $apps
    }
}

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%$listen;

        location /hls/ {
            alias %%TESTDIR%%/media/;
            streamline_hls;
            add_header X-Worker \$pid always;
        }

        location /api/stream {
            streamline_api;
        }
        $http
    }
}
EOF
}

sub media_dir     { $_[0]->testdir . '/media' }
sub channel_dir   { media_dir($_[0]) . "/$_[1]" }
sub rendition_dir { channel_dir($_[0], $_[1]) . "/$_[2]" }


# publisher -------------------------------------------------------------------

# publish_media($t, $key, %o): ffmpeg -re from lavfi sources, an OBS-like
# encoder by default.
#   size => '1280x720', rate => 30, video => 1, audio => 1,
#   duration => seconds (ffmpeg ends the stream itself: deleteStream),
#   vcodec => [...] (OBS_VIDEO), acodec => [...] (OBS_AUDIO),
#   gop => frames (replaces -g and -keyint_min), vfilter => '-vf' value,
#   extra => [...] (output options before -f flv), app => 'live',
#   realtime => 0 (as fast as ffmpeg encodes: no -re)
sub publish_media {
    my ($t, $key, %o) = @_;
    my $size = $o{size} // '1280x720';
    my $rate = $o{rate} // 30;
    my $video = $o{video} // 1;
    my $audio = $o{audio} // 1;
    my $app = $o{app} // 'live';
    my @re = ($o{realtime} // 1) ? ('-re') : ();
    my $port = $o{port} // $t->port('RTMP');
    my $n = ++$t->{seq};
    my $err = $t->testdir . "/ffmpeg-media-$n.stderr";

    my @vcodec = @{$o{vcodec} // OBS_VIDEO()};
    if (my $g = $o{gop}) {
        for my $i (0 .. $#vcodec - 1) {
            $vcodec[$i + 1] = $g if $vcodec[$i] =~ /^-(g|keyint_min)$/;
        }
    }
    my @acodec = @{$o{acodec} // OBS_AUDIO()};

    my @cmd = ('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error');
    my ($vi, $ai);
    my $idx = 0;
    if ($video) {
        push @cmd, @re, '-f', 'lavfi', '-i',
            $o{vsource} // "testsrc2=size=$size:rate=$rate";
        $vi = $idx++;
    }
    if ($audio) {
        push @cmd, @re, '-f', 'lavfi', '-i',
            $o{asource} // 'sine=frequency=440:sample_rate=48000';
        $ai = $idx++;
    }
    push @cmd, '-map', "$vi:v" if defined $vi;
    push @cmd, '-map', "$ai:a" if defined $ai;
    push @cmd, '-vf', $o{vfilter} if $video && $o{vfilter};
    push @cmd, @vcodec if $video;
    push @cmd, @acodec if $audio;
    push @cmd, '-t', $o{duration} if $o{duration};
    push @cmd, @{$o{extra} || []};
    push @cmd, '-f', 'flv', "rtmp://127.0.0.1:$port/$app/$key";

    my $pid = Streamline::Test::_spawn(cmd => \@cmd, stderr => $err);
    my $p = $t->_track(Streamline::Test::Proc->new(pid => $pid,
        err => $err, what => 'ffmpeg', started => time, cmd => \@cmd));
    return bless $p, 'Streamline::Test::Publisher';
}


# playlists -------------------------------------------------------------------

# get_master($t, 'main'): (response, parsed master or undef unless 200)
sub get_master {
    my ($t, $ch, %o) = @_;
    my $r = $t->get("/hls/$ch/master.m3u8", %o);
    return ($r, $r->{status} == 200 ? parse_master($r->{body}) : undef);
}

# get_media($t, 'main', 'source'): (response, parsed or undef unless 200)
sub get_media {
    my ($t, $ch, $rend, %o) = @_;
    return _get_media($t, $ch, $rend, 1, %o);
}

sub _get_media {
    my ($t, $ch, $rend, $check, %o) = @_;
    my $r = $t->get("/hls/$ch/$rend/index.m3u8", %o);
    my $pl = $r->{status} == 200 ? _parse_media($r->{body}, $check) : undef;
    $pl->{fetched} = time if $pl;
    return ($r, $pl);
}

# wait_playlist($t, $ch, $rend, sub { my $pl = shift; ... }, $timeout):
# the first parsed playlist the sub accepts, or undef.  The sub sees no
# ->{problems}: the rules are checked on the playlist accepted only (a
# run of the checker for each of the 50 polls a second would load the
# machine the tests time).
sub wait_playlist {
    my ($t, $ch, $rend, $cond, $timeout) = @_;
    my $got;
    Streamline::Test::wait_for(sub {
        my (undef, $pl) = _get_media($t, $ch, $rend, 0);
        return 0 unless $pl;
        return 0 unless $cond->($pl);
        $got = $pl;
        return 1;
    }, $timeout // 10);
    $got->{problems} = [_media_problems($got->{text})] if $got;
    return $got;
}

sub _attrs {
    my ($s) = @_;
    my %a;
    while ($s =~ /\G([A-Z0-9-]+)=("[^"]*"|[^,]*),?/gc) {
        my ($k, $v) = ($1, $2);
        $v =~ s/^"(.*)"$/$1/s;
        $a{$k} = $v;
    }
    return \%a;
}

# parse_master($text): { variants => [{ bandwidth, average_bandwidth,
# resolution, width, height, codecs, frame_rate, uri, attrs }], version,
# problems => [the rule broken, if any: "line <n>: <rule>"] }
sub parse_master {
    my ($text) = @_;
    my @lines = split /\r?\n/, $text;
    my (@v, $pending, $version);
    for my $line (@lines[1 .. $#lines]) {
        if ($line =~ /^#EXT-X-VERSION:(\d+)$/) {
            $version = $1;
        } elsif ($line =~ /^#EXT-X-STREAM-INF:(.*)$/) {
            my $a = _attrs($1);
            $pending = {
                attrs             => $a,
                bandwidth         => $a->{BANDWIDTH},
                average_bandwidth => $a->{'AVERAGE-BANDWIDTH'},
                resolution        => $a->{RESOLUTION},
                codecs            => $a->{CODECS},
                frame_rate        => $a->{'FRAME-RATE'},
            };
            @$pending{qw(width height)} = ($1, $2)
                if ($a->{RESOLUTION} // '') =~ /^(\d+)x(\d+)$/;
        } elsif ($line =~ /^#/ || $line eq '') {
            next;
        } elsif ($pending) {
            $pending->{uri} = $line;
            push @v, $pending;
            undef $pending;
        }
    }
    my @problems = map { $_->[1] }
        grep { $_->[0] eq 'playlist' } _checker('-m', \$text);
    return { text => $text, version => $version, variants => \@v,
             problems => \@problems };
}

# "2026-11-26T01:54:26.123Z" -> ms since the epoch (or undef)
sub pdt_ms {
    my ($s) = @_;
    return undef unless defined $s && $s =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})(?:Z|\+00:?00)$/;
    return timegm($6, $5, $4, $3, $2 - 1, $1) * 1000 + $7;
}

# parse_media($text): {
#   version, target, media_sequence, dseq, endlist, independent,
#   segments => [{ msn, uri, extinf (s), extinf_text, discontinuity, dseq,
#                  map (init URI in force), pdt, pdt_ms (stated or derived
#                  from the last stated one), pdt_stated, parts => [...] }],
#   maps => [init URIs in order], discontinuities => count,
#   problems => [the rule broken, if any: "line <n>: <rule>"], text }
# The rules are those of RFC 8216 (and rfc8216bis for parts) and of what
# the module renders (core/test/sl_playlist_check.h tells which); the
# checker stops at the first one broken.
sub parse_media {
    my ($text) = @_;
    return _parse_media($text, 1);
}

# the parse only, for what the tests read; with $check, ->{problems} too
sub _parse_media {
    my ($text, $check) = @_;
    my @lines = split /\n/, $text, -1;
    pop @lines if @lines && $lines[-1] eq '';
    my %pl = (text => $text, segments => [], maps => [],
              discontinuities => 0, endlist => 0, dseq => 0, parts => 0);
    $pl{problems} = [_media_problems($text)] if $check;

    my ($extinf, $extinf_text, $disc, $gap, $map, $pdt, $pdt_run,
        @cur_parts);
    my $dseq_run;
    for my $i (1 .. $#lines) {
        my $ln = $i + 1;
        my $line = $lines[$i];
        $line =~ s/\r$//;

        if ($line =~ /^#EXT-X-VERSION:(.*)$/) {
            $pl{version} = $1;
        } elsif ($line =~ /^#EXT-X-TARGETDURATION:(.*)$/) {
            $pl{target} = $1;
        } elsif ($line =~ /^#EXT-X-MEDIA-SEQUENCE:(.*)$/) {
            $pl{media_sequence} = $1;
        } elsif ($line =~ /^#EXT-X-DISCONTINUITY-SEQUENCE:(.*)$/) {
            $pl{dseq} = $1;
        } elsif ($line eq '#EXT-X-INDEPENDENT-SEGMENTS') {
            $pl{independent} = 1;
        } elsif ($line eq '#EXT-X-DISCONTINUITY') {
            $disc = 1;
        } elsif ($line =~ /^#EXT-X-MAP:(.*)$/) {
            if ($1 =~ /(?:^|,)URI="(init-\d+\.mp4)"(?:,|$)/) {
                $map = $1;
                push @{$pl{maps}}, $map unless grep { $_ eq $map } @{$pl{maps}};
            }
        } elsif ($line =~ /^#EXT-X-PROGRAM-DATE-TIME:(.*)$/) {
            $pdt = pdt_ms($1);
        } elsif ($line =~ /^#EXTINF:(.*)$/) {
            my $v = $1;
            if ($v =~ /^(\d+\.\d{3}),(.*)$/) {
                $extinf = $1;
                $extinf_text = $1;
            } else {
                ($extinf) = $v =~ /^([\d.]+)/;
                $extinf //= 0;
                $extinf_text = $v;
            }
        } elsif ($line =~ /^#EXT-X-PART:(.*)$/) {
            my $a = _attrs($1);
            push @cur_parts, { duration => $a->{DURATION}, uri => $a->{URI},
                               independent => ($a->{INDEPENDENT} // '') eq 'YES' };
            $pl{parts}++;
        } elsif ($line eq '#EXT-X-ENDLIST') {
            $pl{endlist}++;
        } elsif ($line eq '#EXT-X-GAP') {
            # no media: a player does not load it (RFC 8216bis 4.4.4.7)
            $gap = 1;
            $pl{gap}++;
        } elsif ($line =~ /^#EXT-X-(SERVER-CONTROL|PRELOAD-HINT|RENDITION-REPORT|SKIP)\b/) {
            $pl{lc $1}++;
        } elsif ($line =~ /^#/ || $line eq '') {
            next;
        } else {
            # a segment URI
            next unless defined $extinf;
            my $idx = @{$pl{segments}};
            my $msn = ($pl{media_sequence} // 0) + $idx;
            $dseq_run //= $pl{dseq};
            if ($disc) {
                $dseq_run++;
                $pl{discontinuities}++;
            }
            my $stated = defined $pdt;
            if ($stated) {
                $pdt_run = $pdt;
            } elsif (defined $pdt_run && !$disc) {
                # derived: the last stated one plus the EXTINFs since
            } else {
                $pdt_run = undef;
            }
            push @{$pl{segments}}, {
                msn           => $msn,
                uri           => $line,
                extinf        => $extinf + 0,
                extinf_text   => $extinf_text,
                discontinuity => $disc ? 1 : 0,
                gap           => $gap ? 1 : 0,
                dseq          => $dseq_run,
                map           => $map,
                pdt_ms        => $pdt_run,
                pdt_stated    => $stated ? 1 : 0,
                parts         => [@cur_parts],
                line          => $ln,
            };
            $pdt_run += $extinf * 1000 if defined $pdt_run;
            undef $extinf;
            undef $disc;
            undef $gap;
            undef $pdt;
            @cur_parts = ();
        }
    }
    $pl{first_msn} = @{$pl{segments}} ? $pl{segments}[0]{msn} : undef;
    $pl{last_msn} = @{$pl{segments}} ? $pl{segments}[-1]{msn} : undef;
    $pl{duration} = 0;
    $pl{duration} += $_->{extinf} for @{$pl{segments}};
    return \%pl;
}

sub _media_problems {
    my ($text) = @_;
    return map { $_->[1] } grep { $_->[0] eq 'playlist' } _checker(\$text);
}

# check_reload($prev, $cur): what is wrong with $cur as a later version of
# $prev (RFC 8216 6.2.1 and 6.3.x): the sequences, target, end and last
# segment; segments in both keep their URI, duration, map, discontinuity
# and its sequence.  Empty list if nothing.
sub check_reload {
    my ($a, $b) = @_;
    return () unless $a && $b;
    return map { $_->[0] eq 'reload' ? $_->[1]
               : $_->[0] eq 'segment' ? "segment $_->[1]"
               : $_->[0] eq 'date' ? ()
               : _not_compared($_) } _compare($a, $b);
}

# pdt_changes($prev, $cur): segments whose date (stated, or implied by the
# last stated one plus the EXTINFs since) differs between two versions of a
# playlist by more than 1 ms.  RFC 8216 6.2.1 lets a server only append,
# remove from the front, bump the sequence numbers and add ENDLIST: the
# date-time of a segment stays what it was.
sub pdt_changes {
    my ($a, $b) = @_;
    return () unless $a && $b;
    return map { $_->[0] eq 'date' ? $_->[1]
               : $_->[0] eq 'reload' || $_->[0] eq 'segment' ? ()
               : _not_compared($_) } _compare($a, $b);
}

# the checker compares two versions only when both follow the rules
sub _not_compared {
    my ($f) = @_;
    return ($f->[0] eq 'previous' ? 'the earlier' : 'this')
        . " version breaks a rule, versions not compared: $f->[1]";
}

# the findings of the checker on two versions, kept for the next call:
# check_reload and pdt_changes ask for the same pair one after the other
my @compared;

sub _compare {
    my ($a, $b) = @_;
    @compared = ($a->{text}, $b->{text}, [_checker('-p', \$a->{text},
                                                   \$b->{text})])
        unless @compared && $compared[0] eq $a->{text}
               && $compared[1] eq $b->{text};
    return @{$compared[2]};
}

# the playlist checker, ngx_streamline_module/core/test/sl_playlist_check*
# (sl_playlist_check_main.c tells its options and output), built on first
# use: arguments given as references to text are written to temporary
# files that it reads.  Its findings: ([first word, rest of line], ...).
my $checker;

sub _checker {
    my (@args) = @_;
    $checker //= Streamline::Unit::build('playlist-check',
                                         'sl_playlist_check');
    my @tmp;
    for my $arg (@args) {
        next unless ref $arg;
        my ($fh, $path) = tempfile('sl-playlist-XXXXXX', TMPDIR => 1,
            UNLINK => 1);
        binmode $fh;
        print $fh $$arg;
        close $fh or die "$path: $!";
        push @tmp, $path;
        $arg = $path;
    }
    my ($code, $out, $err) = _run($checker, @args);
    unlink @tmp;
    my @found = map { [/^(\S+) (.*)$/] } split /\n/, $out;
    die "sl_playlist_check @args: exit $code, $err\n"
        unless $code == 0 || ($code == 1 && @found);
    return @found;
}

# one line a segment, for diagnostics
sub playlist_summary {
    my ($pl) = @_;
    return 'no playlist' unless $pl;
    return join "\n", "MEDIA-SEQUENCE $pl->{media_sequence}"
        . ($pl->{endlist} ? ' ENDLIST' : ''),
        map { sprintf '  %s %s %s%s%s', $_->{msn}, $_->{extinf_text},
              $_->{map} // '-', $_->{discontinuity} ? ' DISC' : '',
              $_->{pdt_stated} ? " PDT $_->{pdt_ms}" : '' }
            @{$pl->{segments}};
}


# files -----------------------------------------------------------------------

# { msn => path } of the seg-<msn>.m4s files of a rendition on disk
sub segment_files {
    my ($t, $ch, $rend) = @_;
    my $dir = rendition_dir($t, $ch, $rend);
    opendir my $d, $dir or return {};
    return { map { /^seg-(\d+)\.m4s$/ ? ($1 => "$dir/$_") : () } readdir $d };
}

# the init-<id>.mp4 names of a rendition on disk, sorted by id
sub init_files {
    my ($t, $ch, $rend) = @_;
    my $dir = rendition_dir($t, $ch, $rend);
    opendir my $d, $dir or return ();
    return map { $_->[1] } sort { $a->[0] <=> $b->[0] }
        map { /^init-(\d+)\.mp4$/ ? [$1, $_] : () } readdir $d;
}


# ffprobe ---------------------------------------------------------------------

# runs a command: (exit code, stdout, stderr)
sub _run {
    my (@cmd) = @_;
    my ($efh, $efile) = tempfile('sl-probe-XXXXXX', TMPDIR => 1,
        UNLINK => 1);
    my $pid = open my $fh, '-|' // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', $efh or POSIX::_exit(126);
        open STDIN, '<', '/dev/null';
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    # killed by a signal (a sanitizer's abort, say): as a shell tells it
    my $code = ($? & 127) ? 128 + ($? & 127) : $? >> 8;
    seek $efh, 0, 0;
    my $err = do { local $/; <$efh> } // '';
    close $efh;
    unlink $efile;
    return ($code, $out, $err);
}

sub _num {
    my ($v) = @_;
    return undef unless defined $v && $v =~ /^-?[\d.]+(?:e-?\d+)?$/i;
    return $v + 0;
}

sub _rate {
    my ($r) = @_;
    return undef unless defined $r && $r =~ m{^(\d+)/(\d+)$} && $2;
    return $1 / $2;
}

# probe_file($path, frames => 1): ffprobe -v error on a file:
# { code, stderr, streams => [...], video => stream, audio => stream,
#   frames (decoded, presentation order) => { video => [...], audio => [...] },
#   and per kind: <kind>_start, <kind>_end (s, end of the last frame),
#   <kind>_frames, first_video_key, first_video_type }
sub probe_file {
    my ($path, %o) = @_;
    my @cmd = ('ffprobe', '-v', 'error', '-of', 'json', '-show_streams');
    push @cmd, '-show_entries',
        'frame=media_type,key_frame,pict_type,pts,pts_time,'
        . 'pkt_duration_time,duration_time,best_effort_timestamp_time,'
        . 'nb_samples,sample_rate'
        if $o{frames} // 1;
    my ($code, $out, $err) = _run(@cmd, $path);
    my $j = eval { JSON::PP->new->decode($out) } || {};
    my %r = (code => $code, stderr => $err, streams => $j->{streams} || []);
    for my $s (@{$r{streams}}) {
        $r{$s->{codec_type}} //= $s if $s->{codec_type};
    }
    my %fr = (video => [], audio => []);
    for my $f (@{$j->{frames} || []}) {
        push @{$fr{$f->{media_type}}}, $f if $fr{$f->{media_type} // ''};
    }
    $r{frames} = \%fr;
    for my $kind (qw(video audio)) {
        my @f = @{$fr{$kind}};
        $r{"${kind}_frames"} = scalar @f;
        next unless @f;
        my ($start, $end);
        for my $f (@f) {
            my $pts = _num($f->{pts_time} // $f->{best_effort_timestamp_time})
                // next;
            my $d = _num($f->{duration_time} // $f->{pkt_duration_time});
            if (!defined $d && $kind eq 'audio' && $f->{nb_samples}
                && $f->{sample_rate}) {
                $d = $f->{nb_samples} / $f->{sample_rate};
            }
            if (!defined $d && $kind eq 'video' && $r{video}) {
                my $fps = _rate($r{video}{avg_frame_rate})
                       || _rate($r{video}{r_frame_rate});
                $d = 1 / $fps if $fps;
            }
            $d //= 0;
            $start = $pts if !defined $start || $pts < $start;
            $end = $pts + $d if !defined $end || $pts + $d > $end;
        }
        $r{"${kind}_start"} = $start;
        $r{"${kind}_end"} = $end;
        $r{"${kind}_duration"} = defined $start ? $end - $start : undef;
    }
    if (@{$fr{video}}) {
        $r{first_video_key} = $fr{video}[0]{key_frame};
        $r{first_video_type} = $fr{video}[0]{pict_type};
        $r{first_video_pts} = _num($fr{video}[0]{pts_time});
        my @pts = sort { $a <=> $b }
            grep { defined } map { _num($_->{pts_time}) } @{$fr{video}};
        if (@pts > 1) {
            $r{measured_fps} = (@pts - 1) / ($pts[-1] - $pts[0])
                if $pts[-1] > $pts[0];
        }
    }
    return \%r;
}

# probe_segment($t, $ch, $rend, $seg): init (the segment's EXT-X-MAP) and
# segment concatenated in a temporary file, probed; undef if a file is
# missing.  Adds init_path, seg_path.
sub probe_segment {
    my ($t, $ch, $rend, $seg, %o) = @_;
    my $dir = rendition_dir($t, $ch, $rend);
    my $init = "$dir/$seg->{map}";
    my $path = "$dir/$seg->{uri}";
    my $data = '';
    for my $f ($init, $path) {
        open my $fh, '<:raw', $f or return undef;
        local $/;
        $data .= <$fh>;
    }
    my $tmp = $t->testdir . "/probe-$ch-$rend-$seg->{msn}.mp4";
    open my $out, '>:raw', $tmp or die "$tmp: $!";
    print $out $data;
    close $out;
    my $r = probe_file($tmp, %o);
    unlink $tmp unless $ENV{STREAMLINE_KEEP};
    @$r{qw(init_path seg_path)} = ($init, $path);
    return $r;
}

# probe_init($t, $ch, $rend, 'init-0.mp4'): streams of an init segment
sub probe_init {
    my ($t, $ch, $rend, $init) = @_;
    return probe_file(rendition_dir($t, $ch, $rend) . "/$init", frames => 0);
}

# The RFC 6381 codecs of an init segment, from its boxes: avcC gives
# avc1.PPCCLL; an mp4a sample entry's esds gives mp4a.40.<AOT>.
# Returns the list in track order.
sub avc_codecs {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return ();
    my $data = do { local $/; <$fh> };
    my @c;
    for my $moov (_boxes($data, 0, length $data, 'moov')) {
        for my $trak (_boxes($data, @$moov[1, 2], 'trak')) {
            my @b = ($trak);
            for my $type (qw(mdia minf stbl stsd)) {
                @b = map { _boxes($data, @$_[1, 2], $type) } @b;
            }
            for my $stsd (@b) {
                # full box + entry_count
                for my $e (_boxes($data, $stsd->[1] + 8, $stsd->[2])) {
                    push @c, _sample_entry_codec($data, $e);
                }
            }
        }
    }
    return grep { defined } @c;
}

# [type, payload start, end] of the boxes in [from, to), of a type or all
sub _boxes {
    my ($data, $from, $to, $want) = @_;
    my @b;
    my $at = $from;
    while ($at + 8 <= $to) {
        my ($size, $type) = unpack 'Na4', substr($data, $at, 8);
        my $hdr = 8;
        if ($size == 1) {
            my ($hi, $lo) = unpack 'NN', substr($data, $at + 8, 8);
            $size = $hi * 4294967296 + $lo;
            $hdr = 16;
        } elsif ($size == 0) {
            $size = $to - $at;
        }
        last if $size < $hdr || $at + $size > $to;
        push @b, [$type, $at + $hdr, $at + $size]
            if !defined $want || $type eq $want;
        $at += $size;
    }
    return @b;
}

sub _sample_entry_codec {
    my ($data, $e) = @_;
    my ($type, $p, $end) = @$e;
    if ($type eq 'avc1' || $type eq 'avc3') {
        # VisualSampleEntry: 78 bytes before the child boxes
        my ($avcc) = _boxes($data, $p + 78, $end, 'avcC') or return undef;
        my ($ver, $prof, $compat, $level) =
            unpack 'C4', substr($data, $avcc->[1], 4);
        return sprintf '%s.%02x%02x%02x', $type, $prof, $compat, $level;
    }
    if ($type eq 'mp4a') {
        # AudioSampleEntry (version 0): 28 bytes before the child boxes
        my ($esds) = _boxes($data, $p + 28, $end, 'esds') or return undef;
        my $s = substr($data, $esds->[1] + 4, $esds->[2] - $esds->[1] - 4);
        my $i = 0;
        my $desc = sub {           # tag, then the size: returns the tag
            my $tag = unpack 'C', substr($s, $i++, 1);
            for (1 .. 4) {
                my $b = unpack 'C', substr($s, $i++, 1);
                last unless $b & 0x80;
            }
            return $tag;
        };
        return undef unless $desc->() == 3;
        my ($flags) = unpack 'C', substr($s, $i + 2, 1);
        $i += 3;
        $i += 2 if $flags & 0x80;
        $i += 1 + unpack('C', substr($s, $i, 1)) if $flags & 0x40;
        $i += 2 if $flags & 0x20;
        return undef unless $desc->() == 4;
        my $oti = unpack 'C', substr($s, $i, 1);
        $i += 13;
        return sprintf('mp4a.%02x', $oti) unless $desc->() == 5;
        my ($b0, $b1) = unpack 'CC', substr($s, $i, 2);
        my $aot = $b0 >> 3;
        $aot = 32 + ((($b0 & 7) << 3) | ($b1 >> 5)) if $aot == 31;
        return sprintf 'mp4a.%02x.%d', $oti, $aot;
    }
    return $type;
}

1;
