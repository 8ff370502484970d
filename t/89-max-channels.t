#!/usr/bin/perl

# streamline_max_channels: an origin sized for N channels (README, Sizing)
# refuses the publish of one more, with its own reason in the metrics
# (limit) and a log line, across workers; the channel already live goes
# on; once it ends, the other channel may publish; a channel republishing
# does not count against itself.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(workers => 2, app => <<'EOF', http => <<'EOF2'));
streamline_segment 1s;
            streamline_max_channels 1;
EOF
        location = /metrics {
            streamline_metrics;
        }
EOF2
$t->run;

sub metric { ($t->metrics // {})->{$_[0]} }

my ($ka, $kb) = (random_key('a'), random_key('b'));
$t->add_key(one => $ka);
$t->add_key(two => $kb);

# "one" goes live, and has media (it counts from its pipeline's start)
my $pa = publish_media($t, $ka, size => '320x240');
ok(wait_for(sub { ($t->api_status('one') // '') eq 'live' }, 10),
    'channel one: live');
ok(wait_playlist($t, 'one', 'source', sub { 1 }), 'and packaged');

# "two": one too many
my $pb = publish_media($t, $kb, size => '320x240');
my $code = $pb->wait(10);
ok(defined $code && $code != 0, 'channel two is refused') or diag $pb->stderr;
is($t->api_status('two'), 'idle', 'and stays idle');
ok(scalar $t->log_lines(qr/channel "two" refused: 1 channels are live, streamline_max_channels 1/),
    'the log says why');
is(metric('streamline_publishes_refused_total{reason="limit"}'), 1,
    'counted as refused for the limit');
ok($pa->alive, 'channel one goes on');

# one ends: two may come
$pa->stop;
ok(wait_for(sub { ($t->api_status('one') // '') eq 'idle' }, 10),
    'channel one: idle');
$pb = publish_media($t, $kb, size => '320x240');
ok(wait_for(sub { ($t->api_status('two') // '') eq 'live' }, 10),
    'now channel two goes live') or diag $pb->stderr;
ok(wait_playlist($t, 'two', 'source', sub { 1 }), 'and is packaged');
$pb->stop;
ok(wait_for(sub { ($t->api_status('two') // '') eq 'idle' }, 10),
    'channel two: idle');

# a channel that comes back (its DVR resumed) is no extra channel
$pb = publish_media($t, $kb, size => '320x240');
ok(wait_for(sub { ($t->api_status('two') // '') eq 'live' }, 10),
    'channel two publishes again');
$pb->stop;

is(metric('streamline_publishes_refused_total{reason="limit"}'), 1,
    'one refusal in all');

done_testing;
