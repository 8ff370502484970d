#!/usr/bin/perl

# Stopping takes seconds while a broadcaster streams (OBS never stops by
# itself), and ends the channel cleanly (idle, the owner lock released):
#  - scripts/run.sh (make run) on SIGTERM, what a supervisor or kill sends;
#  - the container's entrypoint (docker/entrypoint.sh, which execs nginx)
#    on SIGTERM, what docker stop sends (the Dockerfile keeps Docker's
#    default stop signal);
#  - nginx -s quit (SIGQUIT, graceful): the worker ends its publishers,
#    since no newer worker takes over;
#  - TERM after a reload, while the old worker still holds the publisher.

use strict;
use warnings;

use Test::More;
use File::Path qw(make_path);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $STOP = $ENV{SANITIZE} ? 20 : 10;     # seconds a stop may take

my $t = Streamline::Test->new;
my $repo = $Streamline::Test::REPO;
my @light = (size => '640x360', rate => 25,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 50 -keyint_min 50
                  -sc_threshold 0 -pix_fmt yuv420p)]);

sub spawn {
    my ($what, $cmd, $env, $out) = @_;
    my $pid = Streamline::Test::_spawn(cmd => $cmd, env => $env,
        stdout => $out, stderr => $out);
    return $t->_track(Streamline::Test::Proc->new(pid => $pid,
        what => $what));
}

# publishes with key until live and packaged, stops $proc with $signal:
# how long it took, whether the channel went idle
sub live_then_stop {
    my ($name, $proc, $key, $signal, $before) = @_;
    my $pub = publish_media($t, $key, @light);
    ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 20),
       "$name: live") or diag $pub->stderr;
    ok(wait_for(sub {
           my (undef, $pl) = get_media($t, 'main', 'source');
           $pl && @{$pl->{segments}} >= 1 }, 30),
       "$name: packaged");
    $before->() if $before;
    my $events = $t->subscribe('streamline:events');

    ok($pub->alive, "$name: the broadcaster streams when the stop begins");
    my $t0 = time;
    kill $signal, $proc->pid;
    my $stopped = wait_for(sub { !$proc->alive }, $STOP);
    ok($stopped, sprintf "$name: SIG$signal stops within $STOP s "
        . '(took %.1f s)', time - $t0);
    ok(wait_for(sub { grep { /"status":"idle"/ } $events->messages }, 5),
       "$name: idle announced") or diag join "\n", $events->messages;
    $pub->stop;
    $events->stop;
    return $stopped;
}


# scripts/run.sh ---------------------------------------------------------------

my $run = "$t->{dir}/run";
my $key = random_key('run');
my $out = "$t->{dir}/run.out";
my $proc = spawn('scripts/run.sh', ["$repo/scripts/run.sh"], {
    RTMP_PORT => $t->port('RTMP'), HTTP_PORT => $t->port('HTTP'),
    REDIS_PORT => $t->port('REDIS'), METRICS_PORT => $t->port('METRICS'),
    RTMPS_PORT => $t->port('RTMPS'),
    RTMP_INTERNAL_PORT => $t->port('RTMP_INTERNAL'),
    RUN_DIR => $run,
    BUILD_DIR => dirname_of($t->modules_dir), STREAMLINE_KEY => $key,
    NGINX_BIN => Streamline::Test::nginx_bin(),
    %{Streamline::Test::Nginx::sanitizer_env()},
}, $out);
$t->watch_log("$run/logs/error.log");

sub dirname_of { my ($p) = @_; $p =~ s{/[^/]+/?$}{}; $p }

ok(wait_for(sub { -s "$run/nginx.pid" && $t->api_status }, 60),
   'run.sh: started') or diag $t->read_file($out);
my $nginx = ($t->read_file("$run/nginx.pid") // '') =~ /(\d+)/ ? $1 : 0;
if (live_then_stop('run.sh', $proc, $key, 'TERM')) {
    ok(!kill(0, $nginx), 'run.sh: nginx is gone too');
    like($t->read_file($out) // '', qr/streamline stopped/,
         'run.sh: says so');
}
$proc->stop if $proc->alive;
kill 'KILL', $nginx if $nginx && kill 0, $nginx;
is(scalar $t->log_lines(qr/exited on signal/, "$run/logs/error.log"), 0,
   'run.sh: no worker was killed');


# docker/entrypoint.sh -----------------------------------------------------------

# the image's layout (Dockerfile), made of links to the build
my $home = "$t->{dir}/opt";
make_path("$home/sbin", "$home/scripts", "$home/html");
symlink Streamline::Test::nginx_bin(), "$home/sbin/nginx";
symlink $t->modules_dir, "$home/modules";
symlink "$repo/nginx-conf", "$home/nginx-conf";
symlink "$repo/scripts/$_", "$home/scripts/$_"
    for qw(render-conf.sh streamline-key tls-cert.sh stream-module.sh);

$t->start_redis;
$key = random_key('docker');
$t->add_key(main => $key);
$out = "$t->{dir}/entrypoint.out";
$proc = spawn('docker/entrypoint.sh', ["$repo/docker/entrypoint.sh"], {
    RTMP_PORT => $t->port('RTMP'), HTTP_PORT => $t->port('HTTP'),
    RTMPS_PORT => '127.0.0.1:' . $t->port('RTMPS'),
    RTMP_INTERNAL => '127.0.0.1:' . $t->port('RTMP_INTERNAL'),
    REDIS_ADDR => '127.0.0.1:' . $t->port('REDIS'),
    METRICS_ADDR => '127.0.0.1:' . $t->port('METRICS'),
    RUN_DIR => "$t->{dir}/docker", STREAMLINE_HOME => $home,
    %{Streamline::Test::Nginx::sanitizer_env()},
}, $out);
$t->watch_log($out);

ok(wait_for(sub { $t->api_status }, 30), 'entrypoint: started')
    or diag $t->read_file($out);
live_then_stop('entrypoint', $proc, $key, 'TERM');
$proc->stop if $proc->alive;
is(scalar $t->log_lines(qr/exited on signal/, $out), 0,
   'entrypoint: no worker was killed');
is($t->redis('EXISTS', 'streamline:owner:main'), 0,
   'entrypoint: owner lock released');


# nginx -s quit ------------------------------------------------------------------

$t->write_conf(media_conf(app => 'streamline_segment 1s;'));
$t->run;
live_then_stop('nginx -s quit', $t->nginx, $key, 'QUIT');
is($t->redis('EXISTS', 'streamline:owner:main'), 0,
   'quit: owner lock released');

# TERM while the old worker of a reload still holds the publisher (it
# shuts down gracefully): the session ends as if the publisher left, no
# alert about a connection left open
$t->run;
live_then_stop('reload, then TERM', $t->nginx, $key, 'TERM',
    sub { ok(scalar $t->reload, 'reloaded') });
is($t->redis('EXISTS', 'streamline:owner:main'), 0,
   'reload, then TERM: owner lock released');

done_testing;
