#!/usr/bin/perl

# The Debian package (make deb, scripts/build-deb.sh) installed with apt on
# this machine: apt takes Debian's libnginx-mod-rtmp for the rtmp module,
# dh_nginx's scripts enable both (50-mod-rtmp.conf, then
# 70-mod-streamline.conf), Debian's own nginx.conf still passes nginx -t,
# and the example the package ships (examples/nginx.conf, Debian's layout:
# it includes /etc/nginx/modules-enabled/*.conf) runs on Debian's
# /usr/sbin/nginx with test ports and paths: a key made with the packaged
# streamline-key publishes, the channel goes live (API, Redis) and its HLS
# plays (ffprobe on the master playlist and a segment over HTTP).
#
# It changes the system (packages, /etc/nginx/modules-enabled), so it runs
# only as root with STREAMLINE_TEST_DEB=1 (.ci/run sets it); what it
# installed is purged at the end unless STREAMLINE_KEEP=1.

use strict;
use warnings;

use File::Path qw(make_path);
use Test::More;
use lib 't/lib';
use Streamline::Test;
use Streamline::Media;

plan skip_all => 'installs a Debian package system-wide with apt: set'
    . ' STREAMLINE_TEST_DEB=1 (.ci/run does) on a machine you may change'
    unless $ENV{STREAMLINE_TEST_DEB};
plan skip_all => 'apt-get install needs root' if $> != 0;
plan skip_all => 'the package is not built with sanitizers' if $ENV{SANITIZE};
plan skip_all => 'not a Debian bookworm machine (the package is built for'
    . ' its nginx)' unless (slurp('/etc/os-release') // '')
        =~ /^VERSION_CODENAME=bookworm$/m;

$ENV{NGINX_BIN} = '/usr/sbin/nginx';
my $REPO = $Streamline::Test::REPO;
my $pkg = 'libnginx-mod-streamline';
my $docs = "/usr/share/doc/$pkg/examples";
my $enabled = '/etc/nginx/modules-enabled';

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return undef;
    local $/;
    return <$fh>;
}

sub run_cmd {
    my (@cmd) = @_;
    my $env = ref $cmd[0] eq 'HASH' ? shift @cmd : {};
    my $out = Streamline::Test::_capture({ env => $env }, @cmd);
    return ($? >> 8, $out);
}

sub installed {
    my ($name) = @_;
    my ($rc, $out) = run_cmd('dpkg-query', '-W', '-f', '${Status} ${Version}',
        $name);
    return $rc == 0 && $out =~ /^install ok installed (\S+)/ ? $1 : undef;
}

my $t = Streamline::Test->new;
my $dir = $t->testdir;

# the package: built by make deb, or here (a no-op when it is up to date)
my $build = $ENV{STREAMLINE_BUILD_DIR} // "$REPO/build";
my ($rc, $out) = run_cmd({ BUILD_DIR => $build }, "$REPO/scripts/build-deb.sh");
my ($deb) = $out =~ m{^(/\S+\.deb)\s*\z}m;
ok($rc == 0 && $deb && -f $deb, 'scripts/build-deb.sh made the package')
    or BAIL_OUT("no package:\n$out");
my ($version) = (run_cmd('dpkg-deb', '-f', $deb, 'Version'))[1] =~ /(\S+)/;

# what to undo at the end
my %before = map { $_ => installed($_) } $pkg, 'libnginx-mod-rtmp';
END {
    local $?;
    if ($ENV{STREAMLINE_KEEP}) {
        diag("$pkg left installed (STREAMLINE_KEEP)");
    } elsif ($version) {
        my @purge = grep { !$before{$_} && installed($_) } sort keys %before;
        run_cmd({ DEBIAN_FRONTEND => 'noninteractive' },
            'apt-get', 'purge', '-y', '-q', @purge) if @purge;
    }
}

