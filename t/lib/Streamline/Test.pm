package Streamline::Test;

# The harness of Streamline's integration tests, in the spirit of
# nginx-tests: every test file gets a fresh directory and free loopback
# ports, starts a real redis-server and a real nginx (with the modules from
# the build directory) and publishes with a real ffmpeg.  Core Perl only.
#
#   use lib 't/lib';
#   use Streamline::Test;
#
#   my $t = Streamline::Test->new;
#   $t->start_redis;
#   $t->write_conf(<<'EOF');
#   ... %%MODULES%% %%RTMP_PORT%% %%HTTP_PORT%% %%REDIS_PORT%% %%TESTDIR%% ...
#   EOF
#   $t->run;
#   $t->add_key(main => 'secret-key');
#   my $pub = $t->publish('secret-key');
#   ...
#   done_testing;
#
# done_testing() stops every process the file started and adds one test:
# the error logs hold no [alert], [emerg] or sanitizer report (see
# expect_log).  Processes are also killed when the file dies.  The
# directory is removed at the end unless STREAMLINE_KEEP=1.
#
# Template variables: %%TESTDIR%% %%MODULES%% %%REPO%% %%RTMP_PORT%%
# %%HTTP_PORT%% %%REDIS_PORT%% %%REDIS_SOCKET%% %%HTTP_TEMP_PATHS%% (the
# http temp paths inside TESTDIR: Debian's defaults are outside it), any
# port('NAME') as %%NAME_PORT%% and any var(NAME => value).  nginx runs in
# the foreground as our child with -g 'daemon off; master_process on;',
# plus a pid file in its directory and "user root" (when we are root)
# unless the configuration sets them.
#
# In brief:
#   nginx      write_conf run reload stop kill9 nginx_t error_log
#              nginx('edge', port => ..., prefix => ...) another instance
#              (prefix: nginx's -p, default its directory): conf_file start
#              reload stop kill9 test worker_pids children worker_of_client
#   redis      start_redis stop_redis restart_redis redis(@cmd) redis_cli
#              subscribe(@channels)->messages add_key del_key keys_file
#              start_redis_named($name, args => [...]) another redis-server
#              on port($name), start_sentinel($name, monitor => $port):
#              objects with command start stop kill port log
#   ffmpeg     publish($key, app =>, port =>)->pid alive wait kill stop stderr
#   http       http($method, $path, headers =>, port =>, body =>, ua =>)
#              get head http_raw api api_status
#   logs       expect_log(qr//) log_lines(qr//, $file) watch_log
#   functions  wait_for(sub, $seconds) json_decode iso_ms now_ms random_key
#              sha256_hex
#
# Environment: NGINX_BIN (default /usr/sbin/nginx), STREAMLINE_BUILD_DIR
# (default <repo>/build; modules are in its modules/), SANITIZE=1 (preload
# the ASan and UBSan runtimes into nginx), STREAMLINE_KEEP=1.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(WNOHANG);
use Test::More ();
use Test2::API qw(test2_add_callback_testing_done);
use Time::HiRes qw(sleep time);
use Time::Local qw(timegm);

our @EXPORT = qw(wait_for keys_file sha256_hex iso_ms now_ms random_key
    json_decode state_conf);

our $REPO = abs_path(dirname(__FILE__) . '/../../..');

# lines that make a test file fail when an error log holds them
our $BAD_LOG = qr/\[alert\]|\[emerg\]|AddressSanitizer|runtime error:|LeakSanitizer/;

my @HARNESSES;
my %PORTS_TAKEN;

# a signal must still run the END block that kills what we started
$SIG{INT}  = sub { exit 130 };
$SIG{TERM} = sub { exit 143 };
$SIG{PIPE} = 'IGNORE';

test2_add_callback_testing_done(sub {
    my (undef, $hub) = @_;
    my $plan = $hub->plan;
    return if defined $plan && $plan eq 'SKIP';
    $_->finish(1) for @HARNESSES;
});

END {
    my $exit = $?;
    local $?;
    my $hub = Test2::API::test2_stack()->top;
    my $skipped = ($hub->plan // '') eq 'SKIP';
    $_->finish(!$skipped) for @HARNESSES;
    $_->cleanup($exit) for @HARNESSES;
}


sub new {
    my ($class) = @_;

    my $dir = tempdir('streamline-XXXXXX', TMPDIR => 1, CLEANUP => 0);
    chmod 0755, $dir;

    my $build = $ENV{STREAMLINE_BUILD_DIR} // "$REPO/build";
    $build = abs_path($build) // $build;

    my $self = bless {
        dir        => $dir,
        ports      => {},
        vars       => {
            TESTDIR => $dir,
            MODULES => "$build/modules",
            REPO    => $REPO,
        },
        nginx      => {},
        procs      => [],
        expected   => [],
        extra_logs => [],
        seq        => 0,
        finished   => 0,
    }, $class;

    $self->port($_) for qw(RTMP HTTP REDIS);
    $self->{vars}{HTTP_TEMP_PATHS} = join "\n        ",
        map { "${_}_temp_path $dir/${_}_temp;" }
            qw(client_body proxy fastcgi uwsgi scgi);

    push @HARNESSES, $self;
    return $self;
}

sub testdir { $_[0]{dir} }
sub modules_dir { $_[0]{vars}{MODULES} }

# A free loopback port under a name: port('EDGE') also defines %%EDGE_PORT%%.
sub port {
    my ($self, $name) = @_;
    return $self->{ports}{$name} if $self->{ports}{$name};

    my $port;
    for (1 .. 50) {
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
            LocalPort => 0, Proto => 'tcp', Listen => 1, ReuseAddr => 1)
            or die "cannot bind a loopback port: $!";
        $port = $s->sockport;
        close $s;
        last unless $PORTS_TAKEN{$port}++;
    }
    $self->{ports}{$name} = $port;
    $self->{vars}{"${name}_PORT"} = $port;
    return $port;
}

