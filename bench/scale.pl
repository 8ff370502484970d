#!/usr/bin/perl
# bench/scale.pl: the timing parts of bench/scale.sh (which starts the
# processes and calls this; see bench/README.md, "Scale-out").  Core Perl
# only.  Every time here is CLOCK_MONOTONIC.
#
#   scale.pl api RUNS
#       RUNS publishes through the balancer, each stopped once every node
#       said live: when /api/stream says live on the owner, on the other
#       origin and on the edge, and then idle after the stop, from the
#       publisher's start (stop) and from the owner's live (idle) event
#       as a subscriber of streamline:events received it.  One line a run, then a summary.
#   scale.pl failover DELAY RETRY
#       one failover run: a publisher through the balancer, an LL-HLS
#       viewer of the source rendition through the edge (blocking reloads,
#       the hinted part; after an error, plain reloads and the newest part
#       they list); then the owner's nginx (master and workers) is
#       SIGKILLed, and the publisher restarted through the balancer DELAY
#       seconds later (again every RETRY seconds while it is refused, as
#       OBS does); measured: the kill to the viewer's first part via the
#       edge that the new owner served (its access log), and the steps in
#       between.  One line of NAME=VALUE.
#
# Environment (set by scale.sh): BALANCER EDGE HTTP_A HTTP_B REDIS_PORT
# PREFIX_A PREFIX_B KEY FFMPEG_LOG

use strict;
use warnings;

use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(clock_gettime CLOCK_MONOTONIC sleep);

$| = 1;
sub now { clock_gettime(CLOCK_MONOTONIC) }
my %E = map { $_ => $ENV{$_} // die "scale.pl: $_ not set\n" }
    qw(BALANCER EDGE HTTP_A HTTP_B REDIS_PORT PREFIX_A PREFIX_B KEY FFMPEG_LOG);
my %http = (a => $E{HTTP_A}, b => $E{HTTP_B}, edge => $E{EDGE});
my %prefix = (a => $E{PREFIX_A}, b => $E{PREFIX_B});
my %addr = (a => "127.0.0.1:$E{HTTP_A}", b => "127.0.0.1:$E{HTTP_B}");

# --- small clients ---------------------------------------------------------

# GET on a fresh connection: (status, body); status 0 when it failed
sub get {
    my ($port, $path, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 1) or return (0, '');
    print $s "GET $path HTTP/1.0\r\nHost: bench\r\n\r\n";
    my $data = '';
    my $ok = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm($timeout // 2);
        while (sysread($s, my $buf, 65536)) { $data .= $buf }
        alarm 0;
        1;
    };
    alarm 0;
    close $s;
    return (0, '') unless $ok && $data =~ m{^HTTP/1\.[01] (\d+)};
    my $st = $1;
    my (undef, $body) = split /\r\n\r\n/, $data, 2;
    return ($st, $body // '');
}

sub api_status {
    my ($st, $body) = get($http{$_[0]}, '/api/stream', 1);
    return $st == 200 && $body =~ /"status":"(\w+)"/ ? $1 : '';
}

my $redis;
sub redis_get {
    my ($k) = @_;
    for (1 .. 2) {
        $redis //= IO::Socket::INET->new(PeerAddr => '127.0.0.1',
            PeerPort => $E{REDIS_PORT}, Proto => 'tcp', Timeout => 1) or return undef;
        print $redis "*2\r\n\$3\r\nGET\r\n\$" . length($k) . "\r\n$k\r\n";
        my $line = <$redis>;
        if (!defined $line) { undef $redis; next }
        return undef if $line =~ /^\$-1/;
        my ($n) = $line =~ /^\$(\d+)/ or return undef;
        read $redis, my $v, $n + 2;
        return substr $v, 0, $n;
    }
    return undef;
}
# the owner's name (a or b) and status in the channel's state
sub state {
    my $s = redis_get('streamline:state:main') // '';
    my ($o) = $s =~ /"origin":"([^"]+)"/;
    my ($st) = $s =~ /"status":"(\w+)"/;
    my ($who) = grep { defined $o && $addr{$_} eq $o } qw(a b);
    return ($who // '', $st // '');
}

