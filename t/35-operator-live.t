#!/usr/bin/perl

# What operators do to a live origin, with a viewer polling all along:
#  - nginx -t and nginx -s reload: no request fails, the DVR is intact
#    (every segment listed before is still listed and answers 200), the
#    state stays live;
#  - a binary upgrade (USR2, WINCH, QUIT): the new binary's master finds
#    the media path owned by the old nginx and removes nothing, the old
#    workers keep serving the stream and the state stays live; WINCH
#    makes the old worker end its publisher (no newer worker shares its
#    zone), and the broadcaster that reconnects (OBS does) gets a working
#    stream from the new binary, which continues the DVR from the index the
#    old worker left on disk (its zone is its own, it cannot inherit the
#    old one).  All along no request fails: the new binary's workers hold
#    the playlists of the channel that the old ones stream (both accept
#    connections until WINCH), and after WINCH until the publisher is
#    back, then answer them from the continued DVR.

use strict;
use warnings;

use Test::More;
use POSIX ();
use Fcntl qw(:flock);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
# nginx gives a new binary only the variables that "env" names: the
# sanitizer runtimes must reach it too
my $conf = media_conf(app => 'streamline_segment 1s;
            streamline_dvr_window 120s;',
    main => $ENV{SANITIZE}
        ? 'env LD_PRELOAD; env ASAN_OPTIONS; env UBSAN_OPTIONS;' : '');
$t->write_conf($conf);
my $dir = $t->testdir;
my $media = media_dir($t);

# nginx as a daemon, as init systems run it: a master whose launcher is
# still its parent (daemon off under the harness, or PID 1 in a
# container) ignores USR2 ("the changing binary signal is ignored")
my @nginx = (Streamline::Test::nginx_bin(), '-p', "$dir/",
    '-c', $t->nginx->conf_path, '-e', "$dir/error.log");
my $globals = "pid $dir/nginx.pid;" . ($> == 0 ? ' user root;' : '');
my $out = Streamline::Test::_capture({
        env => Streamline::Test::Nginx::sanitizer_env() },
    @nginx, '-g', "daemon on; master_process on; $globals");
is($? >> 8, 0, 'nginx starts as a daemon') or diag $out;

sub master {
    my ($file) = @_;
    return ($t->read_file($file // "$dir/nginx.pid") // '') =~ /^(\d+)/
        ? $1 : 0;
}

sub children_of {
    my ($ppid) = @_;
    my @c;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($pid, $pp) = (<$fh> // '') =~ /^(\d+) \(.*\) \S (\d+)/s or next;
        push @c, $pid if $pp == $ppid;
    }
    return @c;
}

# whatever happens, no nginx of ours outlives the file
my @masters;
END {
    for my $m (grep { $_ && kill 0, $_ } @masters) {
        my @all = ($m, children_of($m));
        kill 'TERM', $m;
        wait_for(sub { !kill 0, $m }, 5);
        kill 'KILL', grep { kill 0, $_ } @all;
    }
}

my $oldmaster = master();
push @masters, $oldmaster;
ok(wait_for(sub { children_of($oldmaster)
                  && $t->get('/api/stream')->{status} != 599 }, 10),
   'nginx answers');

my $key = random_key();
$t->add_key(main => $key);
my @light = (size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 25 -keyint_min 25
                  -sc_threshold 0 -pix_fmt yuv420p)]);
my $pub = publish_media($t, $key, @light);
my $dvr = wait_playlist($t, 'main', 'source',
    sub { @{$_[0]{segments}} >= 3 }, 20);
ok($dvr, 'live, 3 segments') or diag $pub->stderr;

# the viewers (two, so that one asks while the other waits): the
# playlist, each new segment, its newest part, the master playlist and the
# API, one connection a request; one line a request:
# time status worker path seconds [ENDLIST]
my $log = "$dir/viewer.log";
my @viewers;
for my $first ('/hls/main/master.m3u8', '/hls/main/source/index.m3u8') {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        # the child never returns: END blocks are the parent's
        eval { viewer($first) };
        POSIX::_exit(0);
    }
    push @viewers, $pid;
    $t->_track(Streamline::Test::Proc->new(pid => $pid, what => 'viewer'));
    sleep 0.1;
}

sub viewer {
    my ($first) = @_;
    $SIG{TERM} = sub { POSIX::_exit(0) };
    open my $fh, '>>', $log or return;
    select((select($fh), $| = 1)[0]);
    my %seen;
    while (1) {
        for my $path ($first, grep({ $_ ne $first }
                                   '/hls/main/master.m3u8',
                                   '/hls/main/source/index.m3u8'),
                      '/api/stream') {
            # longer than a playlist may be held
            my $r = $t->get($path, timeout => 15);
            printf $fh "%.3f %d %s %s %.3f%s\n", time, $r->{status},
                $r->{headers}{'x-worker'} // '-', $path, $r->{elapsed},
                $r->{body} =~ /^#EXT-X-ENDLIST/m ? ' ENDLIST' : '';
            next unless $path =~ /index/ && $r->{status} == 200;
            my @get = grep { !$seen{$_}++ }
                map { $_->{uri} } @{parse_media($r->{body})->{segments}};
            my @parts = $r->{body} =~ /^#EXT-X-PART:.*URI="([^"]+)"/mg;
            push @get, $parts[-1] if @parts;
            for my $uri (@get) {
                my $s = $t->get("/hls/main/source/$uri");
                printf $fh "%.3f %d %s %s %.3f\n", time, $s->{status},
                    $s->{headers}{'x-worker'} // '-', $uri, $s->{elapsed};
            }
        }
        sleep 0.2;
    }
}

