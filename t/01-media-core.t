#!/usr/bin/perl

# Unit tests of the DVR index and the HLS playlists (core/sl_dvr.c,
# sl_playlist.c, sl_playlist_check.c: core/test/sl_media_test.c).

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('media', 'sl_media_test');
