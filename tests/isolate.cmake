# Read by ctest before any test runs (TEST_INCLUDE_FILES of tests/): the tests never read the
# machine's /etc/snesync/snesync.conf. /dev/null is an empty config file; a test that is about
# the config file sets SNESYNC_CONFIG or --config itself.
set(ENV{SNESYNC_CONFIG} /dev/null)
