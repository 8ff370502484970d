#!/usr/bin/perl

# RTMPS ingest with the shipped origin.conf, rendered with the plain-RTMP
# listener switched off (RTMP_LISTEN_LINE empty): nginx's stream module
# (Debian's libnginx-mod-stream) ends TLS and hands the stream to
# nginx-rtmp's loopback listener with a PROXY protocol header.  ffmpeg
# publishes over rtmps:// with the key and goes live; a wrong key is
# refused; the broadcaster's own address (::1, while the proxy talks to
# nginx-rtmp over 127.0.0.1) is what the logs see; without TLS and the
# PROXY header nothing publishes; the key is in no log.

use strict;
use warnings;

use File::Path qw(make_path);
use IO::Socket::IP;
use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $dir = $t->testdir;
my $repo = $Streamline::Test::REPO;

$t->start_redis;
make_path("$dir/origin/logs", "$dir/origin/tmp", "$dir/html");
$t->write_file('html/index.html', "<!doctype html><title>Streamline</title>\n");

my ($cert, $key_file) = split /\n/,
    Streamline::Test::_capture("$repo/scripts/tls-cert.sh", "$dir/tls",
                               'localhost', '127.0.0.1', '::1');
BAIL_OUT("scripts/tls-cert.sh: $cert") if $? || !-f $key_file;
my $stream_module = Streamline::Test::_capture("$repo/scripts/stream-module.sh",
    Streamline::Test::nginx_bin());
BAIL_OUT("scripts/stream-module.sh: $stream_module") if $?;
chomp $stream_module;

# the broadcaster over IPv6 loopback where there is one: the proxy reaches
# nginx-rtmp over 127.0.0.1, so ::1 in its logs came in the PROXY header
my $v6 = IO::Socket::IP->new(LocalHost => '::1', LocalPort => 0,
                             Listen => 1) ? 1 : 0;
my $host = $v6 ? '[::1]' : '127.0.0.1';
my $rtmps = $t->port('RTMPS');
my $internal = $t->port('RTMP_INTERNAL');

my $out = Streamline::Test::_capture("$repo/scripts/render-conf.sh",
    "$repo/nginx-conf/origin.conf", "$dir/origin/nginx.conf",
    'RTMP_LISTEN_LINE=',
    "RTMPS_PORT=$host:$rtmps",
    "RTMP_INTERNAL=127.0.0.1:$internal",
    "TLS_CERT=$cert", "TLS_KEY=$key_file",
    "STREAM_MODULE_LINE=$stream_module",
    'HTTP_PORT=127.0.0.1:' . $t->port('HTTP'),
    'REDIS_ADDR=127.0.0.1:' . $t->port('REDIS'),
    'ORIGIN_ADDRESS=127.0.0.1:' . $t->port('HTTP'),
    "PREFIX=$dir/origin", 'MODULES=' . $t->modules_dir, "HTML=$dir/html",
    'ORIGIN_SECRET_LINE=', 'METRICS_ADDR=127.0.0.1:' . $t->port('METRICS'));
is($?, 0, 'origin.conf renders with RTMPS only') or diag $out;

