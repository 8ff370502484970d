package Streamline::Rtmp;

# A small RTMP publisher in core Perl, for tests that need what ffmpeg
# will not send: metadata of our choosing, sequence headers patched byte
# by byte.  It replays the audio and video tags of an FLV file in real
# time, after an @setDataFrame of the caller's.
#
#   my $p = Streamline::Rtmp->connect(port => $t->port('RTMP'),
#                                     app => 'live');
#   $p->publish($key) or die $p->{error};     # waits for Publish.Start
#   $p->metadata(width => 320, framerate => 30);
#   $p->play_flv($flv_file, patch => sub { my ($type, $data) = @_; ... },
#                seconds => 6);
#   $p->close;
#
# Only what a publisher needs: the simple (version 0) handshake, one chunk
# size, fmt 0 chunks with absolute timestamps, AMF0 numbers, strings,
# booleans, null and objects.  What the server sends is read and dropped,
# except that publish() looks for NetStream.Publish.Start in it.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $CHUNK = 4096;

sub connect {
    my ($class, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
        PeerPort => $o{port}, Proto => 'tcp', Timeout => 5)
        or return bless { error => "connect: $!" }, $class;
    binmode $s;
    my $self = bless { s => $s, app => $o{app} // 'live',
                       port => $o{port}, in => '' }, $class;

    # C0 C1, then S0 S1 S2, then C2 = S1
    my $c1 = pack('NN', 0, 0) . join('', map { chr(int rand 256) } 1 .. 1528);
    $self->_write("\x03" . $c1) or return $self;
    my $s012 = $self->_read_exactly(1 + 1536 + 1536, 5);
    unless (defined $s012) {
        $self->_fail('no handshake answer');
        return $self;
    }
    $self->_write(substr($s012, 1, 1536)) or return $self;

    # set chunk size, then connect
    $self->_send(2, 1, 0, 0, pack('N', $CHUNK));
    $self->{chunk} = $CHUNK;
    my $tc = "rtmp://127.0.0.1:$o{port}/$self->{app}";
    $self->_send(3, 20, 0, 0, amf('connect') . amf(1)
        . amf_object(app => $self->{app}, type => 'nonprivate',
                     flashVer => 'FMLE/3.0 (compatible; Streamline test)',
                     tcUrl => $tc));
    $self->_fail('connect not accepted')
        unless defined $self->_wait_for(qr/NetConnection\.Connect\.Success/, 5);
    return $self;
}

