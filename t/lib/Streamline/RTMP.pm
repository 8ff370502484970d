package Streamline::RTMP;

# An RTMP publisher for what ffmpeg will not send.  It publishes the audio
# and video tags of an FLV file (made by ffmpeg) as they are, paced by
# their timestamps like "ffmpeg -re", and can
#   - withhold the sequence headers: for good, or until a later keyframe,
#   - send an onMetaData of the caller's first (a width without a height),
#   - change a tag on its way (a byte of the SPS).
# Core Perl only.
#
#   my $pub = Streamline::RTMP::publish_flv($t, $key, $flv,
#       headers_at => undef,      # never send the sequence headers
#       headers_at => 3,          # withhold them until the first video
#                                 # keyframe from 3 s of media on
#       metadata => [width => 320, framerate => 30],   # in this order
#       patch => sub { my ($type, $body) = @_; ... });  # new body, or undef
#   $pub->alive; $pub->wait(10); $pub->exit_code; $pub->stderr;
#
# Without headers_at the tags go as they are in the file, headers and all.
# The publisher is a child process (a Streamline::Test::Publisher): the
# plain RTMP handshake, connect, createStream, publish; it sends media only
# once the server answered NetStream.Publish.Start, then the metadata, then
# the tags, and exits 0 at the end of the file (2 if the publish was
# refused, 3 if the connection broke).

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);

# FLV tag types, which are also the RTMP message types
use constant { AUDIO => 8, VIDEO => 9, DATA => 18 };

sub publish_flv {
    my ($t, $key, $flv, %o) = @_;
    my $port = $o{port} // $t->port('RTMP');
    my $app = $o{app} // 'live';
    my $n = ++$t->{seq};
    my $err = $t->testdir . "/rtmp-$n.stderr";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(INT TERM PIPE HUP);
        open STDERR, '>>', $err or POSIX::_exit(126);
        my $code = eval { _run($port, $app, $key, $flv, \%o) };
        print STDERR $@ if $@;
        POSIX::_exit($code // 3);
    }
    my $p = $t->_track(Streamline::Test::Proc->new(pid => $pid, err => $err,
        what => 'rtmp publisher', started => time));
    return bless $p, 'Streamline::Test::Publisher';
}

# the FLV file's audio and video tags: [type, ms, body]
sub read_flv {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!\n";
    local $/;
    my $d = <$fh>;
    die "$path: not an FLV file\n" unless substr($d, 0, 3) eq 'FLV';
    my $pos = unpack('x5 N', $d) + 4;
    my @tags;
    while ($pos + 11 <= length $d) {
        my ($type, $s1, $s2, $t1, $t2, $tx) =
            unpack("x$pos C C n C n C", $d);
        my $size = ($s1 << 16) | $s2;
        my $ms = ($tx << 24) | ($t1 << 16) | $t2;
        last if $pos + 11 + $size > length $d;
        push @tags, [$type, $ms, substr($d, $pos + 11, $size)]
            if $type == AUDIO || $type == VIDEO;
        $pos += 11 + $size + 4;
    }
    return \@tags;
}

# an AAC or H.264 sequence header
sub is_header {
    my ($tag) = @_;
    my ($type, undef, $b) = @$tag;
    return 0 if length $b < 2;
    my $first = ord $b;
    my $packet_type = ord substr($b, 1, 1);
    return $packet_type == 0 && (($type == VIDEO && ($first & 0x0f) == 7)
                                 || ($type == AUDIO && ($first >> 4) == 10));
}

sub is_video_key {
    my ($tag) = @_;
    return $tag->[0] == VIDEO && (ord($tag->[2]) >> 4) == 1
        && !is_header($tag);
}

# AMF0
sub _num { "\x00" . pack('d>', $_[0]) }
sub _str { "\x02" . pack('n', length $_[0]) . $_[0] }
sub _null { "\x05" }

# keys in the order given; a value that looks like a number is one
sub _obj {
    my (@kv) = @_;
    my $o = "\x03";
    while (my ($k, $v) = splice @kv, 0, 2) {
        $o .= pack('n', length $k) . $k
            . ($v =~ /^-?\d+(?:\.\d+)?$/ ? _num($v) : _str($v));
    }
    return $o . "\x00\x00\x09";
}

my $CHUNK = 4096;