sub publish {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $E{FFMPEG_LOG};
        exec 'ffmpeg', '-nostdin', '-hide_banner', '-loglevel', 'error',
            '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
            '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
            '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency',
            '-g', '50', '-c:a', 'aac', '-f', 'flv',
            "rtmp://127.0.0.1:$E{BALANCER}/live/$E{KEY}";
        exit 127;
    }
    return $pid;
}
sub gone { my ($p) = @_; waitpid($p, WNOHANG) == $p || !kill(0, $p) }
sub stop_pid {
    my ($p, $sig) = @_;
    return unless $p;
    kill $sig // 'TERM', $p;
    for (1 .. 100) { return if gone($p); sleep 0.05 }
    kill 'KILL', $p;
    waitpid $p, 0;
}

sub pct {
    my ($p, @v) = @_;
    @v = sort { $a <=> $b } @v;
    return undef unless @v;
    my $i = int($p * @v + 0.999999) - 1;
    $i = 0 if $i < 0;
    return $v[$i];
}
sub ms { defined $_[0] ? sprintf('%.0f', 1000 * $_[0]) : '-' }

# --- api: publish -> live everywhere, stop -> idle everywhere ---------------

# the owner's transition as Redis publishes it (streamline:events), seen
# by a subscriber of our own: the reference for "the owner said live"
my $sub;
sub subscribe {
    $sub = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $E{REDIS_PORT},
        Proto => 'tcp', Timeout => 1) or die "subscribe: $!";
    print $sub "*2\r\n\$9\r\nSUBSCRIBE\r\n\$17\r\nstreamline:events\r\n";
    my $got = '';
    sysread($sub, $got, 4096, length $got) until $got =~ /:1\r\n/;
}
my $subbuf = '';
sub event_seen {         # a "main" event with this status came since the last call
    my ($want) = @_;
    my $rin = '';
    vec($rin, fileno($sub), 1) = 1;
    while (select(my $rout = $rin, undef, undef, 0) > 0) {
        sysread($sub, my $chunk, 65536) or last;
        $subbuf .= $chunk;
    }
    my $seen = $subbuf =~ /"channel":"main"[^\r\n]*"status":"$want"|"status":"$want"[^\r\n]*"channel":"main"/;
    $subbuf = '';
    return $seen;
}

# poll the three nodes until every one said $want and then kept saying it
# for 0.5 s; per node: (first poll saying it, first poll of the last run
# saying it), and when the event came
sub converge {
    my ($want, $t0) = @_;
    my (%first, %settled, $logged);
    my $deadline = $t0 + 20;
    while (now() < $deadline) {
        $logged //= now() if event_seen($want);
        for my $n (qw(a b edge)) {
            my $t = now();
            if (api_status($n) eq $want) {
                $first{$n} //= $t;
                $settled{$n} //= $t;
            } else {
                delete $settled{$n};
            }
        }
        last if keys %settled == 3 && $logged
            && now() - (sort { $b <=> $a } values %settled)[0] > 0.5;
        sleep 0.004;
    }
    return (\%first, \%settled, $logged);
}

if ($ARGV[0] eq 'api') {
    subscribe();
    my $runs = $ARGV[1] // 20;
    my (%d);
    print "run owner | from the publisher's start (ms): owner other edge | from the live event: other edge | "
        . "stop: from the publisher's TERM: owner other edge | from the idle event: other edge\n";
    for my $run (1 .. $runs) {
        event_seen('');                            # skip what came before
        my $t0 = now();
        my $pub = publish();
        my ($first, $set, $logged) = converge('live', $t0);
        my ($owner) = state();
        unless ($owner && $logged && keys %$set == 3) {
            print "run $run: not live everywhere within 20 s\n";
            stop_pid($pub);
            next;
        }
        my $other = $owner eq 'a' ? 'b' : 'a';
        my %r = (start_owner => $set->{$owner} - $t0, start_other => $set->{$other} - $t0,
                 start_edge => $set->{edge} - $t0, log_other => $set->{$other} - $logged,
                 log_edge => $set->{edge} - $logged, log_owner => $set->{$owner} - $logged);
        sleep 1;
        my $t1 = now();
        stop_pid($pub);
        my ($ifirst, $iset, $ilogged) = converge('idle', $t1);
        if ($ilogged && keys %$iset == 3) {
            %r = (%r, stop_owner => $iset->{$owner} - $t1, stop_other => $iset->{$other} - $t1,
                  stop_edge => $iset->{edge} - $t1, ilog_other => $iset->{$other} - $ilogged,
                  ilog_edge => $iset->{edge} - $ilogged);
        }
        push @{$d{$_}}, $r{$_} for grep { defined $r{$_} } keys %r;
        printf "%3d %s | %s %s %s | %s %s | %s %s %s | %s %s\n", $run, $owner,
            map { ms($r{$_}) } qw(start_owner start_other start_edge log_other log_edge
                                  stop_owner stop_other stop_edge ilog_other ilog_edge);
        sleep 1;
    }
    print "\n";
    my %label = (start_owner => 'publisher start -> live on the owner',
                 start_other => 'publisher start -> live on the other origin',
                 start_edge => 'publisher start -> live on the edge',
                 log_owner => 'live event -> live on the owner',
                 log_other => 'live event -> live on the other origin',
                 log_edge => 'live event -> live on the edge',
                 stop_owner => 'publisher TERM -> idle on the owner',
                 stop_other => 'publisher TERM -> idle on the other origin',
                 stop_edge => 'publisher TERM -> idle on the edge',
                 ilog_other => 'idle event -> idle on the other origin',
                 ilog_edge => 'idle event -> idle on the edge');
    for my $k (qw(start_owner start_other start_edge log_owner log_other log_edge
                  stop_owner stop_other stop_edge ilog_other ilog_edge)) {
        my @v = @{$d{$k} || []};
        printf "%-46s median %5s ms  p95 %5s ms  max %5s ms  (%d runs)\n", $label{$k},
            ms(pct(0.5, @v)), ms(pct(0.95, @v)), ms(pct(1, @v)), scalar @v;
    }
    exit 0;
}

