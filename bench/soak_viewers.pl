#!/usr/bin/perl
# bench/soak_viewers.pl PORT CHANNEL VIEWERS OUT: viewers that poll an
# origin the way a player does, until SIGTERM.  Each second every viewer
# takes the master playlist once, then each rendition's media playlist
# and the newest part or segment it lists.  Writes one line a minute and
# a summary to OUT: requests by status, and every failure with its time
# (a failure is anything but 200, or a listed file that does not come),
# and every stall: a live rendition whose newest part stays the same for
# more than 6 s (three target durations).
use strict;
use warnings;
use HTTP::Tiny;
use Time::HiRes qw(time sleep);

my ($port, $channel, $viewers, $out) = @ARGV;
die "usage: $0 PORT CHANNEL VIEWERS OUT\n" unless $out;

my $base = "http://127.0.0.1:$port/hls/$channel";
my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 1);
my (%status, @fail, @stall, %newest, $stop);
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };

open my $fh, '>', $out or die "$out: $!\n";
$fh->autoflush(1);

sub get {
    my ($url, $what) = @_;
    my $r = $http->get($url);
    $status{$r->{status}}++;
    push @fail, sprintf('%.1f %s %s %s', time, $r->{status}, $what, $url)
        if $r->{status} != 200;
    return $r->{status} == 200 ? $r->{content} : undef;
}

my $live = 0;
my $minute = time + 60;
while (!$stop) {
    my $t0 = time;
    for my $v (1 .. $viewers) {
        my $master = get("$base/master.m3u8", 'master');
        if (!defined $master) {
            $live = 0;
            last;
        }
        $live = 1;
        for my $uri ($master =~ /^([^#\s][^\s]*)$/mg) {
            my $pl = get("$base/$uri", 'playlist') // next;
            (my $dir = $uri) =~ s{[^/]*$}{};
            my @parts = $pl =~ /#EXT-X-PART:[^\n]*URI="([^"]+)"/g;
            my @segs  = $pl =~ /^([^#\s][^\s]*)$/mg;
            my $file = $parts[-1] // $segs[-1] // next;
            get("$base/$dir$file", 'media');
            next if $v > 1;
            if ($pl =~ /#EXT-X-ENDLIST/) {      # ended: not a stall
                delete $newest{$uri};
                next;
            }
            my $n = $newest{$uri} //= { file => '', since => time };
            if ($n->{file} ne $file) {
                push @stall, sprintf('%.1f %s stalled %.1f s', time, $uri,
                                     time - $n->{since})
                    if time - $n->{since} > 6 && $n->{file} ne '';
                @$n{qw(file since)} = ($file, time);
            }
        }
    }
    if (time >= $minute) {
        $minute += 60;
        printf $fh "%.0f requests %s\n", time,
            join(' ', map { "$_=$status{$_}" } sort keys %status);
    }
    my $left = 1 - (time - $t0);
    sleep $left if $left > 0;
}

for my $uri (sort keys %newest) {
    my $n = $newest{$uri};
    push @stall, sprintf('%.1f %s stalled %.1f s, at the end', time, $uri,
                         time - $n->{since}) if time - $n->{since} > 6;
}
printf $fh "total %s\n", join(' ', map { "$_=$status{$_}" } sort keys %status);
print $fh "stall $_\n" for @stall;
print $fh "failure $_\n" for @fail;
close $fh;
