#!/usr/bin/perl

# nginx -t: a configuration using every directive passes; each bad value is
# refused with a message that names the directive (and, for the keys file,
# the file and the line).

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;

my $keys = $t->keys_file('keys', { 'a-good-stream-key' => 'main' });
$t->write_file('keys-bad', "# keys\n"
    . sha256_hex('first-key-x') . " main\n"
    . "this is not a digest\n");
$t->write_file('keys-badchannel', sha256_hex('first-key-x') . " a/b\n");
$t->write_file('keys-shortdigest', "abc123 main\n");

# %%MAIN%%, %%APP%%, %%HTTP%%, %%LOCATION%% take the directives under test
my $template = <<'EOF';
load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

events { worker_connections 256; }

%%MAIN%%

rtmp {
    server {
        listen 127.0.0.1:%%RTMP_PORT%%;
        application live {
            live on;
            %%APP%%
        }
    }
}

http {
    %%HTTP_TEMP_PATHS%%
    access_log off;
    %%HTTP%%

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        location /api/stream {
            streamline_api;
            %%LOCATION%%
        }
    }
}
EOF

sub conf {
    my (%o) = @_;
    $t->var($_ => $o{lc $_} // '') for qw(MAIN APP HTTP LOCATION);
    return $template;
}

# every directive with a valid value
my ($rc, $out) = $t->nginx_t(conf(
    main => 'streamline_redis 127.0.0.1:%%REDIS_PORT%%;
             streamline_redis_timeout 1500ms;
             streamline_redis_prefix sl:;
             streamline_state_ttl 30s;
             streamline_queue_size 64;
             streamline_origin_address [2001:db8::5]:8080;',
    app => "streamline on;
            streamline_keys_file $keys;
            streamline_keys_redis off;
            streamline_media_max_size 40g;
            streamline_media_min_free 2g;
            streamline_part 200ms;
            streamline_part_hold_back 3;
            streamline_previews 10s;
            streamline_preview_size 240x136;",
    http => 'streamline_api_channel main;
             streamline_api_cache 5s;
             streamline_api_cors *;
             streamline_origin_secret X-Origin-Secret 0123456789abcdef0123;',
    location => 'streamline_api_channel studio;
                 streamline_api_cors https://example.com;
                 streamline_origin_secret off;
                 streamline_hls_max_held 100;
                 streamline_collapse on;
                 streamline_collapse_timeout 10s;
                 streamline_route $arg_channel;
                 streamline_viewers $arg_channel;
                 streamline_clip on;
                 streamline_clip_max_length 30s;
                 streamline_clip_thread_pool default;',
));
is($rc, 0, 'every directive, good values: nginx -t passes') or diag $out;

# a guessable origin secret is refused: at least 16 bytes (README)
($rc, $out) = $t->nginx_t(conf(app => 'streamline on;',
    http => 'streamline_origin_secret X-Origin-Secret s3cr3t;'));
isnt($rc, 0, 'streamline_origin_secret with a 6-byte secret fails');
like($out, qr/streamline_origin_secret.*at least 16 bytes/,
    'the error names the directive and the rule');

($rc, $out) = $t->nginx_t(conf(main => 'streamline_redis unix:/run/redis.sock;',
    app => 'streamline on;'));
is($rc, 0, 'streamline_redis unix:/path passes') or diag $out;

($rc, $out) = $t->nginx_t(conf(app => 'streamline on;',
    location => 'streamline_api_cors off;'));
is($rc, 0, 'all defaults and cors off pass') or diag $out;

my @bad = (
    [main => 'streamline_api_cache abc;', 'streamline_api_cache',
        'streamline_api_cache abc (main)'],
    [location => 'streamline_api_cache abc;', 'streamline_api_cache',
        'streamline_api_cache abc'],
    [main => 'streamline_redis_timeout -1;', 'streamline_redis_timeout',
        'streamline_redis_timeout -1'],
    [main => 'streamline_redis_timeout abc;', 'streamline_redis_timeout',
        'streamline_redis_timeout abc'],
    [main => 'streamline_redis "";', 'streamline_redis',
        'streamline_redis ""'],
    [main => 'streamline_redis unix:;', 'streamline_redis',
        'streamline_redis unix: (no path)'],
    [main => 'streamline_redis 127.0.0.1:99999;', 'streamline_redis',
        'streamline_redis with a bad port'],
    [main => 'streamline_state_ttl abc;', 'streamline_state_ttl',
        'streamline_state_ttl abc'],
    [main => 'streamline_state_ttl 0;', 'streamline_state_ttl',
        'streamline_state_ttl 0'],
    [main => 'streamline_queue_size abc;', 'streamline_queue_size',
        'streamline_queue_size abc'],
    [main => 'streamline_queue_size 0;', 'streamline_queue_size',
        'streamline_queue_size 0'],
    [http => 'streamline_origin_secret X;', 'streamline_origin_secret',
        'streamline_origin_secret with one argument'],
    [location => 'streamline_origin_secret X-A "";', 'streamline_origin_secret',
        'streamline_origin_secret with an empty secret'],
    [location => 'streamline_api_cors;', 'streamline_api_cors',
        'streamline_api_cors without a value'],
    [location => 'streamline_api_channel a/b;', 'streamline_api_channel',
        'streamline_api_channel with a bad name'],
    [location => 'streamline_api_channel ' . ('a' x 65) . ';',
        'streamline_api_channel', 'streamline_api_channel over 64 bytes'],
    [app => 'streamline maybe;', 'streamline', 'streamline maybe'],
    [app => 'streamline on; streamline_keys_redis maybe;',
        'streamline_keys_redis', 'streamline_keys_redis maybe'],
    [main => 'streamline on;', 'streamline', 'streamline on in main'],
    [http => 'streamline on;', 'streamline', 'streamline on in http'],
    [location => 'streamline on;', 'streamline', 'streamline on in a location'],
    [location => 'streamline_keys_file /x;', 'streamline_keys_file',
        'streamline_keys_file in a location'],
    [main => 'streamline_api;', 'streamline_api', 'streamline_api in main'],
    [app => 'streamline_media_max_size lots;', 'streamline_media_max_size',
        'streamline_media_max_size lots'],
    [app => 'streamline_media_min_free -1;', 'streamline_media_min_free',
        'streamline_media_min_free -1'],
    [http => 'streamline_hls_max_held 0;', 'streamline_hls_max_held',
        'streamline_hls_max_held 0'],
    [location => 'streamline_hls_max_held abc;', 'streamline_hls_max_held',
        'streamline_hls_max_held abc'],
    [http => 'streamline_hls_max_held 256;', 'worker_connections',
        'streamline_hls_max_held as large as worker_connections'],
    [location => 'streamline_collapse maybe;', 'streamline_collapse',
        'streamline_collapse maybe'],
    [location => 'streamline_collapse_timeout 0;', 'streamline_collapse_timeout',
        'streamline_collapse_timeout 0'],
    [location => 'streamline_collapse_timeout soon;', 'streamline_collapse_timeout',
        'streamline_collapse_timeout soon'],
    [app => 'streamline_part_hold_back 1;', 'streamline_part_hold_back',
        'streamline_part_hold_back 1 (the spec asks for 2 at least)'],
    [app => 'streamline_part_hold_back 21;', 'streamline_part_hold_back',
        'streamline_part_hold_back 21'],
    [app => 'streamline_part_hold_back two;', 'streamline_part_hold_back',
        'streamline_part_hold_back two'],
    [app => 'streamline on; streamline_keys_file %%TESTDIR%%/missing;',
        'missing', 'a missing keys file'],
    [main => 'streamline_origin_address "10.0.0.5 :8080";',
        'streamline_origin_address', 'streamline_origin_address with a space'],
    [main => 'streamline_origin_address http://10.0.0.5;',
        'streamline_origin_address', 'streamline_origin_address with a scheme'],
    [main => 'streamline_origin_address "";', 'streamline_origin_address',
        'streamline_origin_address empty'],
    [main => 'streamline_origin_address ' . ('a' x 256) . ';',
        'streamline_origin_address', 'streamline_origin_address over 255 bytes'],
    [main => 'streamline_origin_address a:1; streamline_origin_address b:2;',
        'streamline_origin_address', 'streamline_origin_address twice'],
    [http => 'streamline_route $uri;', 'streamline_route',
        'streamline_route outside a location'],
    [location => 'streamline_route;', 'streamline_route',
        'streamline_route without a channel'],
    [location => 'streamline_route a; streamline_route b;', 'streamline_route',
        'streamline_route twice'],
    [location => 'streamline_viewers;', 'streamline_viewers',
        'streamline_viewers without a value'],
    [location => 'streamline_viewers on; streamline_viewers off;',
        'streamline_viewers', 'streamline_viewers twice'],
    [app => 'streamline_previews 500ms;', 'streamline_previews',
        'streamline_previews under a second'],
    [app => 'streamline_previews often;', 'streamline_previews',
        'streamline_previews often'],
    [app => 'streamline_previews off; streamline_previews 4s;',
        'streamline_previews', 'streamline_previews twice'],
    [location => 'streamline_previews 4s;', 'streamline_previews',
        'streamline_previews in an http location'],
    [app => 'streamline_preview_size 160;', 'streamline_preview_size',
        'streamline_preview_size without a height'],
    [app => 'streamline_preview_size 161x90;', 'streamline_preview_size',
        'streamline_preview_size odd'],
    [app => 'streamline_preview_size 1280x720;', 'streamline_preview_size',
        'streamline_preview_size too large'],
    [app => 'streamline_preview_size 0x0;', 'streamline_preview_size',
        'streamline_preview_size 0x0'],
    [app => 'streamline_preview_size x90;', 'streamline_preview_size',
        'streamline_preview_size x90'],
    [location => 'streamline_clip maybe;', 'streamline_clip',
        'streamline_clip maybe'],
    [location => 'streamline_clip_max_length 0;', 'streamline_clip_max_length',
        'streamline_clip_max_length 0'],
    [http => 'streamline_clip_max_length 500ms;',
        'streamline_clip_max_length', 'streamline_clip_max_length 500ms'],
    [location => 'streamline_clip_max_length long;',
        'streamline_clip_max_length', 'streamline_clip_max_length long'],
    [location => 'streamline_clip on; streamline_clip_thread_pool nosuch;',
        'unknown thread pool "nosuch"',
        'streamline_clip_thread_pool naming no thread_pool'],
);

for my $case (@bad) {
    my ($where, $directive, $names, $what) = @$case;
    ($rc, $out) = $t->nginx_t(conf($where => $directive));
    isnt($rc, 0, "$what: nginx -t fails");
    like($out, qr/\Q$names\E/, "$what: the message names it")
        or diag $out;
}

# keys files: the message names the file and the line
for my $case (['keys-bad', 3], ['keys-badchannel', 1],
              ['keys-shortdigest', 1]) {
    my ($file, $line) = @$case;
    my $path = $t->path($file);
    ($rc, $out) = $t->nginx_t(conf(app =>
        "streamline on; streamline_keys_file $path;"));
    isnt($rc, 0, "$file: nginx -t fails");
    like($out, qr/\Q$path\E/, "$file: the message names the file")
        or diag $out;
    like($out, qr/(?:line\s*$line\b|\Q$path\E:$line\b)/,
        "$file: and line $line") or diag $out;
}

done_testing;
