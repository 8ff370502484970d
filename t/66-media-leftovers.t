#!/usr/bin/perl

# What a crashed nginx left under the media path is removed when nginx
# starts, and only then: the running master holds a lock on the path
# (<media path>/.streamline.lock), so a config test (nginx -t), a reload
# that changes the zone, or another nginx (the new binary of an upgrade)
# removes nothing of a live stream.  Files that no stream of this nginx
# owns in a channel's directory go when that channel starts.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
my $media = "$t->{dir}/media";

sub junk {
    my (@files) = @_;
    for my $f (@files) {
        (my $d = $f) =~ s{/[^/]+$}{};
        system('mkdir', '-p', $d);
        open my $fh, '>', $f or die "$f: $!";
        print $fh "junk";
        close $fh;
    }
}

# a crash's leftovers: a channel directory, a half-written segment
junk("$media/main/source/seg-1.m4s", "$media/main/source/seg-2.m4s.tmp",
     "$media/stray");

# a config test before the start removes nothing (no nginx runs, but a
# config test never owns the path)
my $conf = media_conf(app => 'streamline_segment 1s;');
$t->write_conf($conf);
my ($rc, $out) = $t->nginx->test;
is($rc, 0, 'nginx -t passes') or diag $out;
ok(-e "$media/stray", 'nginx -t removes nothing');

$t->start_redis;
$t->run;

ok(!-e "$media/main/source/seg-1.m4s" && !-e "$media/main/source/seg-2.m4s.tmp"
   && !-e "$media/stray", 'leftovers removed at start');
ok(-d $media, 'the media path itself stays');

my $key = random_key('main');
$t->add_key(main => $key);
my @light = (size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);
my $pub = publish_media($t, $key, @light);

my $pl = wait_playlist($t, 'main', 'source',
    sub { @{$_[0]{segments}} >= 3 }, 15);
ok($pl, 'a stream packages after the clean-up');

# every segment a playlist lists answers 200, and the playlist goes on
sub intact {
    my ($what, $before) = @_;
    my @missing = grep { !-e "$media/main/source/$_->{uri}" }
        @{$before->{segments}};
    ok(!@missing, "$what: the listed segments are still on disk")
        or diag "missing: @{[map { $_->{uri} } @missing]}";
    my @bad = grep { $t->get("/hls/main/source/$_->{uri}")->{status} != 200 }
        @{$before->{segments}};
    ok(!@bad, "$what: they answer 200");
    my $last = $before->{segments}[-1]{msn};
    ok(wait_playlist($t, 'main', 'source', sub {
           $_[0]{segments}[-1]{msn} >= $last + 2 && !$_[0]{endlist} }, 15),
       "$what: the playlist goes on");
}

# nginx -t on the running configuration (what an init script does before
# a reload)
($rc, $out) = $t->nginx->test;
is($rc, 0, 'nginx -t on the live origin passes') or diag $out;
intact('nginx -t while live', $pl);
ok(-e "$media/.streamline.lock", 'the lock file is there');

# a reload keeps the live stream's files
($pl) = (get_media($t, 'main', 'source'))[1];
$t->reload;
intact('reload', $pl);

# a reload that changes the zone (a new one, nothing passed in): the old
# worker's stream keeps its files
($pl) = (get_media($t, 'main', 'source'))[1];
my @before = glob("$media/main/source/seg-*.m4s");
cmp_ok(scalar @before, '>=', 3, 'segments on disk before');
$t->reload(conf => media_conf(app => 'streamline_segment 1s;',
    zone => '48m'));
sleep 0.5;
my @kept = grep { -e } @before;
is(scalar @kept, scalar @before, 'a reload with a new zone removes nothing');
is(scalar $t->log_lines(qr/cannot create|\Q$media\E.*No such file/), 0,
    'no write failed');

$pub->stop;

# files no stream of this nginx owns (left by an earlier nginx, e.g.
# before a binary upgrade) go when their channel starts
ok(wait_for(sub { !$t->nginx->worker_of_client($pub->pid, $t->port('RTMP')) },
    10), 'the publisher is gone');
junk("$media/other/source/seg-7.m4s", "$media/other/low/part-7.0.m4s");
my $key2 = random_key('other');
$t->add_key(other => $key2);
my $pub2 = publish_media($t, $key2, @light);
ok(wait_playlist($t, 'other', 'source',
    sub { @{$_[0]{segments}} >= 2 }, 15), 'the channel starts');
ok(!-e "$media/other/source/seg-7.m4s" && !-e "$media/other/low",
   "the channel's old files are gone");
$pub2->stop;

done_testing;
