#!/usr/bin/perl

# Unit tests of the media pipeline with what publishers and hosts do to it
# (core/test/sl_pipeline_test.c): a 30 s GOP, video that pauses while
# audio goes on, an in-band SPS that changes the frame size, write errors
# (EFBIG as a full disk gives ENOSPC, EMFILE), floods of sequence headers
# and big packets, segment names that never repeat; the FLV tag parser;
# a lost segment in the DVR index.

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('pipeline-test', 'sl_pipeline_test');
