#!/usr/bin/perl

# Where keys come from: streamline_keys_file (sha256 digests, read at
# configuration time) and Redis (streamline_keys_redis, on by default);
# with keys_redis off a key known only to Redis is refused.  An application
# without "streamline on" is left alone: any name publishes, nothing is
# written to Redis.  A reload reads a changed keys file.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;

my ($file_key, $redis_key, $new_key) =
    map { random_key($_) } qw(file redis new);
$t->keys_file('keys', { $file_key => 'filed' });
$t->add_key(redised => $redis_key);

$t->write_conf(<<'EOF');
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
            streamline_keys_file %%TESTDIR%%/keys;
        }

        application fileonly {
            live on;
            streamline on;
            streamline_keys_file %%TESTDIR%%/keys;
            streamline_keys_redis off;
        }

        application plain {
            live on;
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
        }
    }
}
EOF
$t->run;

sub goes_live {
    my ($key, $channel, %o) = @_;
    my $pub = $t->publish($key, %o);
    my $ok = wait_for(sub { ($t->api_status($channel) // '') eq 'live' }, 10);
    diag $pub->stderr unless $ok;
    $pub->stop;
    wait_for(sub { ($t->api_status($channel) // '') eq 'idle' }, 3);
    return $ok;
}

sub refused {
    my ($key, %o) = @_;
    my $code = $t->publish($key, %o)->wait(10);
    return defined $code && $code != 0;
}

ok(goes_live($file_key, 'filed'), 'a keys-file key');
ok(goes_live($redis_key, 'redised'), 'a Redis key (keys_redis on by default)');
ok(goes_live($file_key, 'filed', app => 'fileonly'),
    'keys_redis off: a keys-file key');
ok(refused($redis_key, app => 'fileonly'),
    'keys_redis off: a Redis-only key is refused');

# no streamline in this application: the name is a name
my $before = $t->redis('DBSIZE');
my $plain = $t->publish('anyname', app => 'plain');
sleep 1.5;
ok($plain->alive, 'an application without streamline publishes any name')
    or diag $plain->stderr;
is($t->api_status('anyname'), 'idle', 'and writes no state');
is($t->redis('DBSIZE'), $before, 'nothing written to Redis');
$plain->stop;

# keys files are configuration: a reload reads the new one
ok(refused($new_key, app => 'fileonly'), 'a key not in the file yet');
$t->keys_file('keys', { $file_key => 'filed', $new_key => 'newer' });
ok(scalar $t->reload, 'reload');
ok(goes_live($new_key, 'newer', app => 'fileonly'),
    'the new key after the reload');

done_testing;
