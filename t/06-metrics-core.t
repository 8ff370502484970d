#!/usr/bin/perl

# Unit tests of the metrics' core (core/test/sl_metrics_test.c): status
# classes, file kinds, channel and rendition slots, totals, histograms,
# the Prometheus text (t/83-metrics.t checks it with promtool).

use warnings;
use strict;

use lib 't/lib';
use Streamline::Unit;

Streamline::Unit::run('metrics-test', 'sl_metrics_test');