# --reinstall: a build of the same version (uncommitted changes) replaces it
($rc, $out) = run_cmd({ DEBIAN_FRONTEND => 'noninteractive' }, 'apt-get',
    'install', '-y', '-q', '--reinstall', '--no-install-recommends', $deb);
is($rc, 0, 'apt-get install the .deb') or diag $out;
is(installed($pkg), $version, "$pkg $version installed");
ok(installed('libnginx-mod-rtmp'), "Debian's libnginx-mod-rtmp installed with it");

# the files, and the modules Debian enables in order
ok(-f '/usr/lib/nginx/modules/ngx_streamline_module.so', 'the module');
like((run_cmd('dpkg-query', '-S', '/usr/lib/nginx/modules/ngx_rtmp_module.so'))[1],
    qr/^libnginx-mod-rtmp:/, "ngx_rtmp_module.so is Debian's libnginx-mod-rtmp's");
is(readlink("$enabled/70-mod-streamline.conf"),
    '/usr/share/nginx/modules-available/mod-streamline.conf',
    'modules-enabled/70-mod-streamline.conf links to the load file');
is(slurp('/usr/share/nginx/modules-available/mod-streamline.conf'),
    "load_module modules/ngx_streamline_module.so;\n", 'the load file');
ok(-l "$enabled/50-mod-rtmp.conf", 'modules-enabled/50-mod-rtmp.conf');
my @order = grep { /mod-(rtmp|streamline)\.conf$/ }
    map { s{.*/}{}r } sort glob "$enabled/*.conf";
is_deeply(\@order, ['50-mod-rtmp.conf', '70-mod-streamline.conf'],
    'nginx reads the rtmp module first (the include is sorted)');
ok(-x '/usr/bin/streamline-key', 'streamline-key');
ok(-f "$docs/$_", "examples/$_") for qw(nginx.conf origin.conf edge.conf balancer.conf
    prometheus/streamline-alerts.yml);
my ($abi) = (run_cmd('dpkg-deb', '-f', $deb, 'Depends'))[1]
    =~ /\b(nginx-abi-[\w.-]+)/;
ok($abi, 'the package depends on an nginx-abi-* (dh_nginx)');
like((run_cmd('dpkg-query', '-W', '-f', '${Provides}', 'nginx'))[1],
    qr/\b\Q${\($abi \/\/ 'nginx-abi')}\E\b/,
    'which the installed nginx provides');

# the stock /etc/nginx/nginx.conf loads the module too (it is inert there)
($rc, $out) = $t->nginx_t_file('/etc/nginx/nginx.conf',
    prefix => '/usr/share/nginx/');
is($rc, 0, "nginx -t on Debian's own nginx.conf with the modules enabled")
    or diag $out;

# the shipped example on test ports and paths
my $conf = slurp("$docs/nginx.conf");
$t->start_redis;
system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
       . " -keyout $dir/tls.key -out $dir/tls.crt 2>/dev/null") == 0
    or BAIL_OUT('openssl cannot make a certificate');
for my $r (['listen 1935;', 'listen 127.0.0.1:' . $t->port('RTMP') . ';'],
           ['listen 443 ssl;', 'listen 127.0.0.1:' . $t->port('RTMPS') . ' ssl;'],
           ['127.0.0.1:19350', '127.0.0.1:' . $t->port('RTMP_INTERNAL')],
           ['/etc/ssl/certs/ssl-cert-snakeoil.pem', "$dir/tls.crt"],
           ['/etc/ssl/private/ssl-cert-snakeoil.key', "$dir/tls.key"],
           ['listen 80;', 'listen 127.0.0.1:' . $t->port('HTTP') . ';'],
           ['127.0.0.1:9145', '127.0.0.1:' . $t->port('METRICS')],
           ['127.0.0.1:6379', '127.0.0.1:' . $t->port('REDIS')],
           ['/var/lib/streamline', "$dir/var"],
           ['/var/www/streamline', "$dir/html"],
           ['pid /run/nginx.pid;', "pid $dir/nginx.pid;"]) {
    my ($from, $to) = @$r;
    ok($conf =~ s/\Q$from\E/$to/g, "examples/nginx.conf has $from");
}
like($conf, qr{^include /etc/nginx/modules-enabled/\*\.conf;$}m,
    'it loads the modules through modules-enabled');