sub var {
    my ($self, $name, @value) = @_;
    $self->{vars}{$name} = $value[0] if @value;
    return $self->{vars}{$name};
}

# %%NAME%% -> value (values may hold variables too); an unknown name is a
# bug in the test
sub subst {
    my ($self, $text) = @_;
    for (1 .. 5) {
        $text =~ s{%%([A-Z0-9_]+)%%}{
            defined $self->{vars}{$1} ? $self->{vars}{$1}
                : die "unknown template variable %%$1%%\n"
        }ge or last;
    }
    return $text;
}

sub path {
    my ($self, $rel) = @_;
    return $rel =~ m{^/} ? $rel : "$self->{dir}/$rel";
}

sub write_file {
    my ($self, $rel, $content) = @_;
    my $path = $self->path($rel);
    make_path(dirname($path));
    open my $fh, '>', $path or die "$path: $!";
    print $fh $content;
    close $fh or die "$path: $!";
    return $path;
}

sub read_file {
    my ($self, $rel) = @_;
    my $path = $self->path($rel);
    open my $fh, '<', $path or return undef;
    local $/;
    my $data = <$fh>;
    return $data;
}


# shipped configurations ----------------------------------------------------

# scripts/render-conf.sh on nginx-conf/<in>: (exit code, output)
sub render_conf {
    my ($self, $in, $out, %vars) = @_;
    my $output = _capture("$REPO/scripts/render-conf.sh",
        "$REPO/nginx-conf/$in", $self->path($out),
        map { "$_=$vars{$_}" } sort keys %vars);
    return ($? >> 8, $output);
}

# the load_module line of nginx's stream module, or '' where built in
sub stream_module_line {
    my ($self) = @_;
    return $self->{stream_module} if defined $self->{stream_module};
    my $line = _capture("$REPO/scripts/stream-module.sh", nginx_bin());
    die "scripts/stream-module.sh: $line" if $?;
    chomp $line;
    return $self->{stream_module} = $line;
}

# a self-signed certificate for localhost, 127.0.0.1 and ::1 (made once):
# (certificate, key)
sub tls_cert {
    my ($self) = @_;
    return @{$self->{tls}} if $self->{tls};
    my ($cert, $key) = split /\n/, _capture("$REPO/scripts/tls-cert.sh",
        "$self->{dir}/tls", 'localhost', '127.0.0.1', '::1');
    die "scripts/tls-cert.sh: $cert" if $? || !defined $key || !-f $key;
    $self->{tls} = [$cert, $key];
    return ($cert, $key);
}

# nginx-conf/origin.conf rendered for an origin of its own (a name: its
# ports RTMP_<name>, RTMPS_<name>, HTTP_<name> ..., TESTDIR/<name>), on
# this harness's Redis, recording 127.0.0.1:HTTP_<name> as its address;
# %vars override the placeholders.  Returns the nginx instance (not
# started).
sub shipped_origin {
    my ($self, $name, %vars) = @_;
    my $dir = "$self->{dir}/$name";
    make_path("$dir/logs", "$dir/tmp", "$self->{dir}/html");
    $self->write_file('html/index.html',
        "<!doctype html><title>Streamline</title>\n")
        unless -f "$self->{dir}/html/index.html";
    my ($cert, $key) = $self->tls_cert;
    my $http = '127.0.0.1:' . $self->port("HTTP_\U$name");
    my ($rc, $out) = $self->render_conf('origin.conf', "$dir/nginx.conf",
        RTMP_LISTEN_LINE   => 'listen 127.0.0.1:' . $self->port("RTMP_\U$name") . ';',
        RTMPS_PORT         => '127.0.0.1:' . $self->port("RTMPS_\U$name"),
        RTMP_INTERNAL      => '127.0.0.1:' . $self->port("RTMP_INTERNAL_\U$name"),
        TLS_CERT           => $cert,
        TLS_KEY            => $key,
        STREAM_MODULE_LINE => $self->stream_module_line,
        HTTP_PORT          => $http,
        ORIGIN_ADDRESS     => $http,
        REDIS_ADDR         => '127.0.0.1:' . $self->port('REDIS'),
        PREFIX             => $dir,
        MODULES            => $self->modules_dir,
        HTML               => "$self->{dir}/html",
        ORIGIN_SECRET_LINE => '',
        METRICS_ADDR       => '127.0.0.1:' . $self->port("METRICS_\U$name"),
        %vars);
    die "origin.conf for $name: $out" if $rc;
    my $n = $self->nginx($name, port => $self->port("HTTP_\U$name"));
    $n->conf_file("$dir/nginx.conf");
    $self->watch_log("$dir/logs/error.log");
    return $n;
}


# nginx-conf/edge.conf rendered as TESTDIR/edge on this harness's Redis,
# its page from the origins named (their HTTP_<name> ports), checked with
# nginx -t; %vars override the placeholders.  Returns the nginx instance
# (not started).
sub shipped_edge {
    my ($self, $origins, %vars) = @_;
    my $dir = "$self->{dir}/edge";
    make_path("$dir/logs", "$dir/tmp");
    my ($cert, $key) = $self->tls_cert;
    my ($rc, $out) = $self->render_conf('edge.conf', "$dir/nginx.conf",
        EDGE_PORT     => '127.0.0.1:' . $self->port('EDGE'),
        EDGE_TLS_PORT => '127.0.0.1:' . $self->port('EDGE_TLS'),
        TLS_CERT      => $cert,
        TLS_KEY       => $key,
        # "server" lines of the page's upstream: one per origin
        ORIGIN        => join('; server ',
                          map { '127.0.0.1:' . $self->port("HTTP_\U$_") } @$origins),
        REDIS_ADDR    => '127.0.0.1:' . $self->port('REDIS'),
        SECRET        => 'no-origin-secret-here',
        PREFIX        => $dir,
        MODULES       => $self->modules_dir,
        %vars);
    die "edge.conf: $out" if $rc;
    my $n = $self->nginx('edge', port => $self->port('EDGE'));
    $n->conf_file("$dir/nginx.conf");
    ($rc, $out) = $n->test;
    die "nginx -t: edge.conf: $out" if $rc;
    $self->watch_log("$dir/logs/error.log");
    return $n;
}

