#!/usr/bin/perl

# A publish within the grace continues the DVR only when its shape is the
# same: after a reload that changed the ladder, the next publish starts a
# new DVR with the new renditions (each indexed, listed in the master
# playlist) and none of the removed ones.  A reload that changes only
# streamline_part_hold_back resumes the DVR with the new PART-HOLD-BACK.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;

sub conf {
    my ($rungs) = @_;
    return media_conf(app => "streamline_segment 1s;
            streamline_dvr_window 60s;
            streamline_dvr_grace 60s;
            $rungs");
}

$t->write_conf(conf('streamline_rendition low 320x180 300k preset=ultrafast;'));
$t->run;

my $key = random_key();
$t->add_key(main => $key);
my @light = (size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 25 -keyint_min 25
                  -sc_threshold 0 -pix_fmt yuv420p)]);

sub names {
    my (undef, $m) = get_master($t, 'main');
    return $m ? join ' ', sort map { $_->{uri} =~ m{^([^/]+)/} } @{$m->{variants}}
              : '';
}

my $pub = publish_media($t, $key, @light);
ok(wait_playlist($t, 'main', 'low', sub { @{$_[0]{segments}} >= 2 }, 20),
   'first stream: low packaged');
is(names(), 'low source', 'first stream: master lists source and low');
$pub->stop;
ok(wait_playlist($t, 'main', 'source', sub { $_[0]{endlist} }, 10),
   'first stream ended (within the grace now)');

# the ladder changes: low goes, mid comes
ok(scalar $t->reload(conf => conf(
    'streamline_rendition mid 256x144 200k preset=ultrafast;')), 'reloaded');

$pub = publish_media($t, $key, @light);
ok(wait_playlist($t, 'main', 'mid', sub { @{$_[0]{segments}} >= 2 }, 20),
   'second stream: the new rendition is indexed');
ok(wait_for(sub { names() eq 'mid source' }, 10),
   'second stream: master lists source and mid only') or diag names();
my ($r) = get_media($t, 'main', 'low');
is($r->{status}, 404, 'the removed rendition is gone');
my (undef, $src) = get_media($t, 'main', 'source');
ok($src && !$src->{endlist} && !$src->{discontinuities},
   'source: a new DVR, live') or diag $src && $src->{text};
ok(!-e media_dir($t) . '/main/low', "the removed rendition's files are gone");

# the same ladder again: a publish within the grace resumes
$pub->stop;
ok(wait_playlist($t, 'main', 'source', sub { $_[0]{endlist} }, 10),
   'second stream ended');
my $last = (get_media($t, 'main', 'source'))[1]{segments}[-1]{msn};
$pub = publish_media($t, $key, @light);
my $pl = wait_playlist($t, 'main', 'source',
    sub { !$_[0]{endlist} && $_[0]{segments}[-1]{msn} > $last + 1 }, 20);
ok($pl && $pl->{discontinuities} == 1 && $pl->{segments}[0]{msn} <= $last,
   'same ladder: the DVR goes on after a discontinuity');
$pub->stop;
ok(wait_playlist($t, 'main', 'source', sub { $_[0]{endlist} }, 10),
   'third stream ended');

# LL-HLS parts: a reload that changes only streamline_part_hold_back, and
# a publish within the grace, resumes the DVR with the new hold-back
sub ll { my ($n) = @_; conf("streamline_rendition mid 256x144 200k preset=ultrafast;
            streamline_part 250ms;
            streamline_part_hold_back $n;") }
sub hold_back {
    my $r = $t->get('/hls/main/source/index.m3u8');
    return $r->{status} == 200 && $r->{body} =~ /PART-HOLD-BACK=([\d.]+)/ ? $1 : '';
}

ok(scalar $t->reload(conf => ll(3)), 'reloaded: parts, hold-back 3');
$pub = publish_media($t, $key, @light);
ok(wait_for(sub { hold_back() eq '0.750' }, 20), 'PART-HOLD-BACK 0.750')
    or diag hold_back();
$pub->stop;
ok(wait_playlist($t, 'main', 'source', sub { $_[0]{endlist} }, 10),
   'fourth stream ended');
$last = (get_media($t, 'main', 'source'))[1]{segments}[-1]{msn};

ok(scalar $t->reload(conf => ll(5)), 'reloaded: hold-back 5');
$pub = publish_media($t, $key, @light);
$pl = wait_playlist($t, 'main', 'source',
    sub { !$_[0]{endlist} && $_[0]{segments}[-1]{msn} > $last + 1 }, 20);
ok($pl && $pl->{segments}[0]{msn} <= $last, 'the DVR goes on')
    or diag $pl && $pl->{text};
is(hold_back(), '1.250', 'with the new PART-HOLD-BACK: 1.250 (5 parts)');
$pub->stop;

done_testing;
