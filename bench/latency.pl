#!/usr/bin/perl

# bench/latency.pl: how long until GET /api/stream tells the truth, in every
# worker.
#
# One nginx (2 workers) with a real redis-server.  One poller process per
# worker holds a keep-alive connection to it (told apart by an X-Worker: $pid
# header) and asks /api/stream every POLL_MS ms; a tailer process reads
# error.log (info level) every 0.25 ms.  Each reports what it sees, stamped
# with CLOCK_MONOTONIC, to this process, which only starts things and does
# the sums.
#
#   publish   RUNS times: start ffmpeg, wait until every worker says live,
#             stop ffmpeg, wait until every worker says idle.  Measured:
#               ffmpeg start -> every worker live (includes ffmpeg's start,
#                 x264 set-up and the RTMP handshake)
#               `channel "main" is live` in error.log -> every worker live
#                 (the publish accepted -> Redis -> pub/sub -> caches path)
#               `channel "main" is idle` in error.log -> every worker idle
#   event     EVENT_RUNS times: PUBLISH streamline:events a live event, wait
#             until every worker says live, then PUBLISH an idle event:
#             PUBLISH -> every worker idle (the cache-replace path alone)
#
# A worker's time is when the poller received its first answer with the
# new status, so every figure is an upper bound by up to one poll period.
#
# Environment: RUNS (20), EVENT_RUNS (30), POLL_MS (2), WORKERS (2),
# BUILD_DIR (<repo>/build), NGINX_BIN (/usr/sbin/nginx), KEEP=1 keeps the
# temp dir.  Core Perl only.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG strftime);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep time);

$| = 1;

my $REPO       = abs_path(dirname(__FILE__) . '/..');
my $BUILD      = $ENV{BUILD_DIR} // "$REPO/build";
my $NGINX      = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $RUNS       = $ENV{RUNS} // 20;
my $EVENT_RUNS = $ENV{EVENT_RUNS} // 30;
my $POLL_MS    = $ENV{POLL_MS} // 2;
my $WORKERS    = $ENV{WORKERS} // 2;
my $CHANNEL    = 'main';

-f "$BUILD/modules/ngx_streamline_module.so"
    or die "no $BUILD/modules/ngx_streamline_module.so (make build)\n";

sub mono { clock_gettime(CLOCK_MONOTONIC) }

my $dir = tempdir('streamline-bench-latency-XXXXXX', TMPDIR => 1,
    CLEANUP => 0);
chmod 0755, $dir;

# processes we started, in order; stopped last-first at the end
my @kids;
my $parent = $$;

END {
    if ($$ == $parent) {
        my $exit = $?;
        stop_pid($_->[0]) for reverse @kids;
        if ($ENV{KEEP}) { print STDERR "# kept $dir\n" }
        else { remove_tree($dir) }
        $? = $exit;
    }
}
$SIG{INT}  = sub { exit 130 };
$SIG{TERM} = sub { exit 143 };
$SIG{PIPE} = 'IGNORE';

sub stop_pid {
    my ($pid) = @_;
    return unless $pid && kill 0, $pid;
    kill 'TERM', $pid;
    for (1 .. 100) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
}

sub spawn {
    my ($name, $out, $err, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(INT TERM PIPE);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $out // '/dev/null';
        open STDERR, '>>', $err // '/dev/null';
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    push @kids, [$pid, $name];
    return $pid;
}

sub forget { my ($pid) = @_; @kids = grep { $_->[0] != $pid } @kids }

# free loopback ports, held together while chosen so that they differ
my @held = map {
    IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
        Listen => 1, ReuseAddr => 1) or die "bind: $!";
} 1 .. 3;
my ($RTMP_PORT, $HTTP_PORT, $REDIS_PORT) = map { $_->sockport } @held;
close $_ for @held;

sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + $timeout;
    while (time < $deadline) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.02;
    }
    return undef;
}


# redis ----------------------------------------------------------------------

mkdir "$dir/redis";
spawn('redis-server', "$dir/redis/redis.out", undef, 'redis-server',
    '--port', $REDIS_PORT, '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--dir', "$dir/redis", '--daemonize', 'no',
    '--logfile', "$dir/redis/redis.log");

