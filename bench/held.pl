#!/usr/bin/perl

# bench/held.pl [N]: how many blocking LL-HLS playlist requests the origin
# holds at once, and how fast they are all answered once the part they
# wait for is written.
#
# One nginx (2 workers, reuseport) with a live channel (ffmpeg publishing a
# small test source; segments 1 s, parts 250 ms).  N connections (default
# 5000) each send "GET index.m3u8?_HLS_msn=M&_HLS_part=P" for the part
# after the one the preload hint names (so that all N requests are sent
# before it exists: 250 ms to 500 ms ahead).  Every answer's arrival is
# compared with the part file's modification time (written, then renamed,
# by the packager thread just before the index says so).  The client runs
# on the same 2 cores as nginx and ffmpeg: its own reading of 5000 sockets
# is part of the figure.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Poll qw(POLLIN POLLOUT);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep stat);

my $n = shift // 5000;
my $top = `cd "\$(dirname "$0")/.." && pwd`; chomp $top;
my $build = $ENV{BUILD_DIR} // "$top/build";
my $nginx = $ENV{NGINX_BIN} // '/usr/sbin/nginx';
my $dir = tempdir('/tmp/streamline-held.XXXXXX', CLEANUP => 1);
chmod 0755, $dir;

sub port { my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0');
           my $p = $s->sockport; close $s; $p }
my ($rtmp, $http, $rport) = (port(), port(), port());
my @kids;
END { kill 'TERM', @kids if @kids; }

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
error_log $dir/error.log notice;
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

my ($msn, $part);
for (1 .. 200) {
    my $pl = get('/hls/main/source/index.m3u8');
    if ($pl =~ /^seg-/m && $pl =~ /PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/) {
        ($msn, $part) = ($1, $2 + 1);
        # 4 parts of 250 ms a 1 s segment
        ($msn, $part) = ($msn + 1, 0) if $part > 3;
        last;
    }
    sleep 0.1;
}
die "no playlist\n" unless defined $msn;

# open all connections and send the requests
my $poll = IO::Poll->new;
my (%buf, %sent, %done);
my $req = "GET /hls/main/source/index.m3u8?_HLS_msn=$msn&_HLS_part=$part HTTP/1.0\r\nHost: x\r\n\r\n";
my $opened = 0;
for (1 .. $n) {
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$http", Blocking => 0)
        or last;
    $poll->mask($s => POLLOUT);
    $buf{$s} = '';
    $opened++;
}

my $t_sent;
my $deadline = time + 20;
while ((my $left = $poll->handles) && time < $deadline) {
    $poll->poll(0.5);
    for my $s ($poll->handles(POLLOUT)) {
        syswrite($s, $req);
        $sent{$s} = 1;
        $poll->mask($s => POLLIN);
        $t_sent = time if keys %sent == $opened;
    }
    for my $s ($poll->handles(POLLIN)) {
        my $got = sysread($s, my $chunk, 65536);
        if ($got) { $buf{$s} .= $chunk; next; }
        $done{$s} = time;                     # EOF: HTTP/1.0, answer complete
        $poll->remove($s);
        close $s;
    }
}

my $file = "$dir/media/main/source/part-$msn.$part.m4s";
my $mtime = (stat $file)[9];
my @ok = grep { $buf{$_} =~ m{^HTTP/1\.[01] 200} && $buf{$_} =~ /part-$msn\.$part\.m4s/ } keys %done;
my @lat = sort { $a <=> $b } map { ($done{$_} - $mtime) * 1000 } @ok;
my $pct = sub { $lat[int($_[0] * $#lat)] // 0 };

printf "held blocking requests: %d opened, %d sent, %d answered with the part\n",
    $opened, scalar(keys %sent), scalar(@ok);
printf "all sent %.0f ms before the part was written\n",
    ($mtime - ($t_sent // $mtime)) * 1000;
printf "answer after the part file was written: first %.1f ms, median %.1f ms, "
     . "p99 %.1f ms, last %.1f ms (goal: all within 10 ms)\n",
    $lat[0] // 0, $pct->(0.5), $pct->(0.99), $lat[-1] // 0;
printf "spread, first to last answer: %.1f ms (the file's mtime is the kernel's "
     . "coarse clock: a few ms either way)\n", ($lat[-1] // 0) - ($lat[0] // 0);
