#!/usr/bin/perl

# Timed metadata: POST /api/stream/<channel>/metadata with a Bearer token
# (streamline-key token) becomes an EXT-X-DATERANGE tag in every
# rendition's media playlist, dated within the part being written, listed
# within the next part's playlist update, kept in delta updates, valid for
# the playlist checker, gone with the DVR.  401, 404, 405, 409, 413, 429
# (5 a second per channel, across workers) and 503 (Redis down).

use strict;
use warnings;

use Test::More;
use Time::HiRes qw(time sleep);
use HTTP::Tiny;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

my $t = Streamline::Test->new;
$t->start_redis;
my $conf = media_conf(workers => 2, http_listen => 'reuseport',
                      app => <<'EOF');
streamline_segment 1s;
            streamline_part 250ms;
            streamline_dvr_window 60s;
            streamline_dvr_grace 4s;
            streamline_rendition low 320x180 300k preset=ultrafast;
EOF
$conf =~ s/^http \{\n/http {\n    streamline_metadata 4m;\n/m
    or die 'no http block';
$t->write_conf($conf);
$t->run;

my $keytool = 'scripts/streamline-key';
local $ENV{REDIS_PORT} = $t->port('REDIS');
local $ENV{STREAMLINE_PREFIX} = $t->prefix;

sub token {
    my (@args) = @_;
    my $out = `$keytool @args`;
    is($?, 0, "streamline-key @args");
    chomp $out;
    return $out;
}

my $token = token(qw(token main));
like($token, qr/^[0-9a-f]{48}$/, 'a new token, printed once');
my $other = token(qw(token idle));
my $nochan = token(qw(token nochan));

sub post {
    my ($ch, $body, %o) = @_;
    my %h = %{$o{headers} // {}};
    $h{Authorization} = "Bearer $o{token}" if defined $o{token};
    return $t->http($o{method} // 'POST', "/api/stream/$ch/metadata",
                    body => $body, headers => \%h);
}

# the wall clock at the end of the last part listed, from the
# EXT-X-PROGRAM-DATE-TIME and the durations after it
sub edge_ms {
    my ($text) = @_;
    my ($pdt, $parts, $ext) = (undef, 0, undef);
    for (split /\n/, $text) {
        if (/^#EXT-X-PROGRAM-DATE-TIME:(.*)$/) {
            $pdt = Streamline::Media::pdt_ms($1);
            $parts = 0;
        } elsif (/^#EXT-X-PART:DURATION=([\d.]+)/) {
            $parts += $1 * 1000;
        } elsif (/^#EXTINF:([\d.]+)/) {
            $ext = $1 * 1000;
        } elsif (!/^#/ && defined $ext) {
            $pdt += $ext if defined $pdt;
            $parts = 0;
            undef $ext;
        }
    }
    return defined $pdt ? $pdt + $parts : undef;
}

sub dateranges {
    my ($text) = @_;
    my %d;
    for ($text =~ /^#EXT-X-DATERANGE:(.*)$/mg) {
        my %a = /([A-Z0-9-]+)=("[^"]*"|[^,]*)/g;
        s/^"(.*)"$/$1/ for values %a;
        $d{$a{ID}} = \%a;
    }
    return \%d;
}

# before any stream: the channel is unknown here (after the token check)
my $r = post('nochan', 'x', token => $nochan);
is($r->{status}, 404, 'a channel this origin has no stream of: 404');

my $key = random_key('main');
$t->add_key(main => $key);
my $pub = publish_media($t, $key, size => '640x360', gop => 30,
    vcodec => [qw(-c:v libx264 -preset ultrafast -g 30 -keyint_min 30
                  -sc_threshold 0 -pix_fmt yuv420p)]);

for my $rend (qw(source low)) {
    ok(wait_playlist($t, 'main', $rend,
                     sub { $_[0]{text} =~ /^seg-\d+\.m4s$/m }, 20),
       "$rend: a segment is listed") or diag $pub->stderr;
}

# refusals ------------------------------------------------------------------

$r = post('main', 'x');
is($r->{status}, 401, 'no token: 401');
is($r->{headers}{'www-authenticate'}, 'Bearer', 'WWW-Authenticate: Bearer');
like($r->{body}, qr/^\{"error":"[^"]+"\}$/, 'a JSON error');

$r = post('main', 'x', token => 'not-the-token-at-all');
is($r->{status}, 401, 'a wrong token: 401');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer error="invalid_token"$/,
     'WWW-Authenticate: Bearer error="invalid_token"');

$r = post('main', 'x', token => $other);
is($r->{status}, 401, "another channel's token: 401");

$r = post('main', 'x', headers => { Authorization => "Basic $token" });
is($r->{status}, 401, 'another scheme: 401');

$r = post('main', 'y' x 1025, token => $token);
is($r->{status}, 413, 'a body of 1025 bytes: 413');

$r = post('main', '', token => $token);
is($r->{status}, 400, 'an empty body: 400');

$r = post('bad.name', 'x', token => $token);
is($r->{status}, 404, 'an invalid channel name: 404');

for my $m (qw(GET PUT DELETE)) {
    $r = post('main', $m eq 'GET' ? undef : 'x', method => $m,
              token => $token);
    is($r->{status}, 405, "$m: 405");
    is($r->{headers}{allow}, 'POST', 'Allow: POST');
}

$r = $t->get('/api/stream/main');
is($r->{status}, 200, 'the state API is unchanged');
like($r->{body}, qr/^\{"status":"live","updatedAt":"[^"]+"(,"viewers":\d+)?\}$/,
     'GET /api/stream/main: the state');
is($t->get('/api/stream/metadata')->{body}, '{"status":"idle","updatedAt":null}',
   'GET /api/stream/metadata: the state of the channel "metadata"');

# an accepted POST ----------------------------------------------------------

my (undef, $pre) = get_media($t, 'main', 'source');
my $pre_edge = edge_ms($pre->{text});
my $body = qq({"title":"Hello, \x{e9}t\x{e9}"\n});
utf8::encode($body);
my $t0 = time;
$r = post('main', $body, token => $token);
my $t_post = time;
is($r->{status}, 201, 'the token of the channel: 201') or diag $r->{body};
like($r->{body}, qr/^\{"id":"\d+-\d+","startDate":"[^"]+"\}$/,
     'the answer: id and startDate') or diag $r->{body};
my ($id, $start) = $r->{body} =~ /"id":"([^"]+)","startDate":"([^"]+)"/;
$id //= '';
my $start_ms = Streamline::Media::pdt_ms($start);
my $hex = unpack 'H*', $body;

my %first;
for my $rend (qw(source low)) {
    my $pl = wait_playlist($t, 'main', $rend,
                           sub { index($_[0]{text}, qq(ID="$id")) >= 0 }, 5);
    ok($pl, "$rend: the DATERANGE is listed") or next;
    $first{$rend} = $pl;
    is_deeply($pl->{problems}, [], "$rend: the playlist passes the checker");
    my $d = dateranges($pl->{text})->{$id};
    is($d->{'START-DATE'}, $start, "$rend: START-DATE as answered");
    is($d->{CLASS}, 'com.streamline.metadata', "$rend: CLASS");
    is($d->{'X-STREAMLINE-DATA'}, "0x$hex", "$rend: the body, in hex");
}
my $took = $first{source}{fetched} - $t0;
cmp_ok($took, '<', 1, sprintf 'listed %.0f ms after the POST', $took * 1000);
note sprintf 'POST to DATERANGE in the source playlist: %.0f ms', $took * 1000;

# the part being written: not before the last part listed when the POST
# came, and before the end of the part after the ones listed once it is
ok(defined $pre_edge && defined $start_ms, 'dates known');
cmp_ok($start_ms, '>=', $pre_edge - 1,
       'START-DATE is not before the live edge when the POST came');
my $carry_edge = edge_ms($first{source}{text});
cmp_ok($start_ms, '<', $carry_edge + 250,
       'START-DATE is within the part being written')
    or diag "start $start_ms, edge before $pre_edge, edge then $carry_edge";

# rate: 5 a second per channel, whichever worker answers ---------------------

sleep 1.1;
my (@st, %retry);
my $f0 = time;
for (1 .. 20) {
    my $x = post('main', "flood $_", token => $token);
    push @st, $x->{status};
    $retry{$x->{headers}{'retry-after'} // ''}++;
}
my $flood = time - $f0;
SKIP: {
    skip sprintf('the flood took %.2f s', $flood), 3 if $flood >= 1;
    is(join(',', @st[0 .. 4]), '201,201,201,201,201', 'the first 5 accepted');
    is(scalar(grep { $_ == 429 } @st[5 .. 19]), 15, 'the other 15: 429');
    is($retry{1}, 15, 'Retry-After: 1');
}

# delta updates keep every DATERANGE of the window -------------------------

sleep 7;
my $delta = $t->get('/hls/main/source/index.m3u8?_HLS_skip=YES');
like($delta->{body}, qr/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+$/m,
     'a delta update skips segments');
ok(index($delta->{body}, qq(ID="$id")) >= 0,
   'the DATERANGE of a skipped segment stays in the delta update');
is_deeply([Streamline::Media::_media_problems($delta->{body})], [],
          'the delta update passes the checker');
my $full = $t->get('/hls/main/low/index.m3u8')->{body};
is(scalar(keys %{dateranges($full)}), 6, 'low: all 6 DATERANGEs');
unlike($full, qr/CAN-SKIP-DATERANGES/, 'no CAN-SKIP-DATERANGES');

# not live here: 409; unknown: 404 --------------------------------------------

my $ikey = random_key('idle');
$t->add_key(idle => $ikey);
my $ipub = publish_media($t, $ikey, size => '320x180', duration => 2);
ok(wait_playlist($t, 'idle', 'source',
                 sub { $_[0]{text} =~ /^#EXT-X-ENDLIST$/m }, 20),
   'idle: the stream ended');
$r = post('idle', 'x', token => $other);
is($r->{status}, 409, 'a channel that is not live: 409') or diag $r->{body};
ok(wait_for(sub { $t->get('/hls/idle/source/index.m3u8')->{status} == 404 },
            15), 'idle: the DVR is discarded');
is(post('idle', 'x', token => $other)->{status}, 404,
   'after its DVR is discarded: 404');

# the DVR discarded drops its DATERANGEs -------------------------------------

$pub->stop;
ok(wait_for(sub { $t->get('/hls/main/source/index.m3u8')->{status} == 404 },
            20), 'main: the DVR is discarded');
$pub = publish_media($t, $key, size => '320x180');
my $again = wait_playlist($t, 'main', 'source',
                          sub { $_[0]{text} =~ /^#EXT-X-PART:/m }, 20);
ok($again && $again->{text} !~ /EXT-X-DATERANGE/,
   'a new DVR lists none of the old stream');

# revoked, then Redis gone ----------------------------------------------------

like(`$keytool token-revoke main`, qr/^revoked 1 token\(s\) of channel main$/,
     'streamline-key token-revoke');
is(post('main', 'x', token => $token)->{status}, 401, 'a revoked token: 401');
my $new = token(qw(token main));
is(post('main', 'x', token => $new)->{status}, 201, 'a new token: 201');

$t->stop_redis;
is(post('main', 'x', token => $new)->{status}, 503,
   'Redis unreachable: 503');

$pub->stop;
done_testing;
