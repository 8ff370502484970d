#!/usr/bin/perl

# Segment and init names never repeat on a channel (edges cache them as
# immutable for a year), whatever the publisher's timestamps do: a first
# stream sent faster than real time runs its numbers ahead of the clock;
# after its DVR is discarded, a second stream starts beyond them; after
# an nginx restart, a third starts beyond the second.  The numbers live
# in <media path>/<channel>.names.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => <<'EOF'));
streamline_segment 1s;
            streamline_dvr_window 120s;
            streamline_dvr_grace 1s;
EOF
$t->run;

my $key = random_key();
$t->add_key(main => $key);

my @light = (size => '320x180',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

# one stream: (first msn, last msn, init names) from its ENDLIST playlist
sub stream {
    my (%o) = @_;
    my $pub = publish_media($t, $key, @light, %o);
    my $pl = wait_playlist($t, 'main', 'source',
        sub { $_[0]{endlist} && !$pub->alive }, $o{duration} + 30);
    return () unless $pl;
    my @seg = grep { !$_->{gap} } @{$pl->{segments}};
    my %maps = map { ($_->{map} // '') => 1 } @seg;
    return ($seg[0]{msn}, $pl->{last_msn}, [sort keys %maps]);
}

sub discarded {
    ok(wait_for(sub { !-d channel_dir($t, 'main') }, 15),
        'the DVR was discarded after the grace');
}

# 1: 40 s of media as fast as ffmpeg makes it
my $t0 = time;
my ($first1, $last1, $maps1) = stream(realtime => 0, duration => 40);
ok(defined $last1, 'first stream (faster than real time) ended');
$last1 //= 0;
cmp_ok($last1, '>', int(time) + 15,
    'its numbers ran ahead of the clock (' . ($last1 - int(time)) . ' s)');
discarded();

# 2: right after, in real time
my ($first2, $last2, $maps2) = stream(duration => 3);
ok(defined $first2, 'second stream ended');
cmp_ok($first2 // 0, '>', $last1,
    "the second stream starts after the first ($first2 > $last1)");

sub init_id { my ($m) = @_; $m =~ /init-(\d+)\.mp4/ ? $1 : -1 }
my $max_init1 = (sort { $b <=> $a } map { init_id($_) } @$maps1)[0] // -1;
ok(!grep({ init_id($_) <= $max_init1 } @{$maps2 || []}),
    "its init segments too (@{$maps2 || []} after @$maps1)");
discarded();

my $names = media_dir($t) . '/main.names';
ok(-f $names, 'the channel keeps main.names beside its directory');

# 3: after an nginx restart (leftovers are cleaned, the names file stays)
$t->stop;
$t->run;
my ($first3, $last3, $maps3) = stream(duration => 3);
cmp_ok($first3 // 0, '>', $last2 // 0,
    "after a restart the third starts after the second ($first3)");
my $max_init2 = (sort { $b <=> $a } map { init_id($_) } @{$maps2 || []})[0]
    // -1;
ok(!grep({ init_id($_) <= $max_init2 } @{$maps3 || []}),
    'its init segments too');

done_testing;