# --- failover ------------------------------------------------------------------

# the viewer: a child that follows the source rendition through the edge
# and prints "T ok MSN PART" for every part it gets, "T err WHAT STATUS"
# for every failed request (T: CLOCK_MONOTONIC)
sub viewer {
    my ($w) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    select((select($w), $| = 1)[0]);
    my $base = '/hls/main/source';
    my ($hint, $bust) = (undef, 0);
    while (1) {
        my ($st, $body);
        if ($hint) {
            ($st, $body) = get($E{EDGE}, "$base/index.m3u8?_HLS_msn=$hint->[0]&_HLS_part=$hint->[1]&_HLS_skip=YES", 8);
        } else {
            # no hint to follow (the start, or after an error): a plain
            # reload the edge has not cached (a query of our own)
            ($st, $body) = get($E{EDGE}, "$base/index.m3u8?bench=" . $bust++, 8);
        }
        my ($m, $p) = $st == 200 ? $body =~ /PRELOAD-HINT:TYPE=PART,URI="part-(\d+)\.(\d+)\.m4s"/ : ();
        if (!defined $p) {
            printf $w "%.6f err playlist %s\n", now(), $st;
            $hint = undef;
            sleep 0.05;
            next;
        }
        # after a plain reload (the start, or after an error), the newest
        # part it lists, as a player joining at the live edge loads it
        if (!$hint) {
            my @listed = $body =~ /#EXT-X-PART:[^\n]*URI="part-(\d+)\.(\d+)\.m4s"/g;
            if (@listed) {
                my ($lm, $lp) = @listed[-2, -1];
                my ($pst) = get($E{EDGE}, "$base/part-$lm.$lp.m4s", 8);
                printf $w "%.6f ok %d %d\n", now(), $lm, $lp if $pst == 200;
            }
        }
        # the blocking reload answered: the part it waited for is there
        if ($hint) {
            my ($pst) = get($E{EDGE}, "$base/part-$hint->[0].$hint->[1].m4s", 8);
            if ($pst == 200) {
                printf $w "%.6f ok %d %d\n", now(), @$hint;
            } elsif ($pst != 404) {            # a 404: a hint made void
                printf $w "%.6f err part %s\n", now(), $pst;
            }
        }
        $hint = [$m, $p];
    }
}