my $redis;
sub redis {
    my @args = @_;
    $redis //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $REDIS_PORT, Proto => 'tcp', Timeout => 2)
        or die "redis connect: $!\n";
    $redis->autoflush(1);
    print $redis '*' . @args . "\r\n",
        map { '$' . length($_) . "\r\n$_\r\n" } @args;
    local $/ = "\r\n";
    my $line = <$redis> // die "redis: connection closed\n";
    chomp $line;
    die "redis $args[0]: $line\n" if $line =~ /^-/;
    if ($line =~ /^\$(-?\d+)/) {
        return undef if $1 < 0;
        my $buf = '';
        read($redis, $buf, $1 + 2) == $1 + 2 or die "redis: short read\n";
        return substr($buf, 0, $1);
    }
    return substr($line, 1);
}
wait_for(sub { eval { redis('PING') eq 'PONG' } }, 10)
    or die "redis-server did not start\n";


# nginx ----------------------------------------------------------------------

my $user = $> == 0 ? 'user root;' : '';
my $conf = <<EOF;
worker_processes $WORKERS;
$user
pid $dir/nginx.pid;
error_log $dir/error.log info;

load_module $BUILD/modules/ngx_rtmp_module.so;
load_module $BUILD/modules/ngx_streamline_module.so;

events { worker_connections 1024; }

streamline_redis 127.0.0.1:$REDIS_PORT;

rtmp {
    server {
        listen 127.0.0.1:$RTMP_PORT;
        application live {
            live on;
            streamline on;
        }
    }
}

http {
    client_body_temp_path $dir/client_body_temp;
    proxy_temp_path $dir/proxy_temp;
    fastcgi_temp_path $dir/fastcgi_temp;
    uwsgi_temp_path $dir/uwsgi_temp;
    scgi_temp_path $dir/scgi_temp;
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 600s;

    server {
        listen 127.0.0.1:$HTTP_PORT;
        location /api/stream {
            streamline_api;
            add_header X-Worker \$pid always;
        }
    }
}
EOF
open my $cf, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
print $cf $conf;
close $cf;

my $errlog = "$dir/error.log";
spawn('nginx', $errlog, $errlog, $NGINX, '-p', "$dir/", '-c',
    "$dir/nginx.conf", '-e', $errlog, '-g', 'daemon off; master_process on;');


# HTTP on a socket of our own ------------------------------------------------

# one GET on a keep-alive socket: (code, x-worker, body) or () on failure
sub get {
    my ($s) = @_;
    syswrite($s, "GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        or return;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my ($head, $len);
    while (1) {
        $sel->can_read(5) or return;
        sysread($s, $buf, 65536, length $buf) or return;
        if (!defined $head && (my $i = index($buf, "\r\n\r\n")) >= 0) {
            $head = substr($buf, 0, $i);
            $buf = substr($buf, $i + 4);
            ($len) = $head =~ /^content-length:\s*(\d+)/mi;
            $len //= 0;
        }
        last if defined $head && length $buf >= $len;
    }
    my ($code) = $head =~ m{^HTTP/1\.\d (\d+)};
    my ($worker) = $head =~ /^x-worker:\s*(\d+)/mi;
    return ($code, $worker, substr($buf, 0, $len));
}

sub connect_http {
    IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $HTTP_PORT,
        Proto => 'tcp', Timeout => 2);
}

wait_for(sub { my $s = connect_http() or return; my @r = get($s); @r }, 10)
    or die "nginx did not start:\n" . `tail -20 $errlog`;

# a keep-alive connection to every worker: new connections land on either
my (%sock, @spare);
for (1 .. 1000) {
    my $s = connect_http() or next;
    my ($code, $w) = get($s);
    next unless $w;
    if ($sock{$w}) { push @spare, $s if @spare < 50 } else { $sock{$w} = $s }
    last if keys %sock == $WORKERS;
}
close $_ for @spare;
keys %sock == $WORKERS
    or die "could not reach all $WORKERS workers (got "
        . join(', ', keys %sock) . ")\n";
my @workers = sort { $a <=> $b } keys %sock;


# observers ------------------------------------------------------------------

my $sel = IO::Select->new;
my %rbuf;

sub observer {
    my ($name, $body) = @_;
    pipe(my $r, my $w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(INT TERM PIPE);
        close $r;
        $w->autoflush(1);
        eval { $body->($w) };
        print $w "E $name: $@" if $@;
        POSIX::_exit(0);
    }
    close $w;
    push @kids, [$pid, $name];
    $sel->add($r);
    $rbuf{$r} = '';
}