# nginx-conf/balancer.conf rendered as TESTDIR/balancer in front of the
# origins named (their RTMP_<name> and RTMPS_<name> ports), listening on
# BALANCER and BALANCER_TLS, checked with nginx -t.  Returns the nginx
# instance (not started: start(no_http => 1)).
sub shipped_balancer {
    my ($self, @origins) = @_;
    my $dir = "$self->{dir}/balancer";
    make_path("$dir/logs");
    my $servers = sub {
        join ' ', map { "server 127.0.0.1:" . $self->port("$_[0]_\U$_") . ';' } @origins;
    };
    my ($rc, $out) = $self->render_conf('balancer.conf', "$dir/nginx.conf",
        RTMP_PORT            => '127.0.0.1:' . $self->port('BALANCER'),
        RTMPS_PORT           => '127.0.0.1:' . $self->port('BALANCER_TLS'),
        ORIGIN_RTMP_SERVERS  => $servers->('RTMP'),
        ORIGIN_RTMPS_SERVERS => $servers->('RTMPS'),
        STREAM_MODULE_LINE   => $self->stream_module_line,
        PREFIX               => $dir);
    die "balancer.conf: $out" if $rc;
    my $n = $self->nginx('balancer', port => $self->port('BALANCER'));
    $n->conf_file("$dir/nginx.conf");
    ($rc, $out) = $n->test;
    die "nginx -t: balancer.conf: $out" if $rc;
    $self->watch_log("$dir/logs/error.log");
    return $n;
}


# nginx ---------------------------------------------------------------------

# The main instance lives in TESTDIR and answers on HTTP_PORT; others
# (an edge, a second origin) get TESTDIR/<name> and their own port.
sub nginx {
    my ($self, $name, %opts) = @_;
    $name //= 'main';
    return $self->{nginx}{$name} if $self->{nginx}{$name};

    my $dir = $name eq 'main' ? $self->{dir} : "$self->{dir}/$name";
    make_path($dir);
    return $self->{nginx}{$name} = Streamline::Test::Nginx->new(
        t      => $self,
        name   => $name,
        dir    => $dir,
        port   => $opts{port} // $self->{ports}{HTTP},
        prefix => $opts{prefix} // "$dir/",
    );
}

sub write_conf { my $self = shift; $self->nginx->write_conf(@_) }
sub run        { my $self = shift; $self->nginx->start(@_); $self }
sub reload     { my $self = shift; $self->nginx->reload(@_) }
sub stop       { my $self = shift; $self->nginx->stop(@_) }
sub kill9      { my $self = shift; $self->nginx->kill9(@_) }
sub error_log  { my $self = shift; $self->nginx->error_log }

# nginx -t on a template (or on the main instance's nginx.conf):
# returns (exit code, stdout + stderr).  Its messages go to a log of their
# own, so that expected [emerg] lines stay out of error.log.
sub nginx_t {
    my ($self, $template) = @_;
    my $conf = defined $template
        ? $self->write_file('t-' . ($self->{seq} + 1) . '.conf',
              $self->subst($template))
        : $self->nginx->conf_path;
    return $self->nginx_t_file($conf);
}

# nginx -t on a configuration file as it is; nginx_t_file($conf,
# prefix => '/usr/share/nginx/') with another -p than TESTDIR
sub nginx_t_file {
    my ($self, $conf, %o) = @_;
    my $n = ++$self->{seq};
    my @cmd = (nginx_bin(), '-t', '-p', $o{prefix} // "$self->{dir}/",
        '-c', $conf,
        '-e', "$self->{dir}/t-$n.log",
        '-g', Streamline::Test::Nginx::globals("$self->{dir}/t-$n.pid",
            $self->read_file($conf)));
    my $out = _capture({ env => Streamline::Test::Nginx::sanitizer_env() },
        @cmd);
    return ($? >> 8, $out);
}