# one message as chunks: a type 0 header, then type 3 continuations
sub _message {
    my ($csid, $type, $stream, $ms, $body) = @_;
    my $ext = $ms >= 0xffffff;
    my $head = pack('C', $csid)
        . substr(pack('N', $ext ? 0xffffff : $ms), 1)
        . substr(pack('N', length $body), 1) . pack('C V', $type, $stream)
        . ($ext ? pack('N', $ms) : '');
    my $out = '';
    for (my $i = 0; $i < length $body || $i == 0; $i += $CHUNK) {
        $out .= $i ? pack('C', 0xc0 | $csid) . ($ext ? pack('N', $ms) : '')
                   : $head;
        $out .= substr($body, $i, $CHUNK);
        last if $i + $CHUNK >= length $body;
    }
    return $out;
}

sub _send {
    my ($s, $data) = @_;
    while (length $data) {
        my $n = syswrite $s, $data;
        die "send: $!\n" unless defined $n;
        substr($data, 0, $n, '');
    }
}

# a tag on the published stream (message stream 1: nginx-rtmp gives every
# connection that one)
sub _send_tag {
    my ($s, $type, $ms, $body) = @_;
    _send($s, _message($type == VIDEO ? 6 : 4, $type, 1, $ms, $body));
}

# what the server sent so far (read without blocking)
sub _drain {
    my ($s, $sel, $buf, $wait) = @_;
    while ($sel->can_read($wait // 0)) {
        my $n = sysread $s, $$buf, 65536, length $$buf;
        die "the server closed the connection\n" unless $n;
        $wait = 0;
    }
}

sub _run {
    my ($port, $app, $key, $flv, $o) = @_;
    my $tags = read_flv($flv);
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => 5) or die "connect: $!\n";
    binmode $s;
    my $sel = IO::Select->new($s);

    # the plain handshake: C0 C1, S0 S1 S2, C2 = S1
    my $c1 = pack('N N', 0, 0) . join '', map { chr int rand 256 } 1 .. 1528;
    _send($s, "\x03" . $c1);
    my $in = '';
    my $deadline = time + 10;
    while (length $in < 1 + 1536 * 2) {
        die "handshake: no answer\n" if time > $deadline;
        _drain($s, $sel, \$in, 1);
    }
    _send($s, substr($in, 1, 1536));
    $in = substr($in, 1 + 1536 * 2);

    my $tc = "rtmp://127.0.0.1:$port/$app";
    _send($s, _message(2, 1, 0, 0, pack('N', $CHUNK)));
    _send($s, _message(3, 20, 0, 0, _str('connect') . _num(1)
        . _obj(app => $app, type => 'nonprivate',
               flashVer => 'FMLE/3.0 (compatible; streamline-test)',
               tcUrl => $tc)));
    _send($s, _message(3, 20, 0, 0, _str('createStream') . _num(2) . _null));
    _send($s, _message(8, 20, 1, 0, _str('publish') . _num(3) . _null
        . _str($key) . _str('live')));

    $deadline = time + 10;
    until ($in =~ /NetStream\.Publish\.Start/) {
        return 2 if $in =~ /NetStream\.Publish\.BadName|_error/;
        die "publish: no answer\n" if time > $deadline;
        _drain($s, $sel, \$in, 0.1);
    }

    _send($s, _message(4, DATA, 1, 0, _str('@setDataFrame')
        . _str('onMetaData') . _obj(@{$o->{metadata}})))
        if $o->{metadata};

    my $hold = exists $o->{headers_at};
    my @held;
    my $start = time;
    for my $tag (@$tags) {
        my ($type, $ms, $body) = @$tag;
        $body = $o->{patch}->($type, $body) // $body if $o->{patch};
        if ($hold && is_header($tag)) {
            push @held, [$type, $ms, $body];
            next;
        }
        if ($hold && defined $o->{headers_at}
            && $ms >= $o->{headers_at} * 1000 && is_video_key($tag))
        {
            _send_tag($s, $_->[0], $ms, $_->[2]) for @held;
            $hold = 0;
        }
        my $due = $start + $ms / 1000 - time;
        sleep $due if $due > 0;
        _send_tag($s, $type, $ms, $body);
        $in = '';
        _drain($s, $sel, \$in);
    }

    _send($s, _message(3, 20, 1, 0, _str('deleteStream') . _num(4) . _null
        . _num(1)));
    sleep 0.2;
    close $s;
    return 0;
}

1;
