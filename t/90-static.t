#!/usr/bin/perl

# nginx built with both modules linked in (make static): the publish hooks
# are ordered by config's module list instead of load order, and the Redis
# client starts after the event module.  A good key goes live, a bad one is
# refused, a stop goes idle.  Skipped when the static binary is not built.

use strict;
use warnings;

use Test::More;
use lib 't/lib';

my $bin = ($ENV{STREAMLINE_BUILD_DIR} // 'build') . '/sbin/nginx-static';
plan skip_all => "no $bin (make static builds it)" unless -x $bin;
plan skip_all => 'the static binary is not built with sanitizers'
    if $ENV{SANITIZE};
$ENV{NGINX_BIN} = $bin;

require Streamline::Test;
Streamline::Test->import;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(<<'EOF');
error_log %%TESTDIR%%/error.log info;
events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;

rtmp {
    # this binary's compiled-in default is logs/access.log under the prefix
    access_log %%TESTDIR%%/rtmp-access.log;

    server {
        listen 127.0.0.1:%%RTMP_PORT%%;
        application live {
            live on;
            streamline on;
            on_publish http://127.0.0.1:%%HTTP_PORT%%/auth;
        }
    }
}

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream { streamline_api; }
        # the channel goes live only after on_publish accepted it
        location /auth { return 200; }
    }
}
EOF
$t->run;

my $key = Streamline::Test::random_key();
$t->add_key(main => $key);

# the wait is undef while ffmpeg still streams: only an exit status
# other than 0 is a refusal
my $bad_key = Streamline::Test::random_key();
my $bad = $t->publish($bad_key);
my $code = $bad->wait(10);
ok(defined $code && $code != 0, 'unknown key refused')
    or diag 'exit ' . ($code // 'none: still publishing');
is($t->api_status, 'idle', 'and the channel stays idle');

my $p = $t->publish($key);
ok(Streamline::Test::wait_for(sub { ($t->api_status // '') eq 'live' }, 5),
   'good key: live, after on_publish');

$p->stop;
ok(Streamline::Test::wait_for(sub { ($t->api_status // '') eq 'idle' }, 5),
   'stop: idle');

ok(scalar $t->log_lines(qr/streamline:/), 'error.log has streamline: lines');
for my $k ($key, $bad_key) {
    for my $log (qw(error.log access.log rtmp-access.log)) {
        my @leaks = $t->log_lines(qr/\Q$k\E/, $log);
        ok(!@leaks, "a key is not in $log")
            or diag map { s/\Q$k\E/<KEY>/gr . "\n" } @leaks;
    }
}

done_testing;
