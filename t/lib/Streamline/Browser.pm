package Streamline::Browser;

# Headless Chromium for the tests: html/test/browser.mjs (playwright-core)
# as a child process, one JSON command per line in, one JSON answer out.
#
#   my $b = Streamline::Browser->new($t);     # skips the file if unavailable
#   $b->goto($url);
#   my $v = $b->eval('streamline.api');
#   my $v = $b->wait('document.body.dataset.state === "playing"', 20);
#   $b->click('.vjs-seek-to-live-control');
#   my @urls = @{ $b->requests };
#
# Every call dies on a protocol failure.  eval returns the expression's
# value (undef for null and undefined) and dies when the page's script
# throws: a check of a false value must not pass on an exception.  wait
# returns the truthy value, or undef at the deadline or on an exception;
# the other commands return 1, or undef when the page said no; either way
# $b->error says why.

use strict;
use warnings;

use IPC::Open2;
use IO::Select;
use JSON::PP;
use POSIX ();
use Test::More ();

my $json = JSON::PP->new->canonical->allow_nonref;

sub available {
    my $top = $Streamline::Test::REPO;
    return 'html/node_modules missing: run "make npm"'
        unless -d "$top/html/node_modules/playwright-core";
    return 'no /usr/bin/chromium' unless -x ($ENV{CHROMIUM} // '/usr/bin/chromium');
    return;
}

sub new {
    my ($class, $t) = @_;
    my $top = $Streamline::Test::REPO;
    my ($out, $in);
    my $pid = open2($out, $in, 'node', "$top/html/test/browser.mjs");
    binmode $out; binmode $in;
    my $self = bless { pid => $pid, out => $out, in => $in, buf => '',
                       sel => IO::Select->new($out) }, $class;
    $t->_track($self) if $t;
    return $self;
}

sub alive { $_[0]{pid} && kill 0, $_[0]{pid} }
sub error { $_[0]{error} }

sub _cmd {
    my ($self, $timeout, %c) = @_;
    die "browser gone\n" unless $self->{pid};
    my $line = $json->encode(\%c) . "\n";
    syswrite $self->{in}, $line;
    my $deadline = time + $timeout;
    while ($self->{buf} !~ /\n/) {
        my $left = $deadline - time;
        die "browser: no answer to $c{cmd} within ${timeout}s\n" if $left <= 0;
        next unless $self->{sel}->can_read($left);
        my $n = sysread $self->{out}, $self->{buf}, 65536, length $self->{buf};
        die "browser: exited\n" unless $n;
    }
    $self->{buf} =~ s/^([^\n]*)\n//;
    my $a = $json->decode($1);
    $self->{error} = $a->{ok} ? undef : $a->{error};
    return ($a->{ok}, $a->{value});
}

# a command that answers nothing: 1 when done, undef when the page said no
sub _do { my ($self, @c) = @_; ($self->_cmd(@c))[0] ? 1 : undef }

# a command that answers a value: the value, undef when the page said no
sub _get {
    my ($self, @c) = @_;
    my ($ok, $v) = $self->_cmd(@c);
    return $ok ? $v : undef;
}

sub goto       { $_[0]->_do(60, cmd => 'goto', url => $_[1]) }
sub click      { $_[0]->_do(30, cmd => 'click', selector => $_[1]) }
sub hover      { $_[0]->_do(30, cmd => 'hover', selector => $_[1]) }
# download(selector, path): a click that starts a download, saved to path:
# { url, filename, size }, or undef
sub download   { $_[0]->_get(60, cmd => 'download', selector => $_[1], path => $_[2]) }
# the mouse onto a point of an element: x is a fraction of its width
sub hover_at   { $_[0]->_do(30, cmd => 'hover_at', selector => $_[1], x => $_[2]) }
sub key        { $_[0]->_do(30, cmd => 'key', key => $_[1]) }
sub screenshot { $_[0]->_do(30, cmd => 'screenshot', path => $_[1]) }
sub viewport   { $_[0]->_do(30, cmd => 'viewport', width => $_[1], height => $_[2]) }
sub requests   { $_[0]->_get(30, cmd => 'requests') }
sub console    { $_[0]->_get(30, cmd => 'console') }
sub metrics    { $_[0]->_get(30, cmd => 'metrics') }
# delay(regexp, ms): matching requests go out ms late; delay() ends it
sub delay      { $_[0]->_do(30, cmd => 'delay', match => $_[1], ms => $_[2]) }

sub eval {
    my ($self, $js) = @_;
    my ($ok, $v) = $self->_cmd(30, cmd => 'eval', js => $js);
    die "browser: the page threw on \"$js\": $self->{error}\n" unless $ok;
    return $v;
}

# wait($js, $seconds): the expression's value once truthy, or undef
sub wait {
    my ($self, $js, $secs) = @_;
    $secs //= 10;
    return $self->_get($secs + 30, cmd => 'wait', js => $js,
                       timeout => $secs * 1000);
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid};
    syswrite $self->{in}, qq({"cmd":"close"}\n);
    close $self->{in};
    for (1 .. 50) {
        last if waitpid($self->{pid}, POSIX::WNOHANG()) == $self->{pid};
        select undef, undef, undef, 0.1;
    }
    if (kill 0, $self->{pid}) {
        kill 'KILL', $self->{pid};
        waitpid $self->{pid}, 0;
    }
    $self->{pid} = undef;
}

sub DESTROY { local ($?, $@); $_[0]->stop }

1;