# pollers: "W <worker> <status> <time>" when a worker's answer changes
for my $w (@workers) {
    my $s = $sock{$w};
    observer("poller $w", sub {
        my ($out) = @_;
        my $last = '';
        while (1) {
            my ($code, $worker, $body) = get($s);
            my $t = mono();
            die "connection to worker $w lost\n" unless defined $code;
            die "worker $worker answered on worker ${w}'s connection\n"
                if ($worker // '') ne $w;
            my ($st) = $body =~ /"status":"(\w+)"/;
            $st = "http-$code" if $code ne '200' || !$st;
            if ($st ne $last) {
                print $out "W $w $st $t\n";
                $last = $st;
            }
            sleep $POLL_MS / 1000;
        }
    });
}
close $_ for values %sock;

# tailer: "L <status> <time>" when error.log says the channel changed
my $errlog_size = -s $errlog;
observer('tailer', sub {
    my ($out) = @_;
    open my $fh, '<', $errlog or die "$errlog: $!";
    sysseek($fh, $errlog_size, 0);
    my $buf = '';
    while (1) {
        my $n = sysread($fh, $buf, 65536, length $buf);
        my $t = mono();
        if ($n) {
            while ((my $i = index($buf, "\n")) >= 0) {
                my $line = substr($buf, 0, $i + 1, '');
                print $out "L $1 $t\n"
                    if $line =~ /streamline: channel "\Q$CHANNEL\E" is (live|idle)\b/;
            }
        } else {
            sleep 0.00025;
        }
    }
});

# what the observers told so far
my %now;      # worker -> [status, time of the change]
my @log;      # [status, time]

sub pump {
    my ($timeout) = @_;
    for my $r ($sel->can_read($timeout)) {
        my $n = sysread($r, $rbuf{$r}, 65536, length $rbuf{$r});
        die "an observer stopped\n" unless $n;
        while ((my $i = index($rbuf{$r}, "\n")) >= 0) {
            my $line = substr($rbuf{$r}, 0, $i + 1, '');
            chomp $line;
            if ($line =~ /^W (\d+) (\S+) (\S+)$/) {
                $now{$1} = [$2, $3];
            } elsif ($line =~ /^L (\S+) (\S+)$/) {
                push @log, [$1, $2];
            } else {
                die "observer: $line\n";
            }
        }
    }
}

# waits until every worker says $status since $t0 (and, with $want_log, the
# log says it too): (first worker's time, last worker's time, log time)
sub wait_all {
    my ($status, $t0, $timeout, $want_log) = @_;
    my $deadline = mono() + $timeout;
    while (1) {
        my @t = map { $now{$_} && $now{$_}[0] eq $status && $now{$_}[1] >= $t0
                          ? $now{$_}[1] : () } @workers;
        my ($l) = grep { $_->[0] eq $status && $_->[1] >= $t0 } @log;
        if (@t == @workers && (!$want_log || $l)) {
            @t = sort { $a <=> $b } @t;
            return ($t[0], $t[-1], $l ? $l->[1] : undef);
        }
        my $left = $deadline - mono();
        return if $left <= 0;
        pump($left < 0.05 ? $left : 0.05);
    }
}

# lets $secs (plus a random 0-20 ms) pass while reading the observers: the
# next trigger then falls at a random point of the pollers' cycle, not at a
# fixed offset from their last report
sub settle {
    my ($secs) = @_;
    my $end = mono() + $secs + rand 0.02;
    while ((my $left = $end - mono()) > 0) {
        pump($left);
    }
}

sub says_now {
    my ($status) = @_;
    pump(0) while $sel->can_read(0);
    return @workers == grep { $now{$_} && $now{$_}[0] eq $status } @workers;
}

wait_for(sub { pump(0.01); keys %now == @workers }, 5)
    or die "the pollers did not report\n";
says_now('idle') or die "the channel is not idle at the start\n";


# publish runs ---------------------------------------------------------------

my $key = `REDIS_PORT=$REDIS_PORT '$REPO/scripts/streamline-key' add $CHANNEL`;
chomp $key;
$? == 0 && $key or die "scripts/streamline-key add failed\n";

my @FFMPEG = ('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
    '-g', '50', '-f', 'flv');

my (%ms, $ffmpeg_err);
$ffmpeg_err = "$dir/ffmpeg.stderr";
for my $run (1 .. $RUNS) {
    says_now('idle') or die "run $run: not idle before publishing\n";
    @log = ();

    my $t0 = mono();
    my $pid = spawn('ffmpeg', undef, $ffmpeg_err, @FFMPEG,
        "rtmp://127.0.0.1:$RTMP_PORT/live/$key");
    my ($first, $last, $logt) = wait_all('live', $t0, 15, 1)
        or die "run $run: not live in every worker within 15 s\n"
            . `tail -5 $ffmpeg_err; tail -10 $errlog`;
    push @{$ms{start_first}}, ($first - $t0) * 1000;
    push @{$ms{start_all}},   ($last - $t0) * 1000;
    push @{$ms{log_first}},   ($first - $logt) * 1000;
    push @{$ms{log_all}},     ($last - $logt) * 1000;

    # hold it a little, as a stream would
    settle(0.1);
    my $t1 = mono();
    stop_pid($pid);
    forget($pid);
    ($first, $last, $logt) = wait_all('idle', $t1, 15, 1)
        or die "run $run: not idle in every worker within 15 s\n"
            . `tail -10 $errlog`;
    push @{$ms{idle_log_all}}, ($last - $logt) * 1000;
    settle(0.1);
}


# event runs -----------------------------------------------------------------

my $last_ms = 0;
sub event {
    my ($status) = @_;
    my $ms = int(time * 1000);
    $ms = $last_ms + 1 if $ms <= $last_ms;
    $last_ms = $ms;
    my $iso = strftime('%Y-%m-%dT%H:%M:%S', gmtime int($ms / 1000))
        . sprintf('.%03dZ', $ms % 1000);
    return qq({"channel":"$CHANNEL","status":"$status","updatedAt":"$iso"});
}

my %receivers;
for my $run (1 .. $EVENT_RUNS) {
    says_now('idle') or die "event run $run: not idle before the live event\n";
    my $ev = event('live');
    my $t0 = mono();
    $receivers{redis('PUBLISH', 'streamline:events', $ev)}++;
    my ($first, $last) = wait_all('live', $t0, 5)
        or die "event run $run: not live in every worker within 5 s\n";
    push @{$ms{event_live}}, ($last - $t0) * 1000;
    settle(0.05);

    $ev = event('idle');
    $t0 = mono();
    $receivers{redis('PUBLISH', 'streamline:events', $ev)}++;
    ($first, $last) = wait_all('idle', $t0, 5)
        or die "event run $run: not idle in every worker within 5 s\n";
    push @{$ms{event_first}}, ($first - $t0) * 1000;
    push @{$ms{event_all}},   ($last - $t0) * 1000;
    settle(0.05);
}


# report ---------------------------------------------------------------------

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    my $i = int($p / 100 * @v + 0.999999) - 1;
    return $v[$i < 0 ? 0 : $i];
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my @rows = (
    [start_all    => 'ffmpeg start -> every worker live'],
    [start_first  => 'ffmpeg start -> first worker live'],
    [log_all      => '"is live" in error.log -> every worker live'],
    [log_first    => '"is live" in error.log -> first worker live'],
    [idle_log_all => '"is idle" in error.log -> every worker idle'],
    [event_all    => 'PUBLISH idle event -> every worker idle'],
    [event_first  => 'PUBLISH idle event -> first worker idle'],
    [event_live   => 'PUBLISH live event -> every worker live'],
);

printf "workers %s (pids %s), poll every %s ms per worker, log tailed every 0.25 ms\n",
    scalar @workers, join(' ', @workers), $POLL_MS;
printf "publish runs %d, event runs %d; PUBLISH reached %s subscriber(s)\n",
    $RUNS, $EVENT_RUNS, join('/', sort keys %receivers);
print "\n";
printf "%-46s %5s %8s %8s %8s %8s\n", 'ms', 'n', 'median', 'p95', 'min', 'max';
for my $row (@rows) {
    my ($k, $label) = @$row;
    my @v = @{$ms{$k} || []} or next;
    printf "%-46s %5d %8.1f %8.1f %8.1f %8.1f\n", $label, scalar @v,
        median(@v), pct(95, @v), (sort { $a <=> $b } @v)[0, -1];
}
print "\nper run (ms):\n";
for my $k (qw(start_all log_all idle_log_all event_all)) {
    printf "  %-13s %s\n", $k, join ' ', map { sprintf '%.1f', $_ } @{$ms{$k}};
}
my @bad = grep { /\[(alert|emerg|crit)\]/ } do {
    open my $fh, '<', $errlog or die; <$fh> };
print "\nerror.log: ", (@bad ? "CHECK: @bad" : 'no [crit], [alert] or [emerg] lines'), "\n";
exit(@bad ? 1 : 0);
