#!/usr/bin/perl

# Unit tests of the pure-C core (core/test/sl_core_test.c): channel names,
# API paths, keys, state JSON, queue, cache.

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('all', 'sl_core_test');
