#!/usr/bin/perl

# Unit tests of the DVR index and the HLS playlists (core/sl_dvr.c,
# sl_playlist.c: core/test/sl_media_test.c and sl_media_*_test.c), checked
# by the playlist checker of core/test/ (whose own tests are t/04).

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('media', 'sl_media_test');
