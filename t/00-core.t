#!/usr/bin/perl

# Unit tests of the pure-C core (core/test/sl_core_test.c, which runs those
# of core/test/sl_core_*_test.c): channel names, API paths, keys, state
# JSON, queue, cache, owner tokens, Redis replies.

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('all', 'sl_core_test');