sub publish {
    my ($self, $name) = @_;
    return 0 if $self->{error};
    $self->_send(3, 20, 0, 0, amf('releaseStream') . amf(2) . amf(undef)
        . amf($name));
    $self->_send(3, 20, 0, 0, amf('createStream') . amf(3) . amf(undef));
    # nginx-rtmp answers every createStream with stream 1
    $self->_send(8, 20, 0, 1, amf('publish') . amf(4) . amf(undef)
        . amf($name) . amf($self->{app}));
    my $got = $self->_wait_for(
        qr/NetStream\.Publish\.(Start|BadName|BadConnection)/, 10);
    return 1 if defined $got && $got eq 'Start';
    $self->_fail('publish: ' . ($got // 'no answer'));
    return 0;
}

# @setDataFrame("onMetaData", { %meta }) on the stream
sub metadata {
    my ($self, %meta) = @_;
    $self->_send(4, 18, 0, 1, amf('@setDataFrame') . amf('onMetaData')
        . amf_object(%meta));
}

# the audio (8) and video (9) tags of an FLV file, at their pace;
# patch => sub { ($type, $data) } may return new data for a tag;
# seconds => N stops after N seconds of media
sub play_flv {
    my ($self, $file, %o) = @_;
    open my $fh, '<:raw', $file or return $self->_fail("$file: $!");
    local $/;
    my $flv = <$fh>;
    close $fh;
    return $self->_fail("$file: not FLV") unless substr($flv, 0, 3) eq 'FLV';

    my $pos = unpack('N', substr($flv, 5, 4)) + 4;
    my $start = time;
    while ($pos + 11 <= length $flv) {
        my ($type, $size) = (ord(substr($flv, $pos, 1)),
                             unpack('N', "\0" . substr($flv, $pos + 1, 3)));
        my $ts = unpack('N', "\0" . substr($flv, $pos + 4, 3))
                 | (ord(substr($flv, $pos + 7, 1)) << 24);
        my $data = substr($flv, $pos + 11, $size);
        $pos += 11 + $size + 4;
        next unless $type == 8 || $type == 9;
        last if $o{seconds} && $ts > $o{seconds} * 1000;
        $data = $o{patch}->($type, $data) // $data if $o{patch};
        my $wait = $start + $ts / 1000 - time;
        sleep $wait if $wait > 0;
        $self->_send($type == 9 ? 6 : 5, $type, $ts, 1, $data) or last;
        $self->_drain;
    }
    return !$self->{error};
}

sub close {
    my ($self) = @_;
    close $self->{s} if $self->{s};
    delete $self->{s};
}

sub error { $_[0]{error} }


# AMF0 ------------------------------------------------------------------------

sub amf {
    my ($v) = @_;
    return "\x05" unless defined $v;
    return "\x00" . pack('d>', $v) if $v =~ /^-?\d+(?:\.\d+)?$/;
    return "\x02" . pack('n', length $v) . $v;
}

# keys in the order given; values as amf()
sub amf_object {
    my (@kv) = @_;
    my $out = "\x03";
    while (my ($k, $v) = splice @kv, 0, 2) {
        $out .= pack('n', length $k) . $k . amf($v);
    }
    return $out . "\x00\x00\x09";
}


# chunks ----------------------------------------------------------------------

sub _send {
    my ($self, $csid, $type, $ts, $msid, $payload) = @_;
    return 0 unless $self->{s};
    my $size = $self->{chunk} // 128;
    my $out = chr($csid) . substr(pack('N', $ts), 1)
        . substr(pack('N', length $payload), 1) . chr($type)
        . pack('V', $msid);
    for (my $off = 0; $off < length $payload; $off += $size) {
        $out .= chr(0xc0 | $csid) if $off;
        $out .= substr($payload, $off, $size);
    }
    return $self->_write($out);
}

sub _write {
    my ($self, $data) = @_;
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($self->{s}, $data, length($data) - $off, $off);
        return $self->_fail("write: $!") unless $n;
        $off += $n;
    }
    return 1;
}

sub _read_exactly {
    my ($self, $n, $timeout) = @_;
    my $buf = '';
    my $until = time + $timeout;
    my $sel = IO::Select->new($self->{s});
    while (length $buf < $n) {
        my $left = $until - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $r = sysread($self->{s}, $buf, $n - length $buf, length $buf);
        return undef unless $r;
    }
    return $buf;
}

# reads what the server sent (and keeps the last 64 KB of it) until $re
# matches; returns its first group (or the match)
sub _wait_for {
    my ($self, $re, $timeout) = @_;
    my $until = time + $timeout;
    my $sel = IO::Select->new($self->{s});
    while (1) {
        return $1 // $& if $self->{in} =~ $re;
        my $left = $until - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $r = sysread($self->{s}, my $buf, 65536);
        return undef unless $r;
        $self->{in} = substr($self->{in} . $buf, -65536);
    }
}

# what the server sent meanwhile (acknowledgements): read, dropped
sub _drain {
    my ($self) = @_;
    my $sel = IO::Select->new($self->{s});
    while ($sel->can_read(0)) {
        my $r = sysread($self->{s}, my $buf, 65536);
        return $self->_fail('closed by the server') unless $r;
        $self->{in} = substr($self->{in} . $buf, -65536);
    }
    return 1;
}

# notes the first error; false, for "return $self->_fail(...)"
sub _fail {
    my ($self, $msg) = @_;
    $self->{error} //= $msg;
    return 0;
}

1;
