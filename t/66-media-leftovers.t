#!/usr/bin/perl

# What a crashed nginx left under the media path is removed when nginx
# starts (not on a reload: a live stream's files must survive that), and a
# stream then packages into a clean directory.

use strict;
use warnings;

use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
my $media = "$t->{dir}/media";

# a crash's leftovers: a channel directory, a half-written segment
mkdir $media;
mkdir "$media/main";
mkdir "$media/main/source";
for my $f ("$media/main/source/seg-1.m4s", "$media/main/source/seg-2.m4s.tmp",
           "$media/stray") {
    open my $fh, '>', $f or die "$f: $!";
    print $fh "junk";
    close $fh;
}

$t->start_redis;
$t->write_conf(media_conf(app => 'streamline_segment 1s;'));
$t->run;

ok(!-e "$media/main/source/seg-1.m4s" && !-e "$media/main/source/seg-2.m4s.tmp"
   && !-e "$media/stray", 'leftovers removed at start');
ok(-d $media, 'the media path itself stays');

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '320x240',
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

ok(wait_for(sub { my (undef, $pl) = get_media($t, 'main', 'source');
                  $pl && @{$pl->{segments}} >= 2 }, 15),
   'a stream packages after the clean-up');

# a reload keeps the live stream's files
my @before = glob("$media/main/source/seg-*.m4s");
$t->reload;
ok((grep { -e } @before) == @before, 'a reload removes nothing');

$pub->stop;
done_testing;