if ($ARGV[0] eq 'failover') {
    my ($delay, $retry) = ($ARGV[1] // 0, $ARGV[2] // 2);
    my $pub = publish();
    my $t0 = now();
    my ($owner, $st);
    while (now() - $t0 < 20) {
        ($owner, $st) = state();
        last if $owner && $st eq 'live';
        sleep 0.05;
    }
    die "failover: not live within 20 s\n" unless $owner && $st eq 'live';
    my $other = $owner eq 'a' ? 'b' : 'a';
    pipe(my $r, my $w) or die "pipe: $!";
    my $vpid = viewer($w);
    close $w;
    my $rbuf = '';
    my @ev;
    my $read = sub {
        my $rin = '';
        vec($rin, fileno($r), 1) = 1;
        while (select(my $rout = $rin, undef, undef, 0) > 0) {
            sysread($r, my $chunk, 65536) or last;
            $rbuf .= $chunk;
        }
        while ($rbuf =~ s/^([^\n]*)\n//) { push @ev, [split / /, $1] }
    };
    # following: 4 s of parts before the kill
    my $tf = now();
    while (now() - $tf < 30) {
        $read->();
        my @ok = grep { $_->[1] eq 'ok' } @ev;
        last if @ok >= 16;
        sleep 0.05;
    }
    my $before = grep { $_->[1] eq 'ok' } @ev;

    # the kill: the owner's master and workers at once, and the
    # broadcaster's connection with it
    open my $pf, '<', "$prefix{$owner}/nginx.pid" or die "pid file: $!";
    chomp(my $master = <$pf> // '');
    my @procs = ($master);
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my ($p, $pp) = (<$fh> // '') =~ /^(\d+) \(.*\) \S (\d+)/s or next;
        push @procs, $p if $pp == $master;
    }
    my $media = "$prefix{$other}/media/main/source";
    my %old_parts = map { $_ => 1 } glob "$media/part-*.m4s";
    # the new owner's access log from now on: a part the viewer gets is
    # the new owner's when it is there (one the old owner sent just
    # before the kill can still arrive after it), and new when it was
    # not in the new owner's media directory at the kill (the new owner
    # may still list parts of its own from an earlier stream of the
    # channel: its DVR goes on within the grace)
    my $alog = "$prefix{$other}/logs/access.log";
    my $aoff = -s $alog // 0;
    my %served;
    my $served_read = sub {
        open my $al, '<', $alog or return;
        seek $al, $aoff, 0;
        while (my $l = <$al>) {
            $served{"$1.$2"} = 1 if $l =~ m{GET /hls/main/source/part-(\d+)\.(\d+)\.m4s };
        }
        $aoff = tell $al;
    };
    my $tk = now();
    kill 'KILL', @procs;
    stop_pid($pub, 'KILL');
    undef $pub;
    my ($t_pub, $t_state, $t_disk, $t_view, $refused, $view_part) = (undef, undef, undef, undef, 0);
    my $attempt_at = $tk + $delay;
    while (now() - $tk < 60) {
        my $t = now();
        if ((!$pub || gone($pub)) && $t >= $attempt_at && !$t_state) {
            $refused++ if $pub;
            $pub = publish();
            $t_pub //= $t;
            $attempt_at = $t + $retry;
        }
        if (!$t_state) {
            my ($o, $s) = state();
            $t_state = now() if $o eq $other && $s eq 'live';
        }
        if (!$t_disk) {
            $t_disk = now() if grep { !$old_parts{$_} } glob "$media/part-*.m4s";
        }
        $read->();
        $served_read->();
        my ($first) = grep { $_->[1] eq 'ok' && $_->[0] > $tk && $served{"$_->[2].$_->[3]"}
                              && !$old_parts{"$media/part-$_->[2].$_->[3].m4s"} } @ev;
        if ($first) {
            ($t_view, $view_part) = ($first->[0], "$first->[2].$first->[3]");
            last;
        }
        sleep 0.01;
    }
    kill 'TERM', $vpid;
    waitpid $vpid, 0;
    my ($last_ok) = reverse grep { $_->[1] eq 'ok' && $_->[0] <= $tk } @ev;
    my $errors = grep { $_->[1] eq 'err' && $_->[0] > $tk } @ev;
    # parts of the old owner that came after the kill (sent before it)
    my $late_old = grep { $_->[1] eq 'ok' && $_->[0] > $tk && !$served{"$_->[2].$_->[3]"}
                          && (!$t_view || $_->[0] < $t_view) } @ev;
    stop_pid($pub);
    printf "delay=%s owner=%s new_owner=%s gap_ms=%s publish_ms=%s takeover_ms=%s first_part_on_disk_ms=%s "
         . "viewer_ms=%s refused=%d last_part_before_kill_ms=%s viewer_errors=%d parts_before=%d old_parts_after_kill=%d new_part=%s\n",
        $delay, $owner, $other, ms($t_view ? $t_view - $tk : undef), ms($t_pub ? $t_pub - $tk : undef),
        ms($t_state ? $t_state - $tk : undef), ms($t_disk ? $t_disk - $tk : undef),
        ms($t_view ? $t_view - $tk : undef), $refused, ms($last_ok ? $tk - $last_ok->[0] : undef),
        $errors, $before, $late_old, $view_part // '-';
    exit($t_view ? 0 : 1);
}

die "usage: scale.pl api RUNS | failover DELAY RETRY\n";