sub requests {
    my ($from, $to) = @_;
    open my $fh, '<', $log or return ();
    return grep { $_->[0] >= $from && $_->[0] <= $to }
        map { [split ' '] } <$fh>;
}

sub failed { grep { $_->[1] != 200 } @_ }

# a request on a kept-alive connection: (status, worker, body)
sub again {
    my ($s, $path) = @_;
    my ($data, $len) = ('', undef);
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 5;
        print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        while ($data !~ /\r\n\r\n/
               || length($data) < index($data, "\r\n\r\n") + 4 + $len) {
            sysread($s, $data, 65536, length $data) or die "closed\n";
            $len = $1 if $data =~ /^Content-Length:\s*(\d+)/mi;
            $len //= 0;
        }
        alarm 0;
        1;
    };
    return (599, '-', $@) unless $ok;
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    my ($status) = $head =~ m{^HTTP/1\.1 (\d+)};
    my ($worker) = $head =~ /^X-Worker:\s*(\d+)/mi;
    return ($status // 599, $worker // '-', $body);
}

sub dvr_intact {
    my ($what) = @_;
    my (undef, $now) = get_media($t, 'main', 'source');
    my %listed = map { $_->{uri} => 1 } @{$now ? $now->{segments} : []};
    my @gone = grep { !$listed{$_->{uri}} || !-e "$media/main/source/$_->{uri}"
                      || $t->get("/hls/main/source/$_->{uri}")->{status} != 200 }
        @{$dvr->{segments}};
    ok(!@gone, "$what: the DVR is intact")
        or diag "gone: @{[map { $_->{uri} } @gone]}";
    ok($now && !$now->{endlist}, "$what: still live");
    is($t->api_status, 'live', "$what: the API says live");
}

sleep 1;
my $t0 = time;

# nginx -t on the running configuration
my $rc;
($rc, $out) = $t->nginx->test;
is($rc, 0, 'nginx -t passes') or diag $out;

# nginx -s reload: the signalling process reads the configuration too
my %old = map { $_ => 1 } children_of($oldmaster);
$out = Streamline::Test::_capture({
        env => Streamline::Test::Nginx::sanitizer_env() },
    @nginx, '-g', $globals, '-s', 'reload');
is($? >> 8, 0, 'nginx -s reload') or diag $out;
ok(wait_for(sub { grep { !$old{$_} } children_of($oldmaster) }, 10),
   'new workers');

# some requests through the new workers
sleep 3;
dvr_intact('nginx -t and reload');
my @reqs = requests($t0, time);
cmp_ok(scalar @reqs, '>', 20, 'the viewer asked all along');
my @bad = failed(@reqs);
ok(!@bad, 'nginx -t and reload: no request failed')
    or diag join "\n", map { "@$_" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];
ok($pub->alive, 'the publisher streams on');


# the binary upgrade -----------------------------------------------------------

my %oldgen = map { $_ => 1 } children_of($oldmaster);
my @files = glob("$media/main/source/{init-*.mp4,seg-*.m4s}");
cmp_ok(scalar @files, '>=', 4, 'the DVR on disk before USR2');
# a connection that an old worker accepted: nginx hands the new ones to the
# newest workers (every one after USR2, as seen in this test)
my $kept = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
    PeerPort => $t->port('HTTP'), Proto => 'tcp', Timeout => 5)
    or die "connect: $!";
my ($st, $w) = again($kept, '/hls/main/source/index.m3u8');
ok($st == 200 && $oldgen{$w}, 'a connection to an old worker');
my $tu = time;
kill 'USR2', $oldmaster;
my $newmaster;
ok(wait_for(sub {
       -e "$dir/nginx.pid.oldbin"
       && ($newmaster = master()) && $newmaster != $oldmaster }, 10),
   'USR2: a new master') or BAIL_OUT('no binary upgrade');
push @masters, $newmaster;

my @newworkers;
ok(wait_for(sub { @newworkers = children_of($newmaster) }, 10),
   'USR2: new workers');
sleep 1;
my @kept = grep { -e } @files;
is(scalar @kept, scalar @files, 'USR2: the new master removed nothing');
like($t->read_file($t->error_log), qr/belongs to another nginx/,
     'USR2: the new master says whose the media path is');

# the old worker still packages and serves the stream
my $t1 = time;
ok(wait_for(sub { my @now = glob("$media/main/source/{init-*.mp4,seg-*.m4s}");
                  @now > @files }, 10),
   'USR2: the old worker packages on');