unlike($conf, qr/^\s*load_module/m, 'and has no load_module of its own');
like($conf, qr/^user www-data;$/m, "Debian's worker user");
$t->write_file('nginx.conf', $conf);
make_path("$dir/var/logs", "$dir/var/tmp");    # as its header says
$t->write_file('html/index.html', "<!doctype html><title>Streamline</title>\n");
$t->watch_log("$dir/var/logs/error.log");

my $nginx = $t->nginx('main', prefix => '/usr/share/nginx/');
$nginx->conf_file("$dir/nginx.conf");
($rc, $out) = $nginx->test;
is($rc, 0, 'nginx -t: the example') or diag $out;
$nginx->start;

# the modules the workers run are the packaged ones
my ($worker) = $nginx->worker_pids;
my $maps = slurp("/proc/$worker/maps") // '';
like($maps, qr{ /usr/lib/nginx/modules/ngx_rtmp_module\.so$}m,
    "a worker runs Debian's ngx_rtmp_module.so");
like($maps, qr{ /usr/lib/nginx/modules/ngx_streamline_module\.so$}m,
    'and the packaged ngx_streamline_module.so');

# a key made with the packaged tool, a publisher, live
($rc, my $key) = run_cmd({ REDIS_PORT => $t->port('REDIS') },
    '/usr/bin/streamline-key', 'add', 'main');
chomp $key;
is($rc, 0, 'streamline-key add main') or diag $key;
my $pub = $t->publish($key);
ok(wait_for(sub { ($t->api_status // '') eq 'live' }, 15), 'API: live')
    or diag $pub->stderr;
my $state = json_decode($t->redis('GET', 'streamline:state:main'));
is($state && $state->{status}, 'live', 'Redis: live');

# the HLS plays: a few segments, checked, then ffprobe over HTTP
my $pl = wait_playlist($t, 'main', 'source',
    sub { @{$_[0]{segments}} >= 2 }, 30);
ok($pl, 'the source playlist has segments') or diag $pub->stderr;
is_deeply($pl && $pl->{problems}, [], 'and follows the HLS rules');
my $http = 'http://127.0.0.1:' . $t->port('HTTP');
if ($pl) {
    my $seg = $pl->{segments}[0];
    my $data = '';
    for my $uri ($seg->{map}, $seg->{uri}) {
        my $r = $t->get("/hls/main/source/$uri");
        is($r->{status}, 200, "GET $uri");
        $data .= $r->{body};
    }
    $t->write_file('segment.mp4', $data);
    my $p = probe_file("$dir/segment.mp4");
    is($p->{video} && $p->{video}{codec_name}, 'h264', 'the segment: H.264');
    is($p->{audio} && $p->{audio}{codec_name}, 'aac', 'and AAC');
    cmp_ok($p->{video_frames}, '>', 0, 'its frames decode');
}
($rc, $out) = run_cmd('timeout', '60', 'ffprobe', '-v', 'error', '-of', 'json',
    '-show_entries', 'stream=codec_type,codec_name,width,height',
    "$http/hls/main/master.m3u8");
my $j = json_decode($out) // {};
my %kinds = map { ($_->{codec_type} // '') => 1 } @{$j->{streams} || []};
ok($rc == 0 && $kinds{video} && $kinds{audio},
    'ffprobe plays the master playlist: video and audio') or diag $out;

my $m = $t->get('/metrics', port => $t->port('METRICS'));
like($m->{body}, qr/^streamline_channels_live 1$/m, 'the metrics: one live');

$pub->stop;
ok(wait_for(sub { ($t->api_status // '') eq 'idle' }, 15), 'stopped: idle');

done_testing;
