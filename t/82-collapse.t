#!/usr/bin/perl

# streamline_collapse (an edge: proxy_cache in front of an origin): identical
# requests that come while the first is at the origin wait for it, then are
# answered from the cache at once.  The origin here is a small Perl server
# that answers each request after the delay its query asks for, counting
# what it is asked.
#   - 10 viewers at once: one request reaches the origin, all get its
#     answer within 100 ms of the first;
#   - viewers that hang up while they wait: the others are answered, the
#     edge goes on;
#   - the first viewer hangs up while the origin holds it: the others are
#     answered all the same;
#   - an answer the cache may not keep (no-store): the others go to the
#     origin themselves, and are answered;
#   - a leader slower than streamline_collapse_timeout: the others go on
#     by themselves;
#   - HEAD and GET of one URI do not wait for each other; POST is never held;
#   - no Redis connection is tried: the edge has neither streamline_redis
#     nor anything that needs it.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use Streamline::Test;

my $t = Streamline::Test->new;
my $dir = $t->testdir;
$t->port('ORIGIN');

# --- the origin: GET /<name>?d=<ms>[&nostore] ---------------------------------

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1:' . $t->port('ORIGIN'),
    Listen => 128, ReuseAddr => 1) or BAIL_OUT("origin: $!");
my $origin = fork // BAIL_OUT("fork: $!");
if ($origin == 0) {
    $SIG{CHLD} = 'IGNORE';
    while (my $c = $listen->accept) {
        next if fork;
        my $req = '';
        while (<$c>) { $req .= $_; last if /^\r?\n$/ }
        my ($method, $uri) = $req =~ /^(\S+) (\S+)/;
        open my $log, '>>', "$dir/origin.log";
        print $log "$method $uri\n";
        close $log;
        my ($d) = ($uri // '') =~ /[?&]d=(\d+)/;
        sleep(($d // 0) / 1000);
        my $cc = $uri =~ /nostore/ ? 'no-store' : 'max-age=60';
        my $body = "answer to $uri\n";
        print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            . "Cache-Control: $cc\r\nContent-Length: " . length($body)
            . "\r\nConnection: close\r\n\r\n$body";
        close $c;
        POSIX::_exit(0);
    }
    POSIX::_exit(0);
}
close $listen;
END { kill 'KILL', $origin if $origin }

$t->write_conf(<<'EOF');
error_log %%TESTDIR%%/error.log info;

load_module %%MODULES%%/ngx_rtmp_module.so;
load_module %%MODULES%%/ngx_streamline_module.so;

worker_processes 1;
events { worker_connections 256; }

http {
    %%HTTP_TEMP_PATHS%%
    access_log off;
    proxy_cache_path %%TESTDIR%%/cache keys_zone=edge:1m use_temp_path=off;

    server {
        listen 127.0.0.1:%%HTTP_PORT%%;
        proxy_cache edge;
        proxy_cache_lock off;
        add_header X-Cache $upstream_cache_status always;

        location / {
            proxy_pass http://127.0.0.1:%%ORIGIN_PORT%%;
            streamline_collapse on;
        }

        location /short/ {
            proxy_pass http://127.0.0.1:%%ORIGIN_PORT%%;
            streamline_collapse on;
            streamline_collapse_timeout 200ms;
        }

        location /plain/ {
            proxy_pass http://127.0.0.1:%%ORIGIN_PORT%%;
        }
    }
}
EOF
$t->run;

sub asked {     # how many times the origin was asked for $uri
    my ($uri) = @_;
    my @l = grep { $_ eq $uri } split /\n/, $t->read_file("$dir/origin.log") // '';
    return scalar @l;
}

# n clients send "$method $uri" at once; returns { i => [status, time, body] };
# those in %hangup close their socket after 50 ms
sub burst {
    my ($uri, $n, %o) = @_;
    my $method = $o{method} // 'GET';
    my (%sock, %name, %buf, %done);
    for my $i (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $t->port('HTTP'), Proto => 'tcp', Timeout => 5) or next;
        print $s "$method $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            . ($method eq 'POST' ? "Content-Length: 0\r\n" : '') . "\r\n";
        $sock{$i} = $s;
        $name{$s} = $i;
        sleep 0.01 if $i == 1 && !$o{together};   # the first one leads
    }
    my $sel = IO::Select->new(values %sock);
    if (my $h = $o{hangup}) {
        sleep 0.05;
        for my $i (@$h) { $sel->remove($sock{$i}); close $sock{$i}; }
    }
    my $until = time + ($o{wait} // 5);
    while ($sel->count && time < $until) {
        for my $s ($sel->can_read(0.05)) {
            my $got = sysread($s, my $chunk, 65536);
            my $i = $name{$s};
            if ($got) {
                $buf{$i} .= $chunk;
                next;
            }
            $sel->remove($s);
            close $s;
            my ($status) = ($buf{$i} // '') =~ m{^HTTP/1\.1 (\d+)};
            my ($body) = ($buf{$i} // '') =~ /\r\n\r\n(.*)\z/s;
            $done{$i} = [$status // 0, time, $body // ''];
        }
    }
    return \%done;
}

sub spread {
    my @t = sort { $a <=> $b } map { $_->[1] } values %{$_[0]};
    return @t ? $t[-1] - $t[0] : 99;
}

# --- 10 at once ------------------------------------------------------------------

my $r = burst('/a?d=300', 10);
is(scalar(grep { $_->[0] == 200 && $_->[2] eq "answer to /a?d=300\n" } values %$r), 10,
   '10 viewers: all answered 200 with the answer');
is(asked('GET /a?d=300'), 1, 'one request reached the origin');
cmp_ok(spread($r), '<', 0.1, sprintf('the last answer %.0f ms after the first', spread($r) * 1000));

# the same through plain proxy_cache (no lock): everyone goes to the origin
burst('/plain/a?d=300', 5);
is(asked('GET /plain/a?d=300'), 5, 'without streamline_collapse: 5 requests for 5 viewers');

# --- viewers hang up while they wait ---------------------------------------------

$r = burst('/b?d=300', 6, hangup => [3, 5]);
is(scalar(grep { $_->[0] == 200 } values %$r), 4, 'two hung up while waiting: the 4 others answered');
is(asked('GET /b?d=300'), 1, 'one request reached the origin');
is($t->get('/b?d=300')->{status}, 200, 'the edge goes on');

# --- the leader hangs up ---------------------------------------------------------

$r = burst('/c?d=300', 5, hangup => [1]);
is(scalar(grep { $_->[0] == 200 } values %$r), 4, 'the first viewer hung up: the 4 others answered');

# --- an answer the cache may not keep ------------------------------------------

$r = burst('/d?d=200&nostore', 4);
is(scalar(grep { $_->[0] == 200 } values %$r), 4, 'no-store: all 4 answered');
is(asked('GET /d?d=200&nostore'), 4, 'no-store: the 3 that waited asked the origin themselves');

# --- a leader slower than the timeout --------------------------------------------

my $t0 = time;
$r = burst('/short/e?d=1000', 3);
is(scalar(grep { $_->[0] == 200 } values %$r), 3, 'a slow leader: all answered');
cmp_ok(asked('GET /short/e?d=1000'), '>=', 2,
       'the others gave up waiting after 200 ms and asked the origin themselves');
ok(wait_for(sub { $t->log_lines(qr/gave up waiting for "\/short\/e\?d=1000"/) }, 2),
   'and it is logged');

# --- methods ---------------------------------------------------------------------

my $h = burst('/g?d=300', 1, method => 'HEAD');
is((values %$h)[0][0], 200, 'HEAD answered');
$r = burst('/h?d=300', 3, method => 'POST');
is(asked('POST /h?d=300'), 3, 'POST is never held: 3 requests for 3');

# an edge with the module for streamline_collapse only: no Redis wanted
is(scalar($t->log_lines(qr/redis/i)), 0, 'no Redis connection tried (none configured or needed)');

done_testing;