($st, $w) = again($kept, '/hls/main/source/index.m3u8');
ok($st == 200 && $oldgen{$w}, 'USR2: the old workers serve the playlist');
close $kept;

# both generations accept until WINCH: the new one has nothing of the
# old one's stream (its zone is its own) and holds its playlists
ok(wait_for(sub { $t->read_file($t->error_log)
                  =~ /channel "main" is another nginx's: the request waits/ },
            10),
   'USR2: the new workers hold the channel\'s playlists');
# a few seconds of both, as an operator who checks the new binary first
sleep $tu + 3 - time if time < $tu + 3;
@bad = failed(requests($tu, time));
ok(!@bad, 'USR2: no request failed')
    or diag join "\n", map { "@$_" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];
is($t->api_status, 'live', 'USR2: the API says live');
is(json_decode($t->redis('GET', 'streamline:state:main'))->{status}, 'live',
   'USR2: the state stays live');

# WINCH: the old workers stop; OBS reconnects to the new ones
kill 'WINCH', $oldmaster;
ok(defined $pub->wait(10), 'WINCH: the old worker ends the publisher');
ok(wait_for(sub {
       open my $fh, '<', "$media/main/.streamline.live" or return 0;
       flock $fh, LOCK_SH|LOCK_NB }, 10),
   'WINCH: the old worker\'s stream is over');

# the encoder's reconnect delay (OBS waits a few seconds): a playlist
# asked meanwhile, when nobody streams, waits for the publisher's return
my $gap = "$dir/gap.log";
my $asker = fork // die "fork: $!";
if ($asker == 0) {
    my $r = $t->get('/hls/main/source/index.m3u8', timeout => 15);
    open my $fh, '>', $gap or POSIX::_exit(1);
    printf $fh "%d %.3f %s\n", $r->{status}, $r->{elapsed},
        $r->{body} =~ /^#EXT-X-ENDLIST/m ? 'ended' : 'live';
    close $fh;
    POSIX::_exit(0);
}
my $ask = $t->_track(
    Streamline::Test::Proc->new(pid => $asker, what => 'asker'));
sleep 1;
$pub = publish_media($t, $key, @light);
my $t2 = time;
$ask->wait(20);
my ($gap_status, $gap_wait, $gap_state) =
    split ' ', $t->read_file($gap) // '';
is($gap_status // 0, 200,
   'WINCH: a playlist asked before the publisher is back waits for it');
cmp_ok($gap_wait // 0, '>', 0.5, 'WINCH: held until then');
is($gap_state // '', 'live', 'WINCH: and is live');
my %newgen = map { $_ => 1 } children_of($newmaster);
ok(wait_for(sub {
       grep { $newgen{$_->[2]} && $_->[3] =~ /^seg-/ && $_->[1] == 200 }
           requests($t2, time) }, 20),
   'WINCH: the reconnected broadcaster plays through the new binary')
    or diag $pub->stderr;
is($t->api_status, 'live', 'WINCH: live again');
# the old worker left its index on disk, the new binary carries it on
my $after = wait_playlist($t, 'main', 'source',
    sub { $_[0]{discontinuities} }, 10);
ok($after && $after->{discontinuities} == 1
   && $after->{segments}[0]{msn} <= $dvr->{segments}[0]{msn},
   'WINCH: the new binary continues the DVR after a discontinuity')
    or diag $after && $after->{text};
dvr_intact('binary upgrade');

kill 'QUIT', $oldmaster;
ok(wait_for(sub { !kill 0, $oldmaster }, 10), 'QUIT: the old master exits');
my $t3 = time;
sleep 2;
@bad = failed(requests($t3, time));
ok(!@bad, 'the new binary alone: no request fails')
    or diag join "\n", map { "@$_" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];

# the whole upgrade as the viewer saw it
my @upgrade = requests($tu, time);
@bad = failed(@upgrade);
ok(!@bad, 'USR2 to QUIT: no request failed')
    or diag join "\n", map { "@$_" } @bad[0 .. ($#bad < 9 ? $#bad : 9)];
my @ended = grep { ($_->[5] // '') eq 'ENDLIST' } @upgrade;
ok(!@ended, 'USR2 to QUIT: no playlist ended')
    or diag join "\n", map { "@$_" } @ended;
my %newer = map { $_ => 1 } @newworkers, keys %newgen;
my @held = sort { $b->[4] <=> $a->[4] }
    grep { $newer{$_->[2]} && $_->[3] =~ /m3u8$/ && $_->[4] > 0.5 } @upgrade;
diag sprintf 'USR2 to QUIT: %d requests, %d playlists held by the new '
    . 'binary over 0.5 s, the longest %.1f s, from USR2 to the publisher\'s '
    . 'return %.1f s; asked before that return: held %.1f s',
    scalar @upgrade, scalar @held, @held ? $held[0][4] : 0, $t2 - $tu,
    $gap_wait // 0;

kill 'TERM', @viewers;
$pub->stop;

my @left = ($newmaster, children_of($newmaster));
kill 'QUIT', $newmaster;
ok(wait_for(sub { !kill 0, $newmaster }, 10), 'the new master quits')
    or kill 'KILL', @left;

done_testing;
