#!/usr/bin/perl

# The core's unit tests of the playlist checker (a C program, TAP): each
# rule, the module's own form, the reload, segment and date rules, master
# playlists.  No nginx.

use strict;
use warnings;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('check-test', 'sl_playlist_check_test');
