#!/usr/bin/perl

# bench/held.pl [N]: how many blocking LL-HLS playlist requests the origin
# holds at once, and how fast they are all answered once the part they
# wait for appears.
#
# One nginx (2 workers, reuseport) with a live channel (ffmpeg publishing a
# small test source; segments 1 s, parts 250 ms).  The client,
# bench/held_client.c (built here with cc), opens N keep-alive connections
# (default 5000) and, ROUNDS times (default 5), sends on each
# "GET index.m3u8?_HLS_msn=M&_HLS_part=0" for the first part of a segment
# that is not there yet, then notes when each whole answer arrived,
# against the moment inotify reports the part file renamed into the media
# directory (the packager writes a part, renames it, then indexes it).
# The client runs on the same 2 cores as nginx and ffmpeg: its own reading
# of N sockets is part of the figure.  Then bench/held_floor.c does the
# same without nginx: N answers of the same size written by two processes
# (one writev each) to N loopback connections, read by the same kind of
# client, for what the loopback alone costs on this machine.  Needs
# `ulimit -n` above 2N.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep stat);

my $n = shift // 5000;
my $rounds = $ENV{ROUNDS} // 5;
my $log = $ENV{LOG_LEVEL} // 'notice';    # error.log's level (KEEP=1 keeps it)
my $top = `cd "\$(dirname "$0")/.." && pwd`; chomp $top;
my $build = $ENV{BUILD_DIR} // "$top/build";
my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $dir = tempdir('/tmp/streamline-held.XXXXXX', CLEANUP => !$ENV{KEEP});
chmod 0755, $dir;

my $client = "$dir/held_client";
system('cc', '-O2', '-Wall', '-o', $client, "$top/bench/held_client.c") == 0
    or die "cannot build bench/held_client.c\n";

sub port { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0');
           my $p = $s->sockport; close $s; $p }
my ($rtmp, $http, $rport) = (port(), port(), port());
my @kids;
# the publisher first, then nginx, then redis; each gone before the temp dir
END { local $?; for (reverse @kids) { kill 'TERM', $_; waitpid $_, 0; } }

sub spawn { my $pid = fork // die; if (!$pid) { exec @_ or POSIX::_exit(127) }
            push @kids, $pid; $pid }

spawn('redis-server', '--port', $rport, '--save', '', '--appendonly', 'no',
      '--dir', $dir, '--logfile', "$dir/redis.log");
sleep 0.5;
my $key = 'held-' . join '', map { sprintf '%02x', int rand 256 } 1 .. 8;
system("REDIS_PORT=$rport $top/scripts/streamline-key set main $key >/dev/null") == 0
    or die "streamline-key failed\n";

open my $c, '>', "$dir/nginx.conf" or die;
print $c <<"EOF";
load_module $build/modules/ngx_rtmp_module.so;
load_module $build/modules/ngx_streamline_module.so;
worker_processes 2;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log $log;
events { worker_connections 8192; }
streamline_redis 127.0.0.1:$rport;
rtmp {
    access_log off;
    server {
        listen 127.0.0.1:$rtmp;
        application live {
            live on;
            streamline on;
            streamline_media_path $dir/media;
            streamline_segment 1s;
            streamline_part 250ms;
        }
    }
}
http {
    access_log off;
    client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
    server {
        listen 127.0.0.1:$http reuseport backlog=8192;
        location /hls/ { alias $dir/media/; streamline_hls; }
    }
}
EOF
close $c;

spawn($nginx, '-p', $dir, '-c', "$dir/nginx.conf", '-e', "$dir/error.log",
      '-g', 'daemon off;');
sleep 1;
spawn(qw(ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i
         testsrc2=size=320x240:rate=30 -c:v libx264 -preset ultrafast -g 30
         -keyint_min 30 -sc_threshold 0 -pix_fmt yuv420p -f flv),
      "rtmp://127.0.0.1:$rtmp/live/$key");

sub get {
    my ($path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$http") or return '';
    print $s "GET $path HTTP/1.0\r\nHost: x\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    return $r;
}

my $msn;
for (1 .. 200) {
    my $pl = get('/hls/main/source/index.m3u8');
    my @segs = $pl =~ /^seg-(\d+)\.m4s$/mg;
    if (@segs) {
        $msn = $segs[-1];
        last;
    }
    sleep 0.1;
}
die "no playlist\n" unless defined $msn;

# the first part of the segment after the open one (the most that may be
# asked, RFC 8216bis 6.2.5.2): at least 1 s away, time for all N
# connections to be made and their requests sent
my @cmd = ($client, $http, '/hls/main/source', "$dir/media/main/source",
           $n, $rounds, $msn + 2);
print "client: bench/held_client $http /hls/main/source MEDIA_DIR $n $rounds MSN\n";
open my $out, '-|', @cmd or die "cannot run the client\n";
my ($bytes, $rc);
while (<$out>) {
    print;
    $bytes = $1 if /answers of (\d+) bytes/;
}
close $out;
$rc = $? == 0 ? 0 : 1;

# the same number of answers written to loopback sockets by two bare
# processes, read by the same kind of client: what this machine's
# loopback costs without nginx (FLOOR=0 skips it)
if (($ENV{FLOOR} // 1) && $bytes) {
    kill 'STOP', @kids;         # the publisher and nginx keep still meanwhile
    system('cc', '-O2', '-Wall', '-o', "$dir/held_floor", "$top/bench/held_floor.c") == 0
        or die "cannot build bench/held_floor.c\n";
    print "floor: bench/held_floor $n $bytes $rounds\n";
    system("$dir/held_floor", $n, $bytes, $rounds) == 0 or $rc = 1;
    kill 'CONT', @kids;
}
exit $rc;
