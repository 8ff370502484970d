#!/usr/bin/perl

# Two workers: the RTMP session and its pipeline live in one, playlists are
# rendered by whichever worker accepts the HTTP connection (reuseport
# spreads fresh connections over both).  Once the first segment exists no
# worker answers 404; answers, in the order they come, never go back
# (MEDIA-SEQUENCE and the last segment stay or grow, each a valid reload
# of the previous); every worker serves the segments; a reload (HUP)
# mid-stream keeps the playlist growing through the new workers while the
# old one keeps the session; after the end every worker says ENDLIST, and
# after the grace every worker says 404.

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $GRACE = 3;
my @RENDS = qw(source low);

my $t = Streamline::Test->new;
$t->start_redis;
$t->write_conf(media_conf(workers => 2, http_listen => 'reuseport',
    app => <<'EOF'));
streamline_segment 1s;
            streamline_dvr_window 30s;
            streamline_dvr_grace 3s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$t->run;
my @first_workers = $t->nginx->worker_pids;
is(scalar @first_workers, 2, 'two workers');

my $key = random_key();
$t->add_key(main => $key);
my $begin = time;
my $pub = publish_media($t, $key, size => '640x360', duration => 14,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
        -sc_threshold 0 -pix_fmt yuv420p)]);
my $session = wait_for(sub {
    $t->nginx->worker_of_client($pub->pid, $t->port('RTMP'))
}, 10);
ok($session, 'the publisher is connected to a worker');

# one fetch of each playlist; every answer is kept, in order
my (%seen_first, %last, %by_worker, @problems, @pdt, @not_found, @master_bad);
my $fetches = 0;
sub poll {
    my ($phase) = @_;
    for my $rend (@RENDS) {
        my ($r, $pl) = get_media($t, 'main', $rend);
        my $w = $r->{headers}{'x-worker'} // '?';
        $fetches++;
        $by_worker{$phase}{$w}++;
        if (!$pl) {
            push @not_found, sprintf('%s %s: %d from worker %s at %.1f s',
                $phase, $rend, $r->{status}, $w, time - $begin)
                if $seen_first{$rend};
            next;
        }
        $seen_first{$rend} //= time;
        push @problems, map { "$phase $rend (worker $w): $_" }
            @{$pl->{problems}}, check_reload($last{$rend}, $pl);
        push @pdt, map { "$phase $rend (worker $w): $_" }
            pdt_changes($last{$rend}, $pl);
        $pl->{worker} = $w;
        $last{$rend} = $pl;
    }
    my ($mr, $m) = get_master($t, 'main');
    if ($seen_first{low} && (!$m || @{$m->{variants}} != 2)) {
        push @master_bad, sprintf '%s: master %d from worker %s: %s', $phase,
            $mr->{status}, $mr->{headers}{'x-worker'} // '?', $mr->{body};
    }
}

# live, before the reload
my $until = time + 6;
while (time < $until) {
    poll('live');
    sleep 0.1;
}
ok($seen_first{source}, 'the source playlist appeared');
my %live_workers = %{$by_worker{live} || {}};
delete $live_workers{'?'};
is_deeply([sort { $a <=> $b } keys %live_workers], \@first_workers,
    'both workers answered playlists') or diag explain $by_worker{live};
my $before = $last{source}{last_msn} // 0;

# the segments, through both workers
{
    my %got;
    my $seg = $last{source}{segments}[0];
    for (1 .. 40) {
        my $r = $t->get("/hls/main/source/$seg->{uri}");
        $got{$r->{headers}{'x-worker'} // '?'} = $r->{status};
        last if keys %got >= 2;
    }
    is_deeply([sort values %got], [200, 200],
        'a segment is served by both workers') or diag explain \%got;
}

# reload mid-stream
my @new = $t->reload;
is(scalar @new, 2, 'reloaded: two new workers') or diag explain [
    $t->nginx->children ];
ok(kill(0, $session), 'the old worker keeps the session') if $session;
ok($pub->alive, 'the publisher goes on') or diag $pub->stderr;
my $reloaded = time;
while ($pub->alive && time < $begin + 30) {
    poll('reloaded');
    sleep 0.1;
}
my %new_workers = %{$by_worker{reloaded} || {}};
delete $new_workers{'?'};
is_deeply([sort { $a <=> $b } keys %new_workers], [sort { $a <=> $b } @new],
    'after the reload, the new workers answer') or diag explain \%new_workers;
my $after = $last{source}{last_msn} // 0;
diag(sprintf 'last segment %d before the reload, %d when the stream ended '
    . '(%.1f s later)', $before, $after, time - $reloaded);
cmp_ok($after - $before, '>=', 5,
    'the playlist kept growing after the reload');
is($pub->wait(10), 0, 'the publisher ran its 14 s') or diag $pub->stderr;
my $ended = time;

# ENDLIST from every worker
my %endlist;
wait_for(sub {
    poll('ended');
    for my $rend (@RENDS) {
        my $pl = $last{$rend} or next;
        $endlist{"$rend $pl->{worker}"} = 1 if $pl->{endlist};
    }
    return keys %endlist >= 2 * @new;
}, 5);
is_deeply([sort keys %endlist],
    [sort map { my $w = $_; map { "$_ $w" } @RENDS } @new],
    'every worker renders ENDLIST for every rendition');
my $endlist_at = time;
ok(wait_for(sub { !kill 0, $session }, 10),
    'the old worker exits once its session is over') if $session;

# answers seen so far: none went back, no 404 after the first segment
ok(!@not_found, 'no 404 once the first segment existed')
    or diag join "\n", @not_found[0 .. ($#not_found < 9 ? $#not_found : 9)];
ok(!@problems, 'every answer follows the rules and continues the previous '
    . "one, whichever worker ($fetches fetches)")
    or diag join "\n", @problems[0 .. ($#problems < 9 ? $#problems : 9)];
ok(!@pdt, 'segments keep their PROGRAM-DATE-TIME across workers')
    or diag join "\n", @pdt[0 .. ($#pdt < 9 ? $#pdt : 9)];
ok(!@master_bad, 'the master lists both renditions in every answer')
    or diag join "\n", @master_bad[0 .. ($#master_bad < 4 ? $#master_bad : 4)];

# after the grace: 404 from every worker, the directory gone
my %gone;
ok(wait_for(sub {
    for (1 .. 4) {
        my ($r) = get_media($t, 'main', 'source');
        $gone{$r->{headers}{'x-worker'} // '?'} = $r->{status};
    }
    return 2 == grep { $_ == 404 } values %gone;
}, $GRACE + 4), 'after the grace: 404 from both workers')
    or diag explain \%gone;
diag(sprintf '404 %.1f s after the end', time - $ended);
ok(wait_for(sub { !-e channel_dir($t, 'main') }, 3),
    'the channel directory is gone');

diag(sprintf 'test ran %.1f s', time - $begin);

done_testing;
