#!/usr/bin/perl

# A real Prometheus (Debian's prometheus package) scrapes a real origin
# every second and evaluates the shipped alert rules
# (nginx-conf/prometheus/streamline-alerts.yml; the test shortens their
# "for" to 2 s): Redis stopped -> StreamlineRedisDown fires (read from
# Prometheus's HTTP API), Redis back -> it resolves; a publisher that
# stops sending (SIGSTOP) -> StreamlineNoNewSegment fires for its channel,
# and resolves when it sends again.

use strict;
use warnings;

use Test::More;
use JSON::PP;
use HTTP::Tiny;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

plan skip_all => 'prometheus not installed (Debian package prometheus)'
    unless system('command -v prometheus >/dev/null 2>&1') == 0;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(workers => 2, app => <<'EOF', http => <<'EOF2'));
streamline_segment 1s;
            streamline_part 250ms;
EOF
        location = /metrics {
            streamline_metrics;
        }
EOF2
$t->run;

# the shipped rules, waiting 2 s instead of their "for"
my $rules = $t->read_file("$Streamline::Test::REPO/nginx-conf/prometheus/streamline-alerts.yml");
$rules =~ s/^(\s+for:) \S+$/$1 2s/mg;
$t->write_file('alerts.yml', $rules);

my $prom = $t->port('PROM');
my $dir = $t->testdir;
$t->write_file('prometheus.yml', <<"EOF");
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $dir/alerts.yml
scrape_configs:
  - job_name: streamline
    static_configs:
      - targets: ["127.0.0.1:@{[ $t->port('HTTP') ]}"]
EOF

my $pid = Streamline::Test::_spawn(cmd => [
    'prometheus', "--config.file=$dir/prometheus.yml",
    "--storage.tsdb.path=$dir/prometheus", '--log.level=warn',
    "--web.listen-address=127.0.0.1:$prom"],
    stderr => "$dir/prometheus.stderr");
$t->_track(Streamline::Test::Proc->new(pid => $pid, what => 'prometheus',
    err => "$dir/prometheus.stderr", started => time));

my $ua = HTTP::Tiny->new(timeout => 5);
sub api {
    my ($path) = @_;
    my $r = $ua->get("http://127.0.0.1:$prom$path");
    return undef unless $r->{success};
    return eval { decode_json($r->{content}) };
}
# the alerts in a state, by name => [labels...]
sub alerts {
    my ($state) = @_;
    my $j = api('/api/v1/alerts') or return {};
    my %a;
    for (@{$j->{data}{alerts} || []}) {
        push @{$a{$_->{labels}{alertname}}}, $_->{labels}
            if $_->{state} eq $state;
    }
    return \%a;
}

ok(wait_for(sub { my $r = $ua->get("http://127.0.0.1:$prom/-/ready");
                  $r->{status} == 200 }, 30), 'Prometheus is up')
    or diag $t->read_file("$dir/prometheus.stderr");
ok(wait_for(sub {
       my $j = api('/api/v1/query?query=streamline_redis_connected_workers');
       my $v = $j && $j->{data}{result}[0];
       $v && $v->{value}[1] == 2 }, 30),
   'it scrapes the origin: both workers connected to Redis');
ok(wait_for(sub { my $j = api('/api/v1/rules');
                  $j && @{$j->{data}{groups} || []} }, 10),
   'the shipped rules are loaded');
sleep 3;
is_deeply([sort keys %{alerts('firing')}], [], 'nothing fires');

# --- Redis away and back --------------------------------------------------

$t->stop_redis;
ok(wait_for(sub { alerts('firing')->{StreamlineRedisDown} }, 20),
   'Redis stopped: StreamlineRedisDown fires');
$t->restart_redis;
ok(wait_for(sub { !alerts('firing')->{StreamlineRedisDown}
                  && !alerts('pending')->{StreamlineRedisDown} }, 20),
   'Redis back: it resolves');

# --- a live channel whose segments stop -----------------------------------

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '320x240', gop => 30,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);
ok(wait_playlist($t, 'main', 'source', sub { @{$_[0]{segments}} >= 3 }, 30),
   'a channel is live');
sleep 3;
ok(!alerts('firing')->{StreamlineNoNewSegment}, 'its segments come: no alert');

kill 'STOP', $pub->pid;
my $fired;
ok(wait_for(sub { $fired = alerts('firing')->{StreamlineNoNewSegment} }, 30),
   'the publisher stops sending: StreamlineNoNewSegment fires');
is($fired && $fired->[0]{channel}, 'main', 'for the channel');
kill 'CONT', $pub->pid;
ok(wait_for(sub { !alerts('firing')->{StreamlineNoNewSegment} }, 30),
   'it sends again: the alert resolves');

$pub->stop;
done_testing;
