#!/usr/bin/perl

# Methods: GET and HEAD answer (HEAD with the same headers and no body);
# anything else is 405 with Allow: GET, HEAD and a JSON error, and a
# request body is read and discarded so the keep-alive connection goes on.

use strict;
use warnings;

use HTTP::Tiny;
use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(<<'EOF');
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

events { worker_connections 256; }

streamline_redis 127.0.0.1:%%REDIS_PORT%%;

http {
    %%HTTP_TEMP_PATHS%%
    access_log %%TESTDIR%%/access.log;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream {
            streamline_api;
            add_header X-Connection $connection always;
        }
    }
}
EOF
$t->run;

my $get = $t->get('/api/stream');
is($get->{status}, 200, 'GET 200');

my $head = $t->http_raw("HEAD /api/stream HTTP/1.1\r\nHost: x\r\n"
    . "Connection: close\r\n\r\n");
is($head->{status}, 200, 'HEAD 200');
is($head->{body}, '', 'HEAD: no body on the wire');
for my $h (qw(content-type cache-control access-control-allow-origin
              content-length)) {
    is($head->{headers}{$h}, $get->{headers}{$h}, "HEAD: same $h as GET");
}

my $head_ch = $t->head('/api/stream/other');
is($head_ch->{status}, 200, 'HEAD on a channel 200');

for my $method (qw(POST PUT DELETE PATCH)) {
    my $r = $t->http($method, '/api/stream', body => '{"status":"live"}',
        headers => { 'content-type' => 'application/json' });
    is($r->{status}, 405, "$method 405");
    is($r->{headers}{allow}, 'GET, HEAD', "$method: Allow");
    is($r->{headers}{'content-type'}, 'application/json', "$method: JSON");
    my $j = json_decode($r->{body});
    ok(ref $j eq 'HASH' && defined $j->{error}, "$method: error body")
        or diag $r->{body};
}

my $r = $t->http('DELETE', '/api/stream/main');
is($r->{status}, 405, 'DELETE on a channel 405');

# a POST with a body on a keep-alive connection, then a GET on the same one
my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
my $post = $t->http('POST', '/api/stream', ua => $ua, body => 'x' x 10000);
is($post->{status}, 405, 'POST with a 10 kB body: 405');
my $next = $t->get('/api/stream', ua => $ua);
is($next->{status}, 200, 'the next request on that connection: 200');
is($next->{headers}{'x-connection'}, $post->{headers}{'x-connection'},
    'the connection was kept');
is($next->{body}, $get->{body}, 'with the state');

is(json_decode($t->redis('GET', 'streamline:state:main')), undef,
    'no method wrote a state');

done_testing;
