#!/usr/bin/perl

# A publisher that reconnects at once (OBS after a network blip): the new
# stream arrives while the previous one's pipeline still writes its last
# segment.  Its media starts as soon as that ends, with the sequence
# headers nginx-rtmp kept, and the DVR goes on after a discontinuity.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(app => 'streamline_segment 1s;'));
$t->run;

my $key = random_key('main');
$t->add_key(main => $key);
my @light = (size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

my $pub = publish_media($t, $key, @light);
ok(wait_for(sub { my (undef, $pl) = get_media($t, 'main', 'source');
                  $pl && @{$pl->{segments}} >= 3 }, 15), 'first stream: segments');
$pub->kill('KILL');
$pub->wait(5);

# at once, no pause
$pub = publish_media($t, $key, @light);
ok(wait_for(sub { $t->api_status eq 'live' }, 5), 'second stream: live');

my $last;
ok(wait_for(sub {
    my (undef, $pl) = get_media($t, 'main', 'source');
    $last = $pl;
    $pl && !$pl->{endlist} && $pl->{discontinuities}
        && @{$pl->{segments}} > 3
        && $pl->{segments}[-1]{discontinuity} == 0
        && grep { $_->{discontinuity} } @{$pl->{segments}};
}, 20), 'second stream: its segments follow the first after a discontinuity')
    or diag playlist_summary($last);

unlike(join('', $t->log_lines(qr/no media for this one/)), qr/./,
       'no stream went without media');

$pub->stop;
done_testing;
