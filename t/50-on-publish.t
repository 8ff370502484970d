#!/usr/bin/perl

# nginx-rtmp's on_publish runs after the key check and may still refuse:
# the channel must become live only once the whole chain has accepted.
# The notify request carries the channel name, never the key.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;

my $conf = <<'EOF';
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;

rtmp {
    server {
        listen 127.0.0.1:%%RTMP_PORT%%;
        application live {
            live on;
            streamline on;
            notify_method get;
            on_publish http://127.0.0.1:%%HTTP_PORT%%/auth;
        }
    }
}

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;
    log_format auth '$request_uri';

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;

        location /api/stream {
            streamline_api;
        }

        location /auth {
            access_log %%TESTDIR%%/auth.log auth;
            %%AUTH%%
        }

        location = /metrics {
            streamline_metrics;
        }
    }
}
EOF

my $key = random_key();
$t->add_key(main => $key);
my $events = $t->subscribe('streamline:events');

# on_publish refuses everything

$t->var(AUTH => 'return 403;');
$t->write_conf($conf);
$t->run;

my $pub = $t->publish($key);
my ($was_live, $deadline) = (0, time + 10);
while ($pub->alive && time < $deadline) {
    $was_live ||= ($t->api_status // '') eq 'live'
        || $t->redis('EXISTS', 'streamline:state:main');
    sleep 0.02;
}
my $code = $pub->wait(1);
ok(defined $code && $code != 0, 'on_publish 403: the publish is refused')
    or diag 'exit ' . ($code // 'none (still running)');
ok(!$was_live, 'the channel never became live, not even briefly');
is($t->get('/api/stream')->{body}, '{"status":"idle","updatedAt":null}',
    'API idle');
is($t->redis('EXISTS', 'streamline:state:main'), 0, 'no state key');
is($t->redis('EXISTS', 'streamline:owner:main'), 0, 'no owner left');
is($t->redis('XLEN', 'streamline:history'), 0, 'no history');

ok(wait_for(sub { ($t->get('/metrics')->{body} // '')
                  =~ /^streamline_publishes_refused_total\{reason="on_publish"\} 1$/m }, 10),
   'the metrics count it: refused, reason on_publish')
    or diag $t->get('/metrics')->{body};
like($t->get('/metrics')->{body}, qr/^streamline_publishes_accepted_total 0$/m,
     'and not accepted');

my $auth = $t->read_file('auth.log') // '';
like($auth, qr/[?&]name=main(&|$)/m, 'notify saw the channel name');
unlike($auth, qr/\Q$key\E/, 'notify never saw the key');

$t->stop;

# on_publish accepts only the channel name

$t->var(AUTH => 'if ($arg_name = main) { return 200; } return 403;');
$t->write_conf($conf);
$t->run;

$pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 10),
    'on_publish 200 for name=main: live') or diag $pub->stderr;
ok($pub->alive, 'publishing');

# No event for the refused publish, bounded by events rather than a sleep:
# what the first nginx published reached Redis before it exited, so before
# this live event (its updatedAt is the API's), which the test waits for.
my (undef, $live) = $t->api;
my @e;
wait_for(sub {
    @e = $events->messages_json;
    grep { $_ && ($_->{updatedAt} // '') eq ($live->{updatedAt} // '') } @e;
}, 10);
is_deeply([map { $_ ? "$_->{channel} $_->{status}" : 'not JSON' } @e],
    ['main live'], 'the refused publish sent no event: the first is this one')
    or diag explain [$events->messages];
is($t->redis('XLEN', 'streamline:history'), 1, 'one history entry');

$pub->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 3), 'then idle');

$auth = $t->read_file('auth.log') // '';
unlike($auth, qr/\Q$key\E/, 'notify never saw the key');

done_testing;
