#!/usr/bin/perl

# Unit tests of a clip's request (core/test/sl_clip_test.c): the URI,
# ISO-8601 times, the query, the segments a range selects, the names.

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('clip-test', 'sl_clip_test');