sub nginx_bin { $ENV{NGINX_BIN} // '/usr/sbin/nginx' }

# runs a command, returns its stdout and stderr; _capture({ env => {} }, ...)
# adds to its environment
sub _capture {
    my $o = ref $_[0] eq 'HASH' ? shift : {};
    my @cmd = @_;
    my $pid = open my $fh, '-|' // die "fork: $!";
    if ($pid == 0) {
        _child_signals();
        open STDERR, '>&', \*STDOUT;
        open STDIN, '<', '/dev/null';
        $ENV{$_} = $o->{env}{$_} for keys %{$o->{env} || {}};
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;    # sets $?: nginx_t and redis_cli read it
    return $out;
}

sub _child_signals {
    $SIG{$_} = 'DEFAULT' for qw(INT TERM PIPE HUP QUIT CHLD);
}

sub _spawn {
    my (%o) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        _child_signals();
        open STDIN, '<', '/dev/null';
        if ($o{stdout}) {
            open STDOUT, '>>', $o{stdout} or POSIX::_exit(126);
        } else {
            open STDOUT, '>', '/dev/null';
        }
        if ($o{stderr}) {
            open STDERR, '>>', $o{stderr} or POSIX::_exit(126);
        } else {
            open STDERR, '>&', \*STDOUT;
        }
        $ENV{$_} = $o{env}{$_} for keys %{$o{env} || {}};
        exec { $o{cmd}[0] } @{$o{cmd}} or POSIX::_exit(127);
    }
    return $pid;
}


# logs ----------------------------------------------------------------------

# Declares error log lines a test provokes on purpose (a regexp): they do not
# fail the file.
sub expect_log {
    my ($self, $re) = @_;
    push @{$self->{expected}}, $re;
}

# Lines of the main error.log (or of another file) matching a regexp.
sub log_lines {
    my ($self, $re, $file) = @_;
    my $data = $self->read_file($file // $self->nginx->error_log) // '';
    return grep { $_ =~ $re } split /\n/, $data;
}

sub bad_log_lines {
    my ($self) = @_;
    my @bad;
    for my $file ($self->error_logs) {
        my $data = $self->read_file($file) // next;
        LINE: for my $line (split /\n/, $data) {
            next unless $line =~ $BAD_LOG;
            for my $re (@{$self->{expected}}) {
                next LINE if $line =~ $re;
            }
            push @bad, "$file: $line";
        }
    }
    return @bad;
}

# another log file to check at the end (e.g. the error_log a shipped
# configuration names)
sub watch_log {
    my ($self, $path) = @_;
    push @{$self->{extra_logs}}, $self->path($path);
}

sub error_logs {
    my ($self) = @_;
    return map({ $_->error_log } values %{$self->{nginx}}),
        @{$self->{extra_logs}};
}


# processes and the end of a file --------------------------------------------

sub _track { my ($self, $obj) = @_; push @{$self->{procs}}, $obj; $obj }

sub stop_all {
    my ($self) = @_;
    for my $p (reverse @{$self->{procs}}) {
        $p->stop if $p->alive;
    }
    for my $n (values %{$self->{nginx}}) {
        $n->stop if $n->{pid};
        $n->kill_leftovers;
    }
    $self->{redis}->stop if $self->{redis} && $self->{redis}->alive;
}

sub finish {
    my ($self, $report) = @_;
    return if $self->{finished};
    local $?;    # waitpid below must not change the exit status of the file

    $self->stop_all;

    if ($report) {
        $self->{finished} = 1;
        my @bad = $self->bad_log_lines;
        Test::More::ok(!@bad, 'no alerts or sanitizer reports in error logs')
            or Test::More::diag(join "\n", @bad[0 .. ($#bad < 30 ? $#bad : 29)]);
    }
}

sub cleanup {
    my ($self, $exit) = @_;
    return if $self->{cleaned}++;

    my $failed = $exit || !Test::More->builder->is_passing;
    if ($failed) {
        for my $file ($self->error_logs) {
            my $data = $self->read_file($file) // next;
            my @l = split /\n/, $data;
            @l = @l[-25 .. -1] if @l > 25;
            Test::More::diag("last lines of $file:\n", join "\n", @l) if @l;
        }
    }

    if ($ENV{STREAMLINE_KEEP}) {
        Test::More::diag("test directory kept: $self->{dir}");
    } else {
        remove_tree($self->{dir});
    }
}


# redis ---------------------------------------------------------------------

# start_redis(unixsocket => 1) also listens on TESTDIR/redis/redis.sock
# (%%REDIS_SOCKET%%).
sub start_redis {
    my ($self, %opts) = @_;
    $self->{redis} //= Streamline::Test::Redis->new(t => $self, %opts);
    $self->{redis}->start;
    return $self->{redis};
}

sub stop_redis    { $_[0]{redis}->stop }

# restart_redis(args => [...], loading => 1): args are added to
# redis-server's command line; with loading it returns as soon as the port
# accepts connections, while the server may still load its dump
sub restart_redis {
    my ($self, %o) = @_;
    my $r = $self->{redis};
    $r->stop if $r->alive;
    $r->start(%o);
}
sub redis_server  { $_[0]{redis} }

# start_redis_named('replica', args => ['--replicaof', '127.0.0.1', $port]):
# one more redis-server, on port('REPLICA') (%%REPLICA_PORT%%), in
# TESTDIR/redis-replica; stopped at the end like the others.
sub start_redis_named {
    my ($self, $name, %o) = @_;
    my $r = Streamline::Test::Redis->new(t => $self, name => $name,
        port => $self->port(uc $name));
    $self->_track($r);
    return $r->start(%o);
}

# start_sentinel('s1', monitor => $master_port, name => 'mymaster',
# quorum => 2, down_after => 1000, failover_timeout => 3000): a sentinel
# (redis-server --sentinel) on port('S1'), watching 127.0.0.1:$master_port.
sub start_sentinel {
    my ($self, $name, %o) = @_;
    my $master = $o{name} // 'mymaster';
    my $r = Streamline::Test::Redis->new(t => $self, name => $name,
        port => $self->port(uc $name), sentinel => 1);
    # a sentinel rewrites its configuration file: one of its own
    $self->write_file("redis-$name/sentinel.conf", join '',
        "sentinel monitor $master 127.0.0.1 $o{monitor} "
            . ($o{quorum} // 2) . "\n",
        "sentinel down-after-milliseconds $master "
            . ($o{down_after} // 1000) . "\n",
        "sentinel failover-timeout $master "
            . ($o{failover_timeout} // 3000) . "\n",
        "sentinel parallel-syncs $master 1\n");
    $self->_track($r);
    return $r->start(%o);
}

# redis('HSET', 'k', 'f', 'v'): one command, the decoded reply
sub redis { my $self = shift; $self->{redis}->command(@_) }

# the same through redis-cli, for those who prefer its output
sub redis_cli {
    my ($self, @args) = @_;
    return _capture('redis-cli', '-p', $self->{ports}{REDIS}, @args);
}

sub prefix { $_[0]{prefix} // 'streamline:' }
sub set_prefix { $_[0]{prefix} = $_[1] }

sub add_key {
    my ($self, $channel, $key) = @_;
    return $self->redis('HSET', $self->prefix . 'keys', sha256_hex($key),
        $channel);
}

sub del_key {
    my ($self, $key) = @_;
    return $self->redis('HDEL', $self->prefix . 'keys', sha256_hex($key));
}

# keys_file($path, { key => channel, ... }): the keys file format
sub keys_file {
    my $self = ref $_[0] ? shift : undef;
    my ($path, $map) = @_;
    $path = $self->path($path) if $self;
    open my $fh, '>', $path or die "$path: $!";
    print $fh "# streamline keys: <sha256 hex of the key> <channel>\n";
    print $fh sha256_hex($_), " $map->{$_}\n" for sort keys %$map;
    close $fh or die "$path: $!";
    return $path;
}

# A redis-cli SUBSCRIBE running in the background; ->messages are the
# payloads received so far.
sub subscribe {
    my ($self, @channels) = @_;
    my $n = ++$self->{seq};
    my $out = "$self->{dir}/subscribe-$n.out";
    my $pid = _spawn(cmd => ['redis-cli', '-p', $self->{ports}{REDIS},
        'SUBSCRIBE', @channels], stdout => $out);
    my $sub = $self->_track(Streamline::Test::Proc->new(pid => $pid,
        out => $out, what => 'redis-cli SUBSCRIBE'));
    bless $sub, 'Streamline::Test::Subscriber';
    $sub->{channels} = scalar @channels;
    wait_for(sub { $sub->subscribed }, 5)
        or die "redis-cli SUBSCRIBE did not subscribe\n";
    return $sub;
}


# publisher -----------------------------------------------------------------

# publish($key, app => 'live', port => ..., args => [...],
# url => 'rtmps://host:port/live' (instead of app and port)): ffmpeg
# pushing a test picture and tone in the background.
sub publish {
    my ($self, $key, %o) = @_;
    my $n = ++$self->{seq};
    my $app = $o{app} // 'live';
    my $port = $o{port} // $self->{ports}{RTMP};
    my $err = "$self->{dir}/ffmpeg-$n.stderr";

    my @cmd = ('ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
        '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
        '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
        '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
        '-g', '50', '-c:a', 'aac', @{$o{args} || []},
        '-f', 'flv', ($o{url} // "rtmp://127.0.0.1:$port/$app") . "/$key");

    my $pid = _spawn(cmd => \@cmd, stderr => $err);
    my $p = $self->_track(Streamline::Test::Proc->new(pid => $pid,
        err => $err, what => 'ffmpeg', started => time));
    return bless $p, 'Streamline::Test::Publisher';
}


# http ----------------------------------------------------------------------

# http($method, $path, headers => {}, port => HTTP_PORT, body => '',
# timeout => 5): { status, reason, headers (lowercase names), body, elapsed }
sub http {
    my ($self, $method, $path, %o) = @_;
    my $port = $o{port} // $self->{ports}{HTTP};
    my $ua = $o{ua} // HTTP::Tiny->new(keep_alive => 0,
        timeout => $o{timeout} // 5, max_redirect => 0);

    my %req = (headers => $o{headers} || {});
    $req{content} = $o{body} if defined $o{body};

    my $start = time;
    my $r = $ua->request($method, "http://127.0.0.1:$port$path", \%req);
    return {
        status  => $r->{status},
        reason  => $r->{reason},
        headers => $r->{headers} || {},
        body    => $r->{content} // '',
        elapsed => time - $start,
    };
}

sub get  { my ($self, $path, %o) = @_; $self->http('GET', $path, %o) }
sub head { my ($self, $path, %o) = @_; $self->http('HEAD', $path, %o) }

# A request sent byte for byte (for URIs HTTP::Tiny would not send);
# the response parsed the same way as http().
sub http_raw {
    my ($self, $request, %o) = @_;
    my $port = $o{port} // $self->{ports}{HTTP};
    my $start = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => $o{timeout} // 5)
        or return { status => 599, body => "connect: $!", headers => {},
                    elapsed => time - $start };
    print $s $request;
    local $/;
    my $data = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm($o{timeout} // 5);
        my $d = <$s>;
        alarm 0;
        $d;
    } // '';
    close $s;
    my $res = { status => 599, headers => {}, body => '',
                elapsed => time - $start, raw => $data };
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    return $res unless defined $head
        && $head =~ s{^HTTP/1\.[01] (\d{3}) ?([^\r\n]*)\r\n?}{};
    @$res{qw(status reason body)} = ($1, $2, $body // '');
    for (split /\r\n/, $head) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $res->{headers}{lc $k} = $v;
    }
    return $res;
}

# GET /api/stream[/channel]: (response, decoded body or undef)
sub api {
    my ($self, $channel, %o) = @_;
    my $path = defined $channel ? "/api/stream/$channel" : '/api/stream';
    my $r = $self->get($path, %o);
    return ($r, json_decode($r->{body}));
}

# GET /metrics (or $path, %o as for get): { 'name{labels}' => value } of
# the Prometheus text; undef unless 200 or when a sample line is malformed
sub metrics {
    my ($self, $path, %o) = @_;
    my $r = $self->get($path // '/metrics', %o);
    return undef unless $r->{status} == 200;
    my %m;
    for (split /\n/, $r->{body}) {
        next if /^#/;
        my ($k, $v) = /^(\S+) (\S+)$/ or return undef;
        $m{$k} = $v;
    }
    return \%m;
}

# the status the API gives for a channel ('live', 'idle', or undef)
sub api_status {
    my ($self, $channel, %o) = @_;
    my (undef, $j) = $self->api($channel, %o);
    return ref $j eq 'HASH' ? $j->{status} : undef;
}


# utilities -----------------------------------------------------------------

# wait_for(sub { ... }, $seconds): polls every 20 ms; the sub's first true
# value, or false at the deadline
sub wait_for {
    my ($cond, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $v = $cond->();
        return $v if $v;
        return $v if time >= $deadline;
        sleep 0.02;
    }
}

sub json_decode {
    my ($text) = @_;
    return undef unless defined $text && length $text;
    return eval { JSON::PP->new->decode($text) };
}

# "2026-11-26T01:54:26.123Z" -> ms since the epoch (undef if malformed)
sub iso_ms {
    my ($s) = @_;
    return undef unless defined $s && $s =~
        /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z$/;
    return timegm($6, $5, $4, $3, $2 - 1, $1) * 1000 + $7;
}


# state_conf(%o): the nginx.conf template most state tests use: both
# modules, Redis on REDIS_PORT, an rtmp application "live" with
# "streamline on", /api/stream.  Options add lines where they go:
#   main => "streamline_state_ttl 3s;"   (main context; redis => "unix:..."
#                                         replaces the streamline_redis line)
#   workers => 2, app => "streamline_keys_file ...;" (in application live),
#   rtmp => "access_log ...;" (rtmp block), location => "add_header ...;"
#   (in /api/stream)
sub state_conf {
    my (%o) = @_;
    my $redis = $o{redis} // '127.0.0.1:%%REDIS_PORT%%';
    my $workers = $o{workers} ? "worker_processes $o{workers};\n" : '';
    my $main = $o{main} // '';
    my $app = $o{app} // '';
    my $rtmp = $o{rtmp} // '';
    my $location = $o{location} // '';

    return <<"EOF";
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;
$workers
events { worker_connections 256; }

streamline_redis $redis;
$main

rtmp {
    $rtmp
    server {
        listen 127.0.0.1:%%RTMP_PORT%%;
        application live {
            live on;
            streamline on;
            $app
        }
    }
}

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream {
            streamline_api;
            $location
        }
    }
}
EOF
}

sub now_ms { int(time * 1000) }

sub random_key {
    my ($prefix) = @_;
    return ($prefix // 'sk') . '_'
        . join '', map { sprintf '%04x', int rand 65536 } 1 .. 6;
}


# ---------------------------------------------------------------------------

package Streamline::Test::Nginx;

use strict;
use warnings;

use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

sub new {
    my ($class, %o) = @_;
    return bless { %o, pid => undef, conf => "$o{dir}/nginx.conf" }, $class;
}

sub conf_path { $_[0]{conf} }
sub error_log { "$_[0]{dir}/error.log" }
sub pid       { $_[0]{pid} }
sub dir       { $_[0]{dir} }

sub write_conf {
    my ($self, $template) = @_;
    $self->{t}->write_file($self->{conf}, $self->{t}->subst($template));
    return $self->conf_file($self->{conf});
}

# runs this instance with a configuration file written by someone else
# (e.g. scripts/render-conf.sh)
sub conf_file {
    my ($self, $path) = @_;
    $self->{conf} = $path;
    my $text = $self->{t}->read_file($path) // die "$path: $!\n";
    ($self->{workers}) = $text =~ /^\s*worker_processes\s+(\d+)\s*;/m;
    $self->{workers} //= 1;
    return $path;
}

# nginx -t on this instance's configuration: (exit code, output)
sub test {
    my ($self) = @_;
    return $self->{t}->nginx_t_file($self->{conf}, prefix => $self->{prefix});
}

# What the harness adds with -g: the process model it needs, and the pid
# file and worker user when the configuration does not set them.
sub globals {
    my ($pid, $conf) = @_;
    $conf //= '';
    my $g = 'daemon off; master_process on;';
    $g .= " pid $pid;" unless $conf =~ /^\s*pid\s/m;
    $g .= ' user root;' if $> == 0 && $conf !~ /^\s*user\s/m;
    return $g;
}

sub sanitizer_env {
    return {} unless $ENV{SANITIZE};
    my @libs = map { my $l = `gcc -print-file-name=$_`; chomp $l; $l }
        qw(libasan.so libubsan.so);
    # detect_odr_violation=0: every nginx dynamic module defines its own
    # ngx_modules, ngx_module_names and ngx_module_order (nginx reads them
    # with dlsym per module), which ASan takes for one global defined twice
    return {
        LD_PRELOAD    => join(':', @libs),
        ASAN_OPTIONS  => 'detect_leaks=0:abort_on_error=0:detect_odr_violation=0',
        UBSAN_OPTIONS => 'print_stacktrace=1',
    };
}

# Starts nginx in the foreground as our child and waits until its HTTP port
# answers and all its workers run.  start(no_http => 1) for configurations
# without an http server: waits for the workers only.
sub start {
    my ($self, %o) = @_;
    die "nginx '$self->{name}' is already running\n" if $self->{pid};

    my $conf = $self->{t}->read_file($self->{conf})
        // die "no configuration written for nginx '$self->{name}'\n";
    my $log = $self->error_log;

    $self->{pid} = Streamline::Test::_spawn(
        cmd => [Streamline::Test::nginx_bin(), '-p', $self->{prefix},
            '-c', $self->{conf}, '-e', $log, '-g',
            globals("$self->{dir}/nginx.pid", $conf)],
        stdout => $log,
        env    => sanitizer_env(),
    );

    my $timeout = $o{timeout} // ($ENV{SANITIZE} ? 30 : 10);
    my $ok = Streamline::Test::wait_for(sub {
        return 'dead' unless $self->alive;
        my @w = $self->worker_pids;
        return 0 if @w < $self->{workers};
        return 1 if $o{no_http};
        my $r = Streamline::Test::http($self->{t}, 'GET', '/',
            port => $self->{port}, timeout => 1);
        return $r->{status} != 599;
    }, $timeout);

    if (!$ok || $ok eq 'dead') {
        my $why = $ok ? 'exited' : 'did not answer';
        $self->kill9;
        my $tail = $self->{t}->read_file($log) // '';
        $tail = join "\n", (split /\n/, $tail)[-10 .. -1] if $tail =~ /\n.*\n/;
        die "nginx '$self->{name}' $why:\n$tail\n";
    }
    return $self;
}

sub alive {
    my ($self) = @_;
    return 0 unless $self->{pid};
    local $?;
    my $r = waitpid($self->{pid}, WNOHANG);
    if ($r == $self->{pid} || $r == -1) {
        $self->{status} = $?;
        $self->{pid} = undef;
        return 0;
    }
    return 1;
}

# children of the master: [pid, title]
sub children {
    my ($self) = @_;
    return () unless $self->{pid};
    my @c;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S (\d+)/s or next;
        next unless $ppid == $self->{pid};
        open my $cf, '<', "/proc/$pid/cmdline" or next;
        my $title = do { local $/; <$cf> } // '';
        $title =~ s/\0+$//;
        $title =~ s/\0/ /g;
        push @c, [$pid, $title];
    }
    return @c;
}

# workers that accept new connections (not those shutting down)
sub worker_pids {
    my ($self) = @_;
    return sort { $a <=> $b } map { $_->[0] }
        grep { $_->[1] =~ /worker process$/ } $self->children;
}

# HUP, then waits for a new generation of workers; returns their pids
# (an empty list if none came, e.g. the new configuration was refused)
sub reload {
    my ($self, %o) = @_;
    my %old = map { $_ => 1 } $self->worker_pids;
    if (defined $o{conf}) {
        $self->write_conf($o{conf});
    }
    kill 'HUP', $self->{pid} or die "HUP: $!";
    my @new;
    Streamline::Test::wait_for(sub {
        @new = grep { !$old{$_} } $self->worker_pids;
        return @new >= $self->{workers}
            && !grep { $old{$_} } $self->worker_pids;
    }, $o{timeout} // 10) or return ();
    return @new;
}

# QUIT (graceful), then TERM, then KILL, each with a deadline
sub stop {
    my ($self, %o) = @_;
    return unless $self->alive;
    my @pids = map { $_->[0] } $self->children;
    my $grace = $o{timeout} // ($ENV{SANITIZE} ? 20 : 5);
    for my $step (['QUIT', $grace], ['TERM', 5], ['KILL', 5]) {
        kill $step->[0], $self->{pid};
        last if Streamline::Test::wait_for(sub { !$self->alive }, $step->[1]);
    }
    $self->{leftovers} = \@pids;
    $self->kill_leftovers;
}

# SIGKILL to the master and every child of it, at once
sub kill9 {
    my ($self) = @_;
    return unless $self->alive;
    my @pids = ($self->{pid}, map { $_->[0] } $self->children);
    kill 'KILL', @pids;
    Streamline::Test::wait_for(sub { !$self->alive }, 5);
    $self->{leftovers} = [@pids[1 .. $#pids]];
    $self->kill_leftovers;
}

# workers outlive a killed master: make sure none is left
sub kill_leftovers {
    my ($self) = @_;
    my @left = grep { _is_nginx($_) } @{$self->{leftovers} || []};
    return unless @left;
    kill 'KILL', @left;
    Streamline::Test::wait_for(sub { !grep { _is_nginx($_) } @left }, 5);
}

sub _is_nginx {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/cmdline" or return 0;
    my $c = <$fh> // '';
    return $c =~ /^nginx/;
}

# The worker that holds the server side of the TCP connection a client
# process (e.g. an ffmpeg publisher) has open to $port; undef if none.
sub worker_of_client {
    my ($self, $client_pid, $port) = @_;
    my %client_inodes = map { $_ => 1 } _socket_inodes($client_pid);
    return undef unless %client_inodes;

    my @tcp = _proc_net_tcp();
    my %client_ports;
    for my $e (@tcp) {
        $client_ports{$e->{lport}} = 1
            if $client_inodes{$e->{inode}} && $e->{rport} == $port;
    }
    my %server_inodes;
    for my $e (@tcp) {
        $server_inodes{$e->{inode}} = 1
            if $e->{lport} == $port && $client_ports{$e->{rport}};
    }
    return undef unless %server_inodes;

    for my $c ($self->children) {
        return $c->[0] if grep { $server_inodes{$_} } _socket_inodes($c->[0]);
    }
    return undef;
}

sub _socket_inodes {
    my ($pid) = @_;
    opendir my $d, "/proc/$pid/fd" or return ();
    return map { my $l = readlink "/proc/$pid/fd/$_" // '';
                 $l =~ /^socket:\[(\d+)\]$/ ? $1 : () } readdir $d;
}

sub _proc_net_tcp {
    my @e;
    for my $file ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $file or next;
        <$fh>;
        while (<$fh>) {
            my @f = split ' ';
            my ($lport) = $f[1] =~ /:([0-9A-F]+)$/;
            my ($rport) = $f[2] =~ /:([0-9A-F]+)$/;
            push @e, { lport => hex $lport, rport => hex $rport,
                       inode => $f[9] };
        }
    }
    return @e;
}


# ---------------------------------------------------------------------------

package Streamline::Test::Proc;

# A background process we started: ->alive, ->wait($timeout) returning the
# exit code (128 + signal when killed; undef at the deadline), ->kill($sig),
# ->stop (INT, then KILL).

use strict;
use warnings;

use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

sub new { my ($class, %o) = @_; bless { %o }, $class }

sub pid { $_[0]{pid} }

sub alive {
    my ($self) = @_;
    return 0 if defined $self->{code};
    local $?;
    my $r = waitpid($self->{pid}, WNOHANG);
    if ($r == $self->{pid}) {
        my $st = $?;
        $self->{code} = $st & 127 ? 128 + ($st & 127) : $st >> 8;
        $self->{ended} = time;
        return 0;
    }
    if ($r == -1) {
        $self->{code} //= -1;
        return 0;
    }
    return 1;
}

sub exit_code { $_[0]->alive; $_[0]{code} }

sub wait {
    my ($self, $timeout) = @_;
    Streamline::Test::wait_for(sub { !$self->alive }, $timeout // 10);
    return $self->{code};
}

sub kill {
    my ($self, $sig) = @_;
    return 0 unless $self->alive;
    return CORE::kill($sig // 'TERM', $self->{pid});
}

sub stop {
    my ($self, $timeout) = @_;
    $self->kill('INT');
    return $self->{code} if defined $self->wait($timeout // 5);
    $self->kill('KILL');
    return $self->wait(5);
}


package Streamline::Test::Publisher;

our @ISA = ('Streamline::Test::Proc');

# what ffmpeg printed on stderr
sub stderr {
    my ($self) = @_;
    open my $fh, '<', $self->{err} or return '';
    local $/;
    return <$fh> // '';
}


package Streamline::Test::Subscriber;

our @ISA = ('Streamline::Test::Proc');

sub _replies {
    my ($self) = @_;
    open my $fh, '<', $self->{out} or return ();
    my @lines = map { chomp; $_ } <$fh>;
    my @r;
    # redis-cli prints a push reply as three lines: kind, channel, payload
    while (@lines >= 3) {
        push @r, [splice @lines, 0, 3];
    }
    return @r;
}

sub subscribed {
    my ($self) = @_;
    return $self->{channels} == grep { $_->[0] eq 'subscribe' } $self->_replies;
}

# payloads received so far, in order (decoded when JSON: messages_json)
sub messages {
    my ($self) = @_;
    return map { $_->[2] } grep { $_->[0] eq 'message' } $self->_replies;
}

sub messages_json {
    my ($self) = @_;
    return map { Streamline::Test::json_decode($_) } $self->messages;
}


# ---------------------------------------------------------------------------

package Streamline::Test::Redis;

# redis-server without persistence on REDIS_PORT, our child; ->command
# speaks RESP over a connection of its own.

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @ISA = ('Streamline::Test::Proc');

sub new {
    my ($class, %o) = @_;
    my $t = $o{t};
    my $dir = $o{name} ? "$t->{dir}/redis-$o{name}" : "$t->{dir}/redis";
    File::Path::make_path($dir);
    my $self = bless { t => $t, dir => $dir,
                       port => $o{port} // $t->{ports}{REDIS},
                       unixsocket => $o{unixsocket},
                       sentinel => $o{sentinel} }, $class;
    $t->{vars}{REDIS_SOCKET} = "$dir/redis.sock" unless $o{name};
    return $self;
}

sub port { $_[0]{port} }
sub log  { "$_[0]{dir}/redis.log" }

sub start {
    my ($self, %o) = @_;
    my @cmd = ('redis-server', '--port', $self->{port},
        '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', $self->{dir}, '--daemonize', 'no',
        '--logfile', "$self->{dir}/redis.log", @{$o{args} || []});
    @cmd = ('redis-server', "$self->{dir}/sentinel.conf", '--sentinel',
        '--port', $self->{port}, '--bind', '127.0.0.1',
        '--dir', $self->{dir}, '--daemonize', 'no',
        '--logfile', "$self->{dir}/redis.log", @{$o{args} || []})
        if $self->{sentinel};
    push @cmd, '--unixsocket', "$self->{dir}/redis.sock",
        '--unixsocketperm', '777' if $self->{unixsocket};
    delete $self->{code};
    $self->{pid} = Streamline::Test::_spawn(cmd => \@cmd,
        stdout => "$self->{dir}/redis.out");
    my $up = Streamline::Test::wait_for(sub {
        return 0 unless $self->alive;
        my $r = eval { $self->command('PING') };
        return 1 if $o{loading} && ($@ // '') =~ /LOADING/;
        return defined $r && $r eq 'PONG';
    }, 10);
    die "redis-server did not start\n" unless $up;
    return $self;
}

sub stop {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    delete $self->{sock};
    return unless $self->alive;
    $self->kill('TERM');
    $self->wait(10) // do { $self->kill('KILL'); $self->wait(5) };
}

sub command {
    my ($self, @args) = @_;
    for my $try (1, 2) {
        $self->{sock} //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $self->{port}, Proto => 'tcp', Timeout => 2)
            or die "redis connect: $!\n";
        my $s = $self->{sock};
        my $req = '*' . @args . "\r\n"
            . join '', map { '$' . length($_) . "\r\n$_\r\n" } @args;
        my $ok = print $s $req;
        my $reply = $ok ? eval { _read_reply($s) } : undef;
        if ($@ && ref $@ eq 'HASH') {
            die "redis $args[0]: $@->{error}\n";
        }
        return $reply if $ok && !$@;
        close $s;
        delete $self->{sock};
        die "redis $args[0]: " . ($@ || "write failed") . "\n" if $try == 2;
    }
}

sub _read_line {
    my ($s) = @_;
    local $/ = "\r\n";
    my $line = <$s>;
    die "connection closed\n" unless defined $line;
    chomp $line;
    return $line;
}

sub _read_reply {
    my ($s) = @_;
    my $line = _read_line($s);
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+' || $type eq ':';
    die { error => $rest } if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length $buf < $rest + 2) {
            my $n = read($s, $buf, $rest + 2 - length $buf, length $buf);
            die "connection closed\n" unless $n;
        }
        return substr($buf, 0, $rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [map { _read_reply($s) } 1 .. $rest];
    }
    die "bad reply: $line\n";
}

1;