my $conf = $t->read_file('origin/nginx.conf');
my ($rtmp_block) = $conf =~ /^rtmp \{(.*?)^\}/ms;
my @listen = ($rtmp_block // '') =~ /^\s*listen\s+([^;]+);/mg;
is_deeply(\@listen, ["127.0.0.1:$internal proxy_protocol"],
    'nginx-rtmp listens on loopback only, for the PROXY protocol')
    or diag explain \@listen;

my $origin = $t->nginx('origin');
$origin->conf_file("$dir/origin/nginx.conf");
my $rc;
($rc, $out) = $origin->test;
is($rc, 0, 'nginx -t') or diag $out;
$t->watch_log("$dir/origin/logs/error.log");
$origin->start;

my $url = "rtmps://$host:$rtmps/live";
my $key = random_key();
$t->add_key(main => $key);

# a wrong key, over RTMPS: refused, with the broadcaster's address
my $bad = random_key('bad');
my $pub = $t->publish($bad, url => $url);
my $code = $pub->wait(10);
ok(defined $code && $code != 0, 'a wrong key over RTMPS is refused')
    or diag 'exit ' . ($code // 'none') . ': ' . $pub->stderr;
my $log = "$dir/origin/logs/error.log";
my @refused = $t->log_lines(qr/publish refused: unknown stream key/, $log);
ok(@refused, 'and logged');
SKIP: {
    skip 'no IPv6 loopback here: the address is 127.0.0.1 either way', 1
        unless $v6;
    like($refused[0] // '', qr/client: ::1\b/,
        'the refusal names the broadcaster (::1), not the proxy');
}

# plain RTMP straight to nginx-rtmp's listener: no PROXY header, no stream
my $plain = $t->publish($key, url => "rtmp://127.0.0.1:$internal/live");
$code = $plain->wait(10);
ok(defined $code && $code != 0,
    'plain RTMP to the loopback listener (no PROXY header) is refused');
my (undef, $j) = $t->api(undef);
is($j && $j->{status}, 'idle', 'and nothing went live');

# the key over RTMPS: live, and the media comes
$pub = $t->publish($key, url => $url);
ok(wait_for(sub {
    my (undef, $j) = $t->api(undef);
    $j && $j->{status} eq 'live';
}, 10), 'the key over RTMPS: live') or diag $pub->stderr;
ok(wait_for(sub {
    my $r = $t->get('/hls/main/source/index.m3u8');
    $r->{status} == 200 && $r->{body} =~ /^seg-\d+\.m4s$/m;
}, 15), 'and its playlist has a segment') or diag $pub->stderr;

# a reload while the broadcaster streams over RTMPS: the stream goes on
sub last_msn {
    my $r = $t->get('/hls/main/source/index.m3u8');
    my @n = $r->{body} =~ /^seg-(\d+)\.m4s$/mg;
    return @n ? $n[-1] : -1;
}
my $before = last_msn();
my %old = map { $_ => 1 } $origin->worker_pids;
kill 'HUP', $origin->{pid};
ok(wait_for(sub { grep { !$old{$_} } $origin->worker_pids }, 10),
    'a reload while live over RTMPS: new workers');
ok(wait_for(sub { last_msn() >= $before + 2 }, 15),
    'the stream goes on through it (new segments)') or diag $pub->stderr;
ok($pub->alive, 'the broadcaster stayed connected');
is($t->api_status, 'live', 'and live');

$pub->stop;
ok(wait_for(sub {
    my (undef, $j) = $t->api(undef);
    $j && $j->{status} eq 'idle';
}, 10), 'the publisher gone: idle');

# nginx-rtmp's access log: one line a session, written as it ends
ok(wait_for(sub {
    grep { /PUBLISH "live" "main"/ }
        split /\n/, $t->read_file('origin/logs/rtmp-access.log') // '';
}, 5), 'rtmp-access.log has the publish of "main"');
SKIP: {
    skip 'no IPv6 loopback here', 1 unless $v6;
    my @lines = grep { /PUBLISH "live" "main"/ }
        split /\n/, $t->read_file('origin/logs/rtmp-access.log') // '';
    like($lines[0] // '', qr/^::1 /, 'from the broadcaster\'s address (::1)')
        or diag explain \@lines;
}

# nginx stopped (TERM, as Ctrl-C and docker stop) while it streams over
# RTMPS: the stream ends and the channel is idle in Redis
$pub = $t->publish($key, url => $url);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'live over RTMPS again');
kill 'TERM', $origin->{pid};
ok(wait_for(sub { !$origin->alive }, 15), 'TERM: nginx stops in seconds');
my $state = $t->redis('GET', 'streamline:state:main') // '';
like($state, qr/"status":"idle"/, 'and left the channel idle in Redis');
$pub->stop;

my @leaks = grep { /\Q$key\E|\Q$bad\E/ }
    map { split /\n/, $t->read_file($_) // '' }
    glob("$dir/origin/logs/*.log");
is_deeply(\@leaks, [], 'the keys are in no log');

done_testing;
